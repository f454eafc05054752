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

# The one set of training defaults, shared by a scenario's training job (scenario/schema.py) and
# `dcsim estimate train` / `simulator.estimate_train` (estimates/train.py, cli/estimate.py), so the
# same job gives the same answer both ways: bf16 compute over fp32 master weights, gradients and
# Adam states ("bf16-mixed", Megatron-LM's and NeMo's recipe), selective activation recomputation
# (Korthikanti et al., 2022: attention scores only) and the fused Adam kernel (apex/PyTorch
# fused=True), as large training runs are configured.
DEFAULT_TRAINING_PRECISION: TrainingPrecision = "bf16-mixed"
DEFAULT_RECOMPUTE: RecomputeMode = "selective"
DEFAULT_OPTIMIZER: OptimizerName = "adamw-fused"
ServingWeights = Literal["bf16", "fp16", "fp8", "int8", "int4", "fp4"]
ServingActivations = Literal["bf16", "fp16", "fp8", "int8", "fp4", "int4"]
KvPrecisionName = Literal["bf16", "fp16", "fp8", "int8"]

PRECISIONS: tuple[str, ...] = get_args(TrainingPrecision)
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
ATTENTIONS: tuple[str, ...] = get_args(AttentionKernel)
RECOMPUTES: tuple[str, ...] = get_args(RecomputeMode)


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


def precision(name: str) -> Precision:
    """The recipe called ``name``; raises KeyError with the known names."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown precision {name!r}; known: {', '.join(PRECISIONS)}") from None


# ----------------------------------------------------------------------------- serving precisions
# Weights, activations and KV cache of a served model, each its own dtype.
#
# Bytes per weight include the quantisation scales: fp8 (per-channel or per-tensor scales,
# negligible); int4 as AWQ/GPTQ with one fp16 scale and one fp16 zero point per group of 128
# (Lin et al., AWQ, 2024; Frantar et al., GPTQ, 2023): 0.5 + 4/128 B; NVFP4 with one fp8 scale
# per 16 elements (NVIDIA Blackwell NVFP4 format, 2025): 0.5 + 1/16 B.
SERVING_WEIGHTS: tuple[str, ...] = get_args(ServingWeights)
SERVING_ACTIVATIONS: tuple[str, ...] = get_args(ServingActivations)
# Quantised activations and the weights they pair with (W8A8 fp8/int8, W4A8 as in
# TensorRT-LLM and QServe, W4A4 NVFP4).
ACTIVATION_WEIGHTS = {"fp8": ("fp8", "int4"), "int8": ("int8", "int4"), "fp4": ("fp4",)}
KV_PRECISIONS: tuple[str, ...] = get_args(KvPrecisionName)
SERVING_PRECISIONS = SERVING_WEIGHTS
WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 + 4.0 / 128.0, "fp4": 0.5 + 1.0 / 16.0}
ELEMENT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}
# W4A16 GEMMs dequantise int4 weights to 16 bits in registers before the tensor-core MMA: near
# the ideal 4x at small batch, and at large batch ~0.85 of a 16-bit GEMM's throughput (Marlin:
# Frantar et al., 2024, fig. 1 and section 5: "close to ideal up to batch 16-32", large-batch
# FP16xINT4 about 10-20% below cuBLAS FP16). The other recipes compute in their own dtype.
DEQUANT_EFFICIENCY = {"int4": 0.85}


@dataclass(frozen=True)
class ServingPrecision:
    """How a served model holds and computes: weights, GEMM activations, KV cache."""

    weights: str
    activations: str
    kv: str

    @property
    def weight_bytes(self) -> float:
        """Bytes per parameter, scales included."""
        return WEIGHT_BYTES[self.weights]

    @property
    def act_bytes(self) -> float:
        """Bytes per element of a GEMM's activation input."""
        return ELEMENT_BYTES[self.activations]

    @property
    def kv_bytes(self) -> float:
        return ELEMENT_BYTES[self.kv]

    @property
    def gemm_dtype(self) -> str:
        """The tensor-core dtype the linear layers run in: the activations' (weights are
        dequantised to it when they are narrower)."""
        return self.activations

    @property
    def dequant_efficiency(self) -> float:
        return DEQUANT_EFFICIENCY.get(self.weights, 1.0) if self.activations in ("bf16", "fp16") else 1.0

    @property
    def label(self) -> str:
        return f"weights {self.weights}, activations {self.activations}, KV cache {self.kv}"


def serving_precision(weights: str = "bf16", activations: str | None = None, kv: str | None = None,
                      peaks: tuple[str, ...] = ("bf16", "fp16", "fp8", "int8")) -> tuple[ServingPrecision | None,
                                                                                   list[tuple[str, str]]]:
    """Resolve a serving recipe on an accelerator whose tensor cores have ``peaks`` dtypes.

    ``activations`` defaults to the weights' dtype where the accelerator computes in it (fp8,
    int8 and fp4 weights run W8A8 / W4A4 there), else 16-bit (weight-only quantisation, e.g.
    fp8 weights on an A100 or int4 AWQ/GPTQ weights run W8A16 / W4A16); ``kv`` defaults to fp8
    with fp8 or fp4 weights where the accelerator has fp8 (NVIDIA ModelOpt FP8 and NVFP4
    checkpoints quantise the KV cache too, and TensorRT-LLM serves it so), else 16-bit.
    Returns (recipe, problems) with each problem as (which: weights | activations | kv,
    message); the recipe is None when there is a problem."""
    problems: list[tuple[str, str]] = []
    half = "fp16" if weights == "fp16" else "bf16"
    if weights not in SERVING_WEIGHTS:
        problems.append(("weights", f"unknown weight precision '{weights}' (known: {', '.join(SERVING_WEIGHTS)})"))
    elif weights == "fp4" and "fp4" not in peaks:
        problems.append(("weights", "fp4 (NVFP4/MXFP4) weights need fp4 tensor cores (B200-class); this "
                                    f"accelerator computes in {', '.join(peaks)}"))
    if activations is None:
        activations = weights if weights in ("fp8", "int8", "fp4") and weights in peaks else half
        if weights in ("bf16", "fp16"):
            activations = weights
    elif activations not in SERVING_ACTIVATIONS:
        problems.append(("activations", f"unknown activation precision '{activations}' "
                                        f"(known: {', '.join(SERVING_ACTIVATIONS)})"))
    elif activations == "int4":
        problems.append(("activations", "int4 activations are not served by any engine (accuracy collapses "
                                        "without outlier handling); use int4 weights with 16-bit activations "
                                        "(W4A16) or fp8/int8 activations"))
    elif activations not in peaks:
        problems.append(("activations", f"{activations} activations need {activations} tensor cores; this "
                                        f"accelerator computes in {', '.join(peaks)}"))
    elif activations not in ("bf16", "fp16") and weights not in ACTIVATION_WEIGHTS[activations]:
        problems.append(("activations", f"{activations} activations need "
                                        f"{' or '.join(ACTIVATION_WEIGHTS[activations])} weights; the weights are "
                                        f"{weights}"))
    if kv is None:
        kv = "fp8" if weights in ("fp8", "fp4") and "fp8" in peaks else half
    elif kv not in KV_PRECISIONS:
        problems.append(("kv", f"unknown KV-cache precision '{kv}' (known: {', '.join(KV_PRECISIONS)})"))
    elif kv in ("fp8", "int8") and kv not in peaks:
        problems.append(("kv", f"an {kv} KV cache needs an accelerator with {kv} support; this one computes in "
                               f"{', '.join(peaks)}"))
    if problems:
        return None, problems
    return ServingPrecision(weights, activations, kv), []
