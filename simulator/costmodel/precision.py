"""Precision recipes as the flat vectors the Numba kernels read, and a job's training recipe.

The recipes themselves (names, dtypes, bytes per tensor class) live in domain/precision.py.
Optimizer traffic per parameter and step (AdamW): PyTorch's default ``foreach`` implementation
makes ~9 passes over fp32 tensors (mul, lerp, mul, addcmul, sqrt, div, add, addcdiv: ~80 B);
``fused`` reads p, g, m, v and writes p, m, v once (28 B); Megatron's fused Adam with master
weights also writes the bf16 copy and zeroes the fp32 grad buffer (34 B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.domain.precision import Precision, precision

P_RESID, P_ACT, P_GEMM_ELEM, P_WCAST, P_GRAD_CAST, P_LOGIT_CAST = 0, 1, 2, 3, 4, 5
P_OPT_BYTES, P_GRAD_ACC, P_FP8, P_PARAM_BYTES, P_STATE_BYTES, P_INFER_WEIGHT = 6, 7, 8, 9, 10, 11
P_OPT_PASSES, P_ATTN_STANDARD = 12, 13
PRECISION_VECTOR_LEN = 14

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
    attention kernel, and whether DP gradient reduction overlaps the backward pass."""

    precision: str = "bf16-mixed"
    recompute: str = "selective"
    optimizer: str = "adamw-fused"
    attention: str = "flash"
    overlap_grad_reduce: bool = True

    @property
    def prec(self) -> Precision:
        return precision(self.precision)

    def vector(self) -> np.ndarray:
        return precision_vector(self.prec, self.optimizer, self.attention)


def optimizer_state_bytes(prec: Precision, optimizer: str) -> float:
    """Resident optimizer bytes per parameter (Adam: master copy if any + two moments)."""
    if optimizer == "sgd":
        return prec.state_bytes - 8.0
    return prec.state_bytes


def precision_vector(prec: Precision, optimizer: str = "adamw-foreach", attention: str = "flash") -> np.ndarray:
    """Flat float64 parameters for the Numba kernels. ``attention``: ``flash`` (fused,
    FlashAttention-2) or ``standard`` (unfused QK^T, softmax, dropout, PV)."""
    master = prec.weight_bytes < 4
    v = np.zeros(PRECISION_VECTOR_LEN)
    v[P_RESID] = prec.resid_bytes
    v[P_ACT] = prec.act_bytes
    v[P_GEMM_ELEM] = prec.gemm_elem_bytes
    v[P_WCAST] = prec.weight_cast_bytes
    v[P_GRAD_CAST] = prec.grad_cast_bytes
    v[P_LOGIT_CAST] = prec.logit_cast
    v[P_OPT_BYTES], v[P_OPT_PASSES] = _OPT_TRAFFIC[(optimizer, master)]
    v[P_ATTN_STANDARD] = 1.0 if attention == "standard" else 0.0
    v[P_GRAD_ACC] = prec.grad_accumulate_bytes
    v[P_FP8] = prec.fp8
    v[P_PARAM_BYTES] = prec.weight_bytes
    v[P_STATE_BYTES] = optimizer_state_bytes(prec, optimizer)
    v[P_INFER_WEIGHT] = prec.infer_weight_bytes
    return v
