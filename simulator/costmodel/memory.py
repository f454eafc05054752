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

from simulator.costmodel.jit import kernel
from simulator.domain.specs import ModelSpec

GIB = float(2**30)

# Memory a process holds beyond its tensors, an absolute amount (it does not grow with the
# board's capacity): the CUDA context with lazily loaded modules (CUDA 11.7+ CUDA_MODULE_LOADING
# =LAZY; ~0.3-0.5 GiB on Hopper with PyTorch's kernels, outside the caching allocator), cuBLAS
# and cuDNN workspaces (PyTorch's Hopper default CUBLAS_WORKSPACE_CONFIG=:4096:2:16:8, 8 MiB per
# handle and stream) and the caching allocator's rounding and fragmentation (2 MiB small-block
# pool and 20 MiB large-block rounding; PyTorch "CUDA semantics: memory management").
RUNTIME_RESERVED_BYTES = 0.75 * GIB
# NCCL's buffers and communicators when a job's GPUs talk to each other: NCCL_BUFFSIZE = 4 MiB
# per channel and peer, up to 32 channels, one communicator per parallel group (NCCL
# environment-variable documentation; vLLM's memory profiler notes NCCL "can use a few GB").
COLLECTIVES_RESERVED_BYTES = 1.0 * GIB


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


@kernel
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


def usable_bytes(hbm_bytes: float, collectives: bool = False) -> float:
    """Memory a framework can hand to tensors: the capacity the device reports less the runtime's
    own (CUDA context, workspaces, allocator slack) and, for jobs spanning GPUs, NCCL's."""
    return hbm_bytes - RUNTIME_RESERVED_BYTES - (COLLECTIVES_RESERVED_BYTES if collectives else 0.0)
