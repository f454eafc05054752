"""Precision recipes: which dtype the GEMMs run in and how many bytes each tensor class holds.

The one table of precision names and bytes; the schema, the CLI, the cost model and the
checks all read it here.

- ``bf16-amp`` (torch.autocast over fp32 parameters): fp32 weights, grads and Adam states
  (16 B/param), bf16 GEMMs, the residual stream stays fp32, weights are cast to bf16 in every
  forward and weight gradients cast back to fp32 (PyTorch AMP documentation).
- ``fp16-amp``: the same with fp16 GEMMs.
- ``bf16-mixed`` (Megatron-LM / DeepSpeed style): bf16 weights and activations, fp32 gradient
  accumulation buffer, fp32 master weights and Adam states: 2+4+4+4+4 = 18 B/param;
  ``fp16-mixed`` the same in fp16 (with loss scaling, which costs nothing measurable).
- ``fp8-mixed`` (Transformer Engine): as bf16-mixed, GEMMs in fp8 with per-tensor casts.
- ``tf32`` / ``fp32``: fp32 everywhere (16 B/param), GEMMs on TF32 tensor cores or plain fp32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

TrainingPrecision = Literal["bf16-amp", "fp16-amp", "bf16-mixed", "fp16-mixed", "fp8-mixed", "tf32", "fp32"]
OptimizerName = Literal["adamw-foreach", "adamw-fused", "sgd"]
AttentionKernel = Literal["flash", "standard"]
RecomputeMode = Literal["none", "selective", "full"]
ServingPrecision = Literal["bf16", "fp16", "fp8"]

PRECISIONS: tuple[str, ...] = get_args(TrainingPrecision)
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
ATTENTIONS: tuple[str, ...] = get_args(AttentionKernel)
RECOMPUTES: tuple[str, ...] = get_args(RecomputeMode)
SERVING_PRECISIONS: tuple[str, ...] = get_args(ServingPrecision)


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

    @property
    def training_state_bytes(self) -> float:
        """Bytes per parameter of weights, gradients and optimizer states together."""
        return self.weight_bytes + self.grad_bytes + self.state_bytes


_RECIPES = {
    "bf16-amp": Precision("bf16-amp", "bf16", "bf16", 4, 2, 2, 6, 6, 1, 12, 0, 4, 4, 8, 2),
    "fp16-amp": Precision("fp16-amp", "fp16", "fp16", 4, 2, 2, 6, 6, 1, 12, 0, 4, 4, 8, 2),
    "bf16-mixed": Precision("bf16-mixed", "bf16", "bf16", 2, 2, 2, 0, 0, 0, 0, 0, 2, 4, 12, 2),
    "fp16-mixed": Precision("fp16-mixed", "fp16", "fp16", 2, 2, 2, 0, 0, 0, 0, 0, 2, 4, 12, 2),
    "fp8-mixed": Precision("fp8-mixed", "fp8", "bf16", 2, 2, 1, 3, 0, 0, 0, 1, 2, 4, 12, 1),
    "tf32": Precision("tf32", "tf32", "fp32", 4, 4, 4, 0, 0, 0, 12, 0, 4, 4, 8, 4),
    "fp32": Precision("fp32", "fp32", "fp32", 4, 4, 4, 0, 0, 0, 12, 0, 4, 4, 8, 4),
}
assert tuple(_RECIPES) == PRECISIONS

# Serving precisions (weights and activations) and the training recipe whose kernels they run.
SERVING_PRECISION = {"bf16": "bf16-mixed", "fp16": "bf16-mixed", "fp8": "fp8-mixed", "fp32": "fp32"}


def precision(name: str) -> Precision:
    """The recipe called ``name``; raises KeyError with the known names."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown precision {name!r}; known: {', '.join(PRECISIONS)}") from None
