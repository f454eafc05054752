"""Precision recipes as the flat vectors the Numba kernels read, and a job's training recipe.

The recipes themselves (names, dtypes, bytes per tensor class) live in domain/precision.py.
Optimizer traffic per parameter and step (AdamW): PyTorch's default ``foreach`` implementation
makes ~9 passes over fp32 tensors (mul, lerp, mul, addcmul, sqrt, div, add, addcdiv: ~80 B);
``fused`` reads p, g, m, v and writes p, m, v once (28 B); Megatron's fused Adam with master
weights also writes the bf16 copy and zeroes the fp32 grad buffer (34 B).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from simulator.domain.precision import Precision, precision
from simulator.domain.stack_spec import StackSpec

DEFAULT_STACK = "default"


class PrecCol(IntEnum):
    """Columns of the precision vector the Numba kernels read."""

    RESID = 0
    ACT = 1
    GEMM_ELEM = 2
    WCAST = 3
    GRAD_CAST = 4
    LOGIT_CAST = 5
    OPT_BYTES = 6
    GRAD_ACC = 7
    FP8 = 8
    PARAM_BYTES = 9
    STATE_BYTES = 10
    INFER_WEIGHT = 11
    OPT_PASSES = 12
    ATTN_STANDARD = 13
    DROPOUT = 14
    ATTN_NO_COPY = 15


PRECISION_VECTOR_LEN = len(PrecCol)

# (optimizer, has fp32 master copy) -> (bytes moved per parameter, passes over the tensors)
_OPT_TRAFFIC = {
    ("adamw-foreach", False): (80.0, 9.0),
    ("adamw-fused", False): (28.0, 1.0),
    ("adamw-foreach", True): (34.0, 1.0),   # master-weight recipes use a fused multi-tensor Adam
    ("adamw-fused", True): (34.0, 1.0),
    ("sgd", False): (12.0, 1.0),
    ("sgd", True): (14.0, 1.0),
}


@dataclass(frozen=True)
class Recipe:
    """How a job trains: precision recipe, activation recomputation, optimizer implementation,
    attention kernel, hidden dropout, and which communication the software overlaps: the DP
    gradient reduction with the backward pass (Megatron-LM ``--overlap-grad-reduce``), the
    parameter all-gather with the next forward (``--overlap-param-gather``, FSDP prefetch),
    pipeline sends with the next chunk's compute (``--overlap-p2p-communication``), and whether
    the stack overlaps TP collectives with GEMMs by default (``--tp-comm-overlap``).
    ``gemm_scale``/``attention_scale`` multiply the device's fitted GEMM and attention
    efficiencies for a software stack whose kernels differ from the microbenchmarked ones
    (domain/catalog/stacks.yaml). ``grad_comm_bytes``/``param_comm_bytes`` are the bytes per
    parameter of the DP gradient reduction and parameter all-gather (0: the precision's: fp32
    gradients, 16-bit weights; NeMo's ``grad_sync_dtype: bf16`` halves the first, its
    ``fp8_params`` the second)."""

    precision: str = "bf16-mixed"
    recompute: str = "selective"
    optimizer: str = "adamw-fused"
    attention: str = "flash"
    overlap_grad_reduce: bool = True
    overlap_param_gather: bool = True
    overlap_p2p: bool = True
    tp_comm_overlap: bool = False
    dropout: bool = False
    gemm_scale: float = 1.0
    attention_scale: float = 1.0
    grad_comm_bytes: float = 0.0
    param_comm_bytes: float = 0.0

    @classmethod
    def from_stack(cls, stack: StackSpec, precision: str = "bf16-mixed", recompute: str = "selective",
                   optimizer: str = "adamw-fused", attention: str | None = None,
                   overlap_grad_reduce: bool | None = None) -> Recipe:
        """A job's recipe on a software stack (domain/catalog/stacks.yaml); ``attention`` and
        ``overlap_grad_reduce`` given explicitly override the stack's."""
        return cls(precision, recompute, optimizer, attention or stack.attention,
                   stack.overlap_grad_reduce if overlap_grad_reduce is None else overlap_grad_reduce,
                   stack.overlap_param_gather, stack.overlap_p2p, stack.tp_comm_overlap, stack.dropout,
                   stack.gemm_efficiency, stack.attention_efficiency, float(stack.grad_reduce_bytes or 0),
                   float(stack.param_gather_bytes or 0) if precision == "fp8-mixed" else 0.0)

    @property
    def prec(self) -> Precision:
        return precision(self.precision)

    def vector(self) -> np.ndarray:
        """The precision vector of a parallel job: Megatron-style layers (sequence-major)."""
        return precision_vector(self.prec, self.optimizer, self.attention, self.dropout, sequence_major=True)


def optimizer_state_bytes(prec: Precision, optimizer: str) -> float:
    """Resident optimizer bytes per parameter (Adam: master copy if any + two moments)."""
    if optimizer == "sgd":
        return prec.state_bytes - 8.0
    return prec.state_bytes


def precision_vector(prec: Precision, optimizer: str = "adamw-foreach", attention: str = "flash",
                     dropout: bool = False, sequence_major: bool = False) -> np.ndarray:
    """Flat float64 parameters for the Numba kernels. ``attention``: ``flash`` (fused,
    FlashAttention-2) or ``standard`` (unfused QK^T, softmax, dropout, PV); ``dropout``: hidden
    dropout after attention and MLP (a 1-byte mask each, kept for backward); ``sequence_major``:
    fused attention reads and writes the [seq, batch, hidden] layout the linear layers use
    (Megatron-LM/Transformer Engine), so no transpose copy follows it and its output is saved
    once (PyTorch's SDPA returns [batch, heads, seq, dim], copied to rows for the projection)."""
    master = prec.weight_bytes < 4
    v = np.zeros(PRECISION_VECTOR_LEN)
    v[PrecCol.RESID] = prec.resid_bytes
    v[PrecCol.ACT] = prec.act_bytes
    v[PrecCol.GEMM_ELEM] = prec.gemm_elem_bytes
    v[PrecCol.WCAST] = prec.weight_cast_bytes
    v[PrecCol.GRAD_CAST] = prec.grad_cast_bytes
    v[PrecCol.LOGIT_CAST] = prec.logit_cast
    v[PrecCol.OPT_BYTES], v[PrecCol.OPT_PASSES] = _OPT_TRAFFIC[(optimizer, master)]
    v[PrecCol.ATTN_STANDARD] = 1.0 if attention == "standard" else 0.0
    v[PrecCol.DROPOUT] = 1.0 if dropout else 0.0
    v[PrecCol.ATTN_NO_COPY] = 1.0 if sequence_major else 0.0
    v[PrecCol.GRAD_ACC] = prec.grad_accumulate_bytes
    v[PrecCol.FP8] = prec.fp8
    v[PrecCol.PARAM_BYTES] = prec.weight_bytes
    v[PrecCol.STATE_BYTES] = optimizer_state_bytes(prec, optimizer)
    v[PrecCol.INFER_WEIGHT] = prec.infer_weight_bytes
    return v
