"""Device memory: weights, gradients, optimizer states, activations, KV cache, peak per phase.

- Resident training state per parameter = weight + gradient + optimizer bytes of the precision
  recipe (16 B for AMP with Adam; 18 B for bf16 with fp32 master weights; Rajbhandari et al.,
  ZeRO, 2020, section 3.1), divided by the ZeRO sharding of each part.
- Activations saved for backward come from the op table (each kernel's saved tensors), which
  reproduces Korthikanti et al. (2022) eq. 2 without the attention-score term that flash
  attention never stores: 34*s*b*h bytes per layer for bf16 GPT layers.
- KV cache = 2 (K and V) * layers * kv_heads * head_dim * context * batch * bytes per element.
- Peak = the larger of (start of backward: states + all activations + loss buffers) and
  (optimizer step: states + gradients + the optimizer's temporaries).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from simulator.domain.specs import ModelSpec

GIB = float(2**30)

# Memory the framework keeps beyond what tensors need: CUDA context and cuBLAS workspaces
# (~0.5-1 GiB, outside the caching allocator) and allocator fragmentation (~5% of the rest).
FRAMEWORK_RESERVED_BYTES = 1.0 * GIB
FRAGMENTATION = 0.05


def kv_cache_bytes(spec: ModelSpec, batch: float, context: float, bytes_per_element: float = 2.0,
                   tp: int = 1) -> float:
    """KV cache: 2 * layers * kv_heads * head_dim * context * batch * bytes (per TP rank)."""
    kv_heads = max(spec.n_kv_heads, tp) / tp
    return 2.0 * spec.layers * kv_heads * spec.d_head * context * batch * bytes_per_element


@dataclass(frozen=True)
class TrainingMemory:
    """Per-device training memory breakdown (bytes) and its peak."""

    weights: float
    gradients: float
    optimizer_states: float
    weight_cache: float
    activations: float
    loss_buffers: float
    optimizer_temporaries: float
    peak: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@njit(cache=True)
def memory_parts(params_local, weight_bytes, grad_bytes, state_bytes, weight_cache_bytes,
                 activations, loss_buffers, optimizer_temp_bytes, grads_live_in_forward,
                 zero_stage, dp, out):
    """Fill ``out`` with weights, gradients, optimizer states, weight cache, activations, loss
    buffers, optimizer temporaries and the peak (bytes); ZeRO 1/2/3 shard states/grads/weights."""
    shard_states = dp if zero_stage >= 1 else 1.0
    states = params_local * state_bytes / shard_states
    grads = params_local * grad_bytes / (dp if zero_stage >= 2 else 1.0)
    weights = params_local * weight_bytes / (dp if zero_stage >= 3 else 1.0)
    cache = params_local * weight_cache_bytes
    opt_temp = params_local * optimizer_temp_bytes / shard_states
    forward_peak = weights + states + cache + activations + loss_buffers
    if grads_live_in_forward:
        forward_peak += grads
    step_peak = weights + grads + states + opt_temp
    out[0] = weights
    out[1] = grads
    out[2] = states
    out[3] = cache
    out[4] = activations
    out[5] = loss_buffers
    out[6] = opt_temp
    out[7] = max(forward_peak, step_peak)


def training_memory(
    params_local: float,
    weight_bytes: float,
    grad_bytes: float,
    state_bytes: float,
    weight_cache_bytes: float,
    activations: float,
    loss_buffers: float,
    optimizer_temp_bytes: float,
    grads_live_in_forward: bool,
    zero_stage: int = 0,
    dp: int = 1,
) -> TrainingMemory:
    """Combine the parts into a peak (see ``memory_parts``)."""
    out = np.zeros(8)
    memory_parts(params_local, weight_bytes, grad_bytes, state_bytes, weight_cache_bytes, activations,
                 loss_buffers, optimizer_temp_bytes, grads_live_in_forward, float(zero_stage), float(dp), out)
    return TrainingMemory(*[float(x) for x in out])


def usable_bytes(hbm_bytes: float) -> float:
    """Memory a framework can hand to tensors: capacity less context/workspace, less fragmentation."""
    return (hbm_bytes - FRAMEWORK_RESERVED_BYTES) * (1.0 - FRAGMENTATION)
