"""A training software stack as a catalog entry (catalog/stacks.yaml): the kernels, fusions and
overlaps one release of Megatron-LM / NeMo / MLPerf submissions ran with, each with its source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.domain.quantities import Frozen


class StackSpec(Frozen):
    """A training software stack as it was at one release: which kernels it runs, what it fuses
    and which communication it overlaps with compute (Megatron-LM / NeMo / PyTorch flags), and
    how fast its GEMM and attention kernels ran relative to the device's microbenchmarked ones."""

    name: str = Field(min_length=1, max_length=100)
    aliases: tuple[str, ...] = ()
    source: str = Field(description="Where the settings and efficiencies come from.")
    attention: Literal["flash", "standard"] = Field(
        "flash", description="Fused (flash) attention, or unfused QK^T / softmax / dropout / PV.")
    dropout: bool = Field(False, description="Hidden dropout after attention and MLP (1-byte masks kept).")
    overlap_grad_reduce: bool = Field(True, description="DP gradient reduction overlaps the backward pass.")
    overlap_param_gather: bool = Field(True, description="Parameter all-gather overlaps the next forward.")
    overlap_p2p: bool = Field(True, description="Pipeline sends overlap the next chunk (interleaved schedules).")
    tp_comm_overlap: bool = Field(False, description="TP collectives overlap the GEMMs (with sequence parallelism).")
    gemm_efficiency: float = Field(1.0, gt=0, le=2, description="Factor on the device's fitted GEMM efficiency.")
    attention_efficiency: float = Field(
        1.0, gt=0, le=4, description="Factor on the device's fitted (FlashAttention-2) attention efficiency.")
    grad_reduce_bytes: Literal[2, 4] | None = Field(
        None, description="Bytes per gradient element in the DP reduction (None: the precision's, fp32).")
    param_gather_bytes: Literal[1, 2] | None = Field(
        None, description="Bytes per weight in the DP all-gather of FP8 runs (1: FP8 parameters).")
    calibrated_on: str | None = Field(
        None, description="The one published configuration gemm_efficiency was fitted to, if any.")
