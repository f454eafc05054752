"""A serving replica's memory, as a paged-KV engine budgets it.

Each accelerator of a ``tp``-way replica holds its share of the weights, the activation
workspace of the largest iteration (``max_num_batched_tokens`` tokens, logits of up to
``max_num_seqs`` sequences), a fixed runtime reserve (CUDA context, cuBLAS workspaces, NCCL
buffers, CUDA graphs: an absolute number of bytes from the engine's catalog entry), and the KV
cache in what remains of its memory budget:

- vLLM and SGLang (``memory_fraction_of: total``): KV = utilisation x HBM - weights -
  activations - reserve (vLLM worker.determine_num_available_blocks: ``total_gpu_memory *
  gpu_memory_utilization - peak_memory``, where the peak includes everything resident after a
  profiling forward pass);
- TensorRT-LLM (``free``): KV = fraction x (HBM - weights - activations - reserve)
  (``free_gpu_memory_fraction``: a share of the memory still free once the model is loaded).

The cache is paged: sequences hold whole blocks (vLLM 16 tokens, TensorRT-LLM 32, SGLang 1) for
the tokens they have, not for the full context (Kwon et al., PagedAttention, SOSP 2023). Per
token the cache holds 2 (K and V) x layers x kv_heads x head_dim elements, the KV heads split
over the TP ranks (replicated when there are fewer heads than ranks).

Quantised checkpoints keep the token embedding and the LM head in 16 bits (NVIDIA ModelOpt FP8
and NVFP4 checkpoints, AWQ/GPTQ): only the layers' weights take the quantised size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.costmodel.transformer import embedding_params, layer_params
from simulator.domain.precision import ServingPrecision
from simulator.domain.specs import EngineSpec, ModelSpec

GIB = float(2**30)
LOGIT_BYTES = 4.0          # fp32 logits in the sampler


def kv_bytes_per_token(model: ModelSpec, kv_bytes: float, tp: int = 1) -> float:
    """Bytes one cached token takes on each of the ``tp`` ranks."""
    kv_heads = max(model.n_kv_heads, tp) / tp
    return 2.0 * model.layers * kv_heads * model.d_head * kv_bytes


def weights_bytes_per_gpu(model: ModelSpec, prec: ServingPrecision, tp: int = 1) -> float:
    """Layer weights at the recipe's size, embeddings and LM head at 16 bits, split over ``tp``."""
    return (model.layers * layer_params(model) * prec.weight_bytes + embedding_params(model) * 2.0) / tp


def activation_bytes_per_gpu(model: ModelSpec, tp: int, tokens: float, sampled: float) -> float:
    """Peak transient memory of one iteration: the widest layer output and its input for
    ``tokens`` tokens (16-bit), and the fp32 logits of ``sampled`` sequences (sampled in place)."""
    width = max((model.heads + 2 * model.n_kv_heads) * model.d_head,
                (2 if model.mlp == "swiglu" else 1) * model.d_ffn * model.top_k) / tp
    return tokens * (width + model.hidden) * 2.0 + sampled * model.vocab / tp * LOGIT_BYTES


@dataclass(frozen=True)
class KvBudget:
    """One accelerator's memory split, and how many tokens its KV cache holds."""

    hbm_bytes: float
    weights_bytes: float
    activation_bytes: float
    reserve_bytes: float
    kv_bytes: float
    kv_bytes_per_token: float
    block_tokens: int

    @property
    def kv_tokens(self) -> int:
        """Tokens the cache holds (whole blocks)."""
        if self.kv_bytes <= 0:
            return 0
        blocks = math.floor(self.kv_bytes / (self.kv_bytes_per_token * self.block_tokens))
        return blocks * self.block_tokens

    @property
    def used_bytes(self) -> float:
        return self.weights_bytes + self.activation_bytes + self.reserve_bytes + max(self.kv_bytes, 0.0)

    def as_dict(self) -> dict:
        return {"weights_bytes": self.weights_bytes, "activation_bytes": self.activation_bytes,
                "runtime_reserve_bytes": self.reserve_bytes, "kv_cache_bytes": max(self.kv_bytes, 0.0),
                "kv_cache_tokens": self.kv_tokens, "kv_bytes_per_token": self.kv_bytes_per_token}


def kv_budget(model: ModelSpec, prec: ServingPrecision, engine: EngineSpec, hbm_bytes: float, tp: int,
              gpu_memory_utilization: float, max_num_batched_tokens: int, max_num_seqs: int,
              block_size: int) -> KvBudget:
    """The KV cache an engine gives itself on each accelerator of a ``tp``-way replica."""
    weights = weights_bytes_per_gpu(model, prec, tp)
    act = activation_bytes_per_gpu(model, tp, max_num_batched_tokens, min(max_num_seqs, max_num_batched_tokens))
    reserve = float(engine.runtime_reserve)
    if engine.memory_fraction_of == "free":
        kv = gpu_memory_utilization * (hbm_bytes - weights - act - reserve)
    else:
        kv = gpu_memory_utilization * hbm_bytes - weights - act - reserve
    return KvBudget(hbm_bytes, weights, act, reserve, kv, kv_bytes_per_token(model, prec.kv_bytes, tp), block_size)


def iteration_memory_bytes(model: ModelSpec, prec: ServingPrecision, tp: int, kv_tokens: float, tokens: float,
                           sampled: float, reserve_bytes: float) -> float:
    """What one explicit iteration needs on each accelerator: weights, the KV cache of
    ``kv_tokens`` tokens, its activations, and the runtime reserve (no utilisation cap: the
    question is whether it runs at all)."""
    return (weights_bytes_per_gpu(model, prec, tp) + kv_tokens * kv_bytes_per_token(model, prec.kv_bytes, tp)
            + activation_bytes_per_gpu(model, tp, tokens, sampled) + reserve_bytes)
