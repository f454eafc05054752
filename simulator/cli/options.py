"""Flag and argument types shared by the commands. Choice flags take the domain's own Literal
types (domain/precision.py), so the allowed values have one owner."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from simulator.cli.output import OutputFormat
from simulator.domain.precision import KvPrecisionName, ServingActivations, ServingWeights

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a model spec YAML.")]


AccelOpt = Annotated[str, typer.Option("--accelerator", "-a", help="Catalog accelerator name (e.g. h100-sxm).")]


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


LayoutChoice = Literal["auto"]


ServingTp = Annotated[int, typer.Option("--tp", "-t", min=1, max=4096, help="Tensor-parallel accelerators (one replica).")]
WeightsOpt = Annotated[ServingWeights, typer.Option("--precision", help="Weight precision (int4: W4A16 AWQ/GPTQ; fp4: NVFP4, B200).")]
KvOpt = Annotated[KvPrecisionName | None, typer.Option("--kv-precision", help="KV-cache precision (default fp8 with fp8/fp4 weights where the accelerator has fp8, else 16-bit).")]
ActOpt = Annotated[ServingActivations | None, typer.Option("--activations", help="GEMM activation precision (default: the weights' where the accelerator computes in it, else 16-bit).")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="Serving engine (dcsim catalog engines; default tensorrt-llm).")]
IterEngineOpt = Annotated[str | None, typer.Option("--engine", help="Engine that runs the iteration (dcsim catalog engines; default pytorch: the bare model, decode in a CUDA graph; tensorrt-llm, vllm, ... add their kernels and CPU time per iteration).")]
