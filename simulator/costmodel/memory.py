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

from simulator.scenario.specs import ModelSpec

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
    """Combine the parts into a peak, ZeRO stage 1/2/3 sharding states/grads/weights over dp."""
    states = params_local * state_bytes / (dp if zero_stage >= 1 else 1)
    grads = params_local * grad_bytes / (dp if zero_stage >= 2 else 1)
    weights = params_local * weight_bytes / (dp if zero_stage >= 3 else 1)
    cache = params_local * weight_cache_bytes
    opt_temp = params_local * optimizer_temp_bytes / (dp if zero_stage >= 1 else 1)
    forward_peak = weights + states + cache + activations + loss_buffers + (grads if grads_live_in_forward else 0.0)
    step_peak = weights + grads + states + opt_temp
    return TrainingMemory(weights, grads, states, cache, activations, loss_buffers, opt_temp,
                          max(forward_peak, step_peak))


def usable_bytes(hbm_bytes: float) -> float:
    """Memory a framework can hand to tensors: capacity less context/workspace, less fragmentation."""
    return (hbm_bytes - FRAMEWORK_RESERVED_BYTES) * (1.0 - FRAGMENTATION)
