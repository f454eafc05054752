"""Transformer parameters and FLOPs in closed form, and the model as a flat float64 vector.

Closed forms (dense and MoE, MHA/GQA/MQA):
- Parameters per layer: attention h*(a+2g)*d + a*d*h (+ biases), MLP 2*h*f (gelu/relu) or 3*h*f
  (SwiGLU) per expert, router h*E; embeddings V*h (+ learned positions), LM head V*h unless tied.
- Forward FLOPs per token: 2 * (matmul parameters touched by the token) + attention score and
  value products 4*a*d*(keys attended) (Kaplan et al., 2020, table 1; Narayanan et al., 2021,
  appendix). Causal attention attends to (s+1)/2 keys on average; flash-attention kernels
  compute whole 128x128 tiles on and below the diagonal, i.e. (nb+1)/(2*nb) of the full square.
- Training = forward + backward = 3x forward matmul FLOPs (backward: input and weight grads);
  full recompute adds one more forward (Korthikanti et al., 2022).
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

from simulator.domain.specs import ModelSpec


# Indices into the model vector (consumed by Numba kernels).
class ModelCol(IntEnum):
    """Columns of the model vector the Numba kernels read."""

    LAYERS = 0
    HIDDEN = 1
    HEADS = 2
    KV_HEADS = 3
    HEAD_DIM = 4
    FFN = 5
    VOCAB = 6
    EXPERTS = 7
    TOP_K = 8
    CAUSAL = 9
    SWIGLU = 10
    RMSNORM = 11
    BIAS = 12
    ROPE = 13
    TIED = 14
    LEARNED_POS = 15
    MAX_SEQ = 16


MODEL_VECTOR_LEN = len(ModelCol)

FLASH_TILE = 128  # query/key tile of flash-attention kernels (FlashAttention-2, Dao 2023)


def model_vector(spec: ModelSpec) -> np.ndarray:
    """The architecture as a float64 array for the Numba kernels."""
    v = np.zeros(MODEL_VECTOR_LEN)
    v[ModelCol.LAYERS] = spec.layers
    v[ModelCol.HIDDEN] = spec.hidden
    v[ModelCol.HEADS] = spec.heads
    v[ModelCol.KV_HEADS] = spec.n_kv_heads
    v[ModelCol.HEAD_DIM] = spec.d_head
    v[ModelCol.FFN] = spec.d_ffn
    v[ModelCol.VOCAB] = spec.vocab
    v[ModelCol.EXPERTS] = spec.experts
    v[ModelCol.TOP_K] = spec.top_k
    v[ModelCol.CAUSAL] = 1.0 if spec.causal else 0.0
    v[ModelCol.SWIGLU] = 1.0 if spec.mlp == "swiglu" else 0.0
    v[ModelCol.RMSNORM] = 1.0 if spec.norm == "rmsnorm" else 0.0
    v[ModelCol.BIAS] = 1.0 if spec.bias else 0.0
    v[ModelCol.ROPE] = 1.0 if spec.position == "rope" else 0.0
    v[ModelCol.TIED] = 1.0 if spec.ties_embeddings else 0.0
    v[ModelCol.LEARNED_POS] = 1.0 if spec.position == "learned" else 0.0
    v[ModelCol.MAX_SEQ] = spec.max_seq or 2048
    return v


def attention_params_per_layer(spec: ModelSpec) -> int:
    """Q, K, V and output projection weights (+ biases) of one layer."""
    h, a, g, d = spec.hidden, spec.heads, spec.n_kv_heads, spec.d_head
    weights = h * (a + 2 * g) * d + a * d * h
    biases = ((a + 2 * g) * d + h) if spec.bias else 0
    return weights + biases


def mlp_params_per_expert(spec: ModelSpec) -> int:
    """MLP weights (+ biases) of one expert (the whole MLP for a dense model)."""
    h, f = spec.hidden, spec.d_ffn
    if spec.mlp == "swiglu":
        return 3 * h * f + ((2 * f + h) if spec.bias else 0)
    return 2 * h * f + ((f + h) if spec.bias else 0)


def norm_params_per_layer(spec: ModelSpec) -> int:
    per_norm = spec.hidden * (2 if spec.norm == "layernorm" else 1)
    return 2 * per_norm


def layer_params(spec: ModelSpec) -> int:
    """All parameters of one Transformer block."""
    router = spec.hidden * spec.experts if spec.experts > 1 else 0
    return (attention_params_per_layer(spec) + spec.experts * mlp_params_per_expert(spec)
            + router + norm_params_per_layer(spec))


def embedding_params(spec: ModelSpec) -> int:
    """Token (+ learned position) embeddings, final norm and LM head."""
    positions = (spec.max_seq or 2048) * spec.hidden if spec.position == "learned" else 0
    head = 0 if spec.ties_embeddings else spec.vocab * spec.hidden
    final_norm = spec.hidden * (2 if spec.norm == "layernorm" else 1)
    return spec.vocab * spec.hidden + positions + head + final_norm


def param_count(spec: ModelSpec) -> int:
    """Total parameters."""
    return spec.layers * layer_params(spec) + embedding_params(spec)


def active_matmul_params(spec: ModelSpec) -> int:
    """Matmul weights one token passes through (top_k experts, LM head), for FLOP counts."""
    h, a, g, d = spec.hidden, spec.heads, spec.n_kv_heads, spec.d_head
    attn = h * (a + 2 * g) * d + a * d * h
    mlp_mats = 3 if spec.mlp == "swiglu" else 2
    mlp = spec.top_k * mlp_mats * h * spec.d_ffn
    router = h * spec.experts if spec.experts > 1 else 0
    return spec.layers * (attn + mlp + router) + spec.vocab * spec.hidden


def causal_fraction(seq: float, causal: bool, tile: int = 0) -> float:
    """Fraction of the s x s score matrix computed: 1 (bidirectional), (s+1)/(2s) (exact causal),
    or (nb+1)/(2nb) with nb = ceil(s/tile) when whole tiles are computed (flash attention)."""
    if not causal:
        return 1.0
    if tile <= 0:
        return (seq + 1.0) / (2.0 * seq)
    nb = math.ceil(seq / tile)
    return (nb + 1.0) / (2.0 * nb)


def attention_flops_forward(spec: ModelSpec, batch: float, seq: float, tile: int = 0) -> float:
    """QK^T and PV products of all layers, forward: 4*b*s*s*a*d*fraction*layers."""
    frac = causal_fraction(seq, spec.causal, tile)
    return 4.0 * batch * seq * seq * spec.heads * spec.d_head * frac * spec.layers


def forward_flops(spec: ModelSpec, batch: float, seq: float, tile: int = 0) -> float:
    """Forward FLOPs of one micro-batch (matmuls and attention; elementwise work excluded)."""
    return 2.0 * active_matmul_params(spec) * batch * seq + attention_flops_forward(spec, batch, seq, tile)


def model_flops_per_step(spec: ModelSpec, batch: float, seq: float) -> float:
    """Model FLOPs of one training step (forward + backward, no recompute, exact causal count):
    the numerator of MFU (Chowdhery et al., 2022, appendix B)."""
    return 3.0 * forward_flops(spec, batch, seq)


def decode_flops(spec: ModelSpec, batch: float, context: float) -> float:
    """FLOPs of one decode step: 2*active matmul params*b + 4*a*d*(context+1)*b per layer."""
    return (2.0 * active_matmul_params(spec) * batch
            + 4.0 * batch * (context + 1.0) * spec.heads * spec.d_head * spec.layers)
