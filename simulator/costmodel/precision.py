"""Precision recipes: which dtype the GEMMs run in and how many bytes each tensor class holds.

- ``bf16-amp`` (torch.autocast over fp32 parameters): fp32 weights, grads and Adam states
  (16 B/param), bf16 GEMMs, the residual stream stays fp32, weights are cast to bf16 in every
  forward and weight gradients cast back to fp32 (PyTorch AMP documentation).
- ``fp16-amp``: the same with fp16 GEMMs.
- ``bf16-mixed`` (Megatron-LM / DeepSpeed style): bf16 weights and activations, fp32 gradient
  accumulation buffer, fp32 master weights and Adam states: 2+4+4+4+4 = 18 B/param;
  ``fp16-mixed`` the same in fp16 (with loss scaling, which costs nothing measurable).
- ``fp8-mixed`` (Transformer Engine): as bf16-mixed, GEMMs in fp8 with per-tensor casts.
- ``tf32`` / ``fp32``: fp32 everywhere (16 B/param), GEMMs on TF32 tensor cores or plain fp32.

Optimizer traffic per parameter and step (AdamW): PyTorch's default ``foreach`` implementation
makes ~9 passes over fp32 tensors (mul, lerp, mul, addcmul, sqrt, div, add, addcdiv: ~80 B);
``fused`` reads p, g, m, v and writes p, m, v once (28 B); Megatron's fused Adam with master
weights also writes the bf16 copy and zeroes the fp32 grad buffer (34 B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

P_RESID, P_ACT, P_GEMM_ELEM, P_WCAST, P_GRAD_CAST, P_LOGIT_CAST = 0, 1, 2, 3, 4, 5
P_OPT_BYTES, P_GRAD_ACC, P_FP8, P_PARAM_BYTES, P_STATE_BYTES, P_INFER_WEIGHT = 6, 7, 8, 9, 10, 11
P_OPT_PASSES, P_ATTN_STANDARD = 12, 13
PRECISION_VECTOR_LEN = 14

ATTENTIONS = ("flash", "standard")

PRECISIONS = ("bf16-amp", "fp16-amp", "bf16-mixed", "fp16-mixed", "fp8-mixed", "tf32", "fp32")
OPTIMIZERS = ("adamw-foreach", "adamw-fused", "sgd")


@dataclass(frozen=True)
class Precision:
    """One training precision recipe (see module docstring)."""

    name: str
    compute_dtype: str
    attention_dtype: str
    resid_bytes: float
    act_bytes: float
    gemm_elem_bytes: float
    weight_cast_bytes: float      # per parameter per forward (autocast / fp8 casts)
    grad_cast_bytes: float        # per parameter per backward (bf16 wgrad -> fp32 .grad)
    logit_cast: float             # 1 when the loss upcasts logits to fp32 in a separate kernel
    grad_accumulate_bytes: float  # per parameter for each micro-batch after the first
    fp8: float
    weight_bytes: float           # resident bytes per parameter: weights
    grad_bytes: float             # gradients
    state_bytes: float            # optimizer-side: master copy + Adam moments
    infer_weight_bytes: float     # bytes per parameter when serving


_RECIPES = {
    "bf16-amp": Precision("bf16-amp", "bf16", "bf16", 4, 2, 2, 6, 6, 1, 12, 0, 4, 4, 8, 2),
    "fp16-amp": Precision("fp16-amp", "fp16", "fp16", 4, 2, 2, 6, 6, 1, 12, 0, 4, 4, 8, 2),
    "bf16-mixed": Precision("bf16-mixed", "bf16", "bf16", 2, 2, 2, 0, 0, 0, 0, 0, 2, 4, 12, 2),
    "fp16-mixed": Precision("fp16-mixed", "fp16", "fp16", 2, 2, 2, 0, 0, 0, 0, 0, 2, 4, 12, 2),
    "fp8-mixed": Precision("fp8-mixed", "fp8", "bf16", 2, 2, 1, 3, 0, 0, 0, 1, 2, 4, 12, 1),
    "tf32": Precision("tf32", "tf32", "fp32", 4, 4, 4, 0, 0, 0, 12, 0, 4, 4, 8, 4),
    "fp32": Precision("fp32", "fp32", "fp32", 4, 4, 4, 0, 0, 0, 12, 0, 4, 4, 8, 4),
}

# (optimizer, has fp32 master copy) -> (bytes moved per parameter, passes over the tensors)
_OPT_TRAFFIC = {
    ("adamw-foreach", False): (80.0, 9.0),
    ("adamw-fused", False): (28.0, 1.0),
    ("adamw-foreach", True): (34.0, 1.0),   # master-weight recipes use a fused multi-tensor Adam
    ("adamw-fused", True): (34.0, 1.0),
    ("sgd", False): (12.0, 1.0),
    ("sgd", True): (14.0, 1.0),
}


def precision(name: str) -> Precision:
    """The recipe called ``name``; raises KeyError with the known names."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown precision {name!r}; known: {', '.join(PRECISIONS)}") from None


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
