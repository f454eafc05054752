"""Flag and argument types shared by the commands; the allowed values of each choice come from the
one table that owns them (domain/precision.py)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.output import OutputFormat
from simulator.domain.precision import (
    ATTENTIONS,
    KV_PRECISIONS,
    OPTIMIZERS,
    PRECISIONS,
    RECOMPUTES,
    SERVING_ACTIVATIONS,
    SERVING_PRECISIONS,
)


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of the allowed values of a flag, from the one table that owns them."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)  # type: ignore[return-value]


Recompute = _choices("Recompute", RECOMPUTES)


PrecisionName = _choices("PrecisionName", PRECISIONS)


OptimizerName = _choices("OptimizerName", OPTIMIZERS)


AttentionName = _choices("AttentionName", ATTENTIONS)


ServePrecision = _choices("ServePrecision", SERVING_PRECISIONS)


KvPrecision = _choices("KvPrecision", KV_PRECISIONS)


ActPrecision = _choices("ActPrecision", SERVING_ACTIVATIONS)


ServingTp = Annotated[int, typer.Option("--tp", "-t", min=1, max=4096, help="Tensor-parallel accelerators (one replica).")]
WeightsOpt = Annotated[ServePrecision, typer.Option("--precision", help="Weight precision (int4: W4A16 AWQ/GPTQ; fp4: NVFP4, B200).")]
KvOpt = Annotated[KvPrecision | None, typer.Option("--kv-precision", help="KV-cache precision (default fp8 with fp8/fp4 weights where the accelerator has fp8, else 16-bit).")]
ActOpt = Annotated[ActPrecision | None, typer.Option("--activations", help="GEMM activation precision (default: the weights' where the accelerator computes in it, else 16-bit).")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="Serving engine (dcsim catalog engines; default tensorrt-llm).")]


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a model spec YAML.")]


AccelOpt = Annotated[str, typer.Option("--accelerator", "-a", help="Catalog accelerator name (e.g. h100-sxm).")]


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


class LayoutChoice(str, Enum):
    auto = "auto"
