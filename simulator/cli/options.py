"""Flag and argument types shared by the commands. Choice flags take the domain's own Literal
types (domain/precision.py), so the allowed values have one owner."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from simulator.cli.output import OutputFormat

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a model spec YAML.")]


AccelOpt = Annotated[str, typer.Option("--accelerator", "-a", help="Catalog accelerator name (e.g. h100-sxm).")]


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


LayoutChoice = Literal["auto"]
