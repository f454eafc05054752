"""Device calibration profiles as catalog entries (catalog/calibration.yaml): GEMM and attention
efficiency curves, the copy bandwidth and its small-kernel ramp, dispatch and kernel overheads,
and the power curve, each profile with its source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.domain.quantities import Frozen, NonNegBytes, Seconds


class GemmCurve(Frozen):
    """Achieved GEMM throughput = peak_fraction * peak / (1 + m0/M + n0/N + k0/K)."""

    peak_fraction: float = Field(gt=0, le=1)
    m0: float = Field(ge=0)
    n0: float = Field(ge=0)
    k0: float = Field(ge=0)


class AttentionCurve(Frozen):
    """Flash-attention throughput as a fraction of dense peak, falling off at short sequences."""

    fwd_fraction: float = Field(gt=0, le=1)
    bwd_fraction: float = Field(gt=0, le=1)
    seq0: float = Field(ge=0)
    head_dim0: float = Field(ge=0)


class PowerCurve(Frozen):
    """Board power by kind of work, and the clock (throughput) the board holds at its TDP."""

    memory_bound_fraction_of_tdp: float = Field(gt=0, le=1)
    clock_at_tdp_compute_bound: float = Field(gt=0, le=1)
    dvfs_exponent: float = Field(gt=1, le=4)


class CalibrationSpec(Frozen):
    """An efficiency profile; entries with ``base`` inherit every field they leave out."""

    name: str
    source: str
    base: str | None = None
    gemm: dict[Literal["bf16", "fp32"], GemmCurve] | None = None
    memory_bw_fraction: float | None = Field(None, gt=0, le=1)
    host_gemm_dispatch: Seconds | None = None
    host_op_dispatch: Seconds | None = None
    kernel_overhead: Seconds | None = None
    memory_half_bytes: NonNegBytes | None = Field(None, description="Bytes at which a kernel reaches half the "
                                                                    "copy bandwidth (Hockney n_1/2).")
    attention: AttentionCurve | None = None
    power: PowerCurve | None = None
    aliases: tuple[str, ...] = ()
