"""Flag and argument types shared by the commands; the allowed values of each choice come from the
one table that owns them (domain/precision.py)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.output import OutputFormat
from simulator.domain.precision import ATTENTIONS, OPTIMIZERS, PRECISIONS, RECOMPUTES, SERVING_PRECISIONS


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of the allowed values of a flag, from the one table that owns them."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)  # type: ignore[return-value]


Recompute = _choices("Recompute", RECOMPUTES)


PrecisionName = _choices("PrecisionName", PRECISIONS)


OptimizerName = _choices("OptimizerName", OPTIMIZERS)


AttentionName = _choices("AttentionName", ATTENTIONS)


ServePrecision = _choices("ServePrecision", SERVING_PRECISIONS)


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a model spec YAML.")]


AccelOpt = Annotated[str, typer.Option("--accelerator", "-a", help="Catalog accelerator name (e.g. h100-sxm).")]


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


class LayoutChoice(str, Enum):
    auto = "auto"
