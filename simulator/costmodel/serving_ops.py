"""The kernels of one serving iteration, as op-table rows (Numba-built): the token-parallel part
(embedding, every layer's norms, projections, MLP, KV write, LM head and sampling) for ``T``
tokens of which ``S`` are sampled, and the attention of decode and prefill sequences.

Weights, GEMM activations and the KV cache each have their own element size (the serving
vector, ``ServCol``): a GEMM reads its weights once (``w`` bytes per element, scales included)
and its activations (``a`` bytes), and writes 16-bit outputs. Quantised activations (fp8, int8,
fp4) are produced by the kernel before each GEMM that reads them (TensorRT-LLM and vLLM fuse the
quantisation into the norm; the inputs of the output and down projections are quantised by
their own small kernels). W4A16 GEMMs dequantise the weights in registers, which lowers their
compute throughput by the recipe's dequantisation efficiency (counted as extra FLOPs).

Attention in serving is split out because its cost depends on each sequence's own context, not
on the token count: decode attention reads every cached key and value once (memory-bound;
flash-decoding/paged kernels at a share of copy bandwidth), prompt attention computes the causal
score products of each chunk against its prefix (compute-bound, flash kernels).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import H_GEMM, K_ATTN_FWD, K_GEMM, PH_FWD, new_table, put, put_mem
from simulator.costmodel.transformer import ModelCol


class ServCol(IntEnum):
    """Columns of the serving vector the Numba kernels read."""

    W_BYTES = 0          # bytes per weight element (scales included)
    A_BYTES = 1          # bytes per GEMM activation element
    KV_BYTES = 2         # bytes per cached K or V element
    DEQUANT = 3          # GEMM throughput factor of weight-only quantisation (1: none)
    ACT_QUANT = 4        # 1 when GEMM activations are quantised (fp8/int8/fp4)
    DECODE_BW = 5        # decode-attention kernel: share of copy bandwidth
    FUSION = 6           # 0 none, 1 residual+norm fused, 2 also SwiGLU/quantisation in GEMM epilogues, RoPE and
                         # KV write in the attention kernel


SERV_VECTOR_LEN = len(ServCol)
ACT = 2.0                # 16-bit activations between kernels
MAX_SERVING_LAYER_OPS = 24


@kernel
def put_wgemm(ops, n, m, nn, k, sv, count):
    """Y[m, nn] = X[m, k] W[k, nn] with quantised weights and activations (``count`` of them)."""
    flop = 2.0 * m * nn * k
    nbytes = sv[ServCol.W_BYTES] * k * nn + sv[ServCol.A_BYTES] * m * k + ACT * m * nn
    return put(ops, n, K_GEMM, m, nn, k, flop / sv[ServCol.DEQUANT], nbytes, H_GEMM, count, PH_FWD, 0.0)


@kernel
def put_quant(ops, n, sv, elements):
    """Quantise a GEMM input (read 16-bit, write the activation dtype) when activations are quantised."""
    if sv[ServCol.ACT_QUANT] > 0.5:
        n = put_mem(ops, n, (ACT + sv[ServCol.A_BYTES]) * elements, PH_FWD, 0.0, 1.0)
    return n


@kernel
def fill_token_layer(ops, n, mv, sv, t, tp):
    """One layer's token-parallel kernels for ``t`` tokens on one of ``tp`` ranks.

    Fusion (the engine's): 0, every elementwise step its own kernel (eager PyTorch: the cache's K
    and V written by two copies); 1, each residual add fused
    with the norm that follows (vLLM's fused_add_rms_norm: read x and the residual, write both);
    2, also SwiGLU and the down projection's input quantisation in the gate/up GEMM's epilogue,
    RoPE, the KV-cache write and the output projection's input quantisation in the attention
    kernel (TensorRT-LLM's fused gated MLP and fused multi-head attention)."""
    h = mv[ModelCol.HIDDEN]
    a = mv[ModelCol.HEADS]
    g = mv[ModelCol.KV_HEADS]
    d = mv[ModelCol.HEAD_DIM]
    f = mv[ModelCol.FFN] / tp
    qd = a * d / tp
    kvd = max(g, tp) * d / tp
    swiglu = mv[ModelCol.SWIGLU] > 0.5
    fusion = sv[ServCol.FUSION]
    if fusion < 0.5:
        n = put_mem(ops, n, 2.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # norm 1 (+ quantise)
    else:
        n = put_mem(ops, n, 4.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # residual + norm 1
    n = put_wgemm(ops, n, t, qd + 2.0 * kvd, h, sv, 1.0)                         # QKV
    if fusion < 1.5:
        if mv[ModelCol.ROPE] > 0.5:
            n = put_mem(ops, n, 2.0 * ACT * t * (qd + kvd), PH_FWD, 0.0, 1.0)
        if fusion < 0.5:                                                         # K and V copied apart
            n = put_mem(ops, n, (ACT + sv[ServCol.KV_BYTES]) * t * kvd, PH_FWD, 0.0, 2.0)
        else:                                                                    # KV append, one kernel
            n = put_mem(ops, n, (ACT + sv[ServCol.KV_BYTES]) * t * 2.0 * kvd, PH_FWD, 0.0, 1.0)
        n = put_quant(ops, n, sv, t * qd)
    n = put_wgemm(ops, n, t, h, qd, sv, 1.0)                                     # out proj
    if fusion < 0.5:
        n = put_mem(ops, n, 3.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # residual
        n = put_mem(ops, n, 2.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # norm 2 (+ quantise)
    else:
        n = put_mem(ops, n, 4.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # residual + norm 2
    experts = mv[ModelCol.EXPERTS]
    if experts > 1.5:
        top_k = mv[ModelCol.TOP_K]
        active = min(experts, t * top_k)                                         # experts whose weights are read
        tok = t * top_k / active
        n = put_gemm16(ops, n, t, experts, h)                                    # router
        n = put_mem(ops, n, 12.0 * t * experts, PH_FWD, 0.0, 1.0)
        n = put_wgemm(ops, n, tok, f * (2.0 if swiglu else 1.0), h, sv, active)
        n = put_mem(ops, n, 3.0 * ACT * t * top_k * f, PH_FWD, 0.0, 1.0)
        n = put_quant(ops, n, sv, t * top_k * f)
        n = put_wgemm(ops, n, tok, h, f, sv, active)
        n = put_mem(ops, n, 2.0 * ACT * t * top_k * h, PH_FWD, 0.0, 1.0)
    elif swiglu and fusion > 1.5:
        n = put_wgemm(ops, n, t, 2.0 * f, h, sv, 1.0)                            # gate + up, SwiGLU epilogue
        n = put_wgemm(ops, n, t, h, f, sv, 1.0)
    elif swiglu:
        n = put_wgemm(ops, n, t, 2.0 * f, h, sv, 1.0)                            # gate + up, fused
        n = put_mem(ops, n, 3.0 * ACT * t * f, PH_FWD, 0.0, 1.0)                 # silu * up
        n = put_quant(ops, n, sv, t * f)
        n = put_wgemm(ops, n, t, h, f, sv, 1.0)
    else:
        n = put_wgemm(ops, n, t, f, h, sv, 1.0)
        n = put_mem(ops, n, 2.0 * ACT * t * f, PH_FWD, 0.0, 1.0)                 # gelu
        n = put_quant(ops, n, sv, t * f)
        n = put_wgemm(ops, n, t, h, f, sv, 1.0)
    if fusion < 0.5:
        n = put_mem(ops, n, 3.0 * ACT * t * h, PH_FWD, 0.0, 1.0)                 # residual
    return n


@kernel
def put_gemm16(ops, n, m, nn, k):
    """A small 16-bit GEMM (router, LM head: kept in 16 bits by the quantisation recipes)."""
    return put(ops, n, K_GEMM, m, nn, k, 2.0 * m * nn * k, ACT * (m * k + k * nn + m * nn), H_GEMM, 1.0,
               PH_FWD, 0.0)


@kernel
def build_token_part(ops, mv, sv, t, sampled, layers, tp):
    """Every token-parallel kernel of one iteration over ``t`` tokens, ``sampled`` of which get
    logits (one per decoding sequence and per prompt that completes)."""
    n = 0
    h = mv[ModelCol.HIDDEN]
    v = mv[ModelCol.VOCAB] / tp
    n = put_mem(ops, n, (4.0 + ACT) * t * h, PH_FWD, 0.0, 1.0)                  # embedding gather
    if mv[ModelCol.LEARNED_POS] > 0.5:
        n = put_mem(ops, n, 3.0 * ACT * t * h, PH_FWD, 0.0, 1.0)
    for _ in range(layers):
        n = fill_token_layer(ops, n, mv, sv, t, tp)
    s = max(sampled, 1.0)
    n = put_mem(ops, n, 2.0 * ACT * s * h, PH_FWD, 0.0, 1.0)                     # final norm (sampled rows)
    n = put_gemm16(ops, n, s, v, h)                                              # LM head
    n = put_mem(ops, n, 4.0 * s * v + 8.0 * s, PH_FWD, 0.0, 1.0)                 # logits -> sample
    return n


@kernel
def fill_decode_attention(ops, n, mv, sv, b, context, tp, count):
    """Decode attention of ``b`` sequences over ``context`` cached keys each (one layer, ``count``
    layers): every K and V element read once, at the kernel's share of bandwidth (counted as
    extra bytes), then the split-KV combine."""
    a = mv[ModelCol.HEADS]
    g = mv[ModelCol.KV_HEADS]
    d = mv[ModelCol.HEAD_DIM]
    qd = a * d / tp
    kvd = max(g, tp) * d / tp
    keys = b * context
    nbytes = (sv[ServCol.KV_BYTES] * 2.0 * keys * kvd + ACT * 2.0 * b * qd) / sv[ServCol.DECODE_BW]
    n = put(ops, n, K_ATTN_FWD, max(context, 1.0), 1.0, d, 4.0 * keys * qd, nbytes, 1.0, count, PH_FWD, 0.0)
    return put_mem(ops, n, 4.0 * b * a / tp * 8.0, PH_FWD, 0.0, count)


@kernel
def prompt_attention_flops(chunk, prior, heads_dim):
    """Causal score and value products of a ``chunk`` of new tokens after ``prior`` cached ones:
    4 * (a*d) * chunk * (prior + (chunk + 1) / 2)."""
    return 4.0 * heads_dim * chunk * (prior + 0.5 * (chunk + 1.0))


@kernel
def fill_prompt_attention(ops, n, mv, sv, b, chunk, prior, tp, count):
    """Flash attention of ``b`` prompt chunks of ``chunk`` tokens after ``prior`` cached tokens
    (the engine's kernel efficiency is in the device vector's attention fraction)."""
    a = mv[ModelCol.HEADS]
    g = mv[ModelCol.KV_HEADS]
    d = mv[ModelCol.HEAD_DIM]
    qd = a * d / tp
    kvd = max(g, tp) * d / tp
    flop = b * prompt_attention_flops(chunk, prior, qd)
    nbytes = b * (ACT * chunk * 2.0 * qd + sv[ServCol.KV_BYTES] * (prior + chunk) * 2.0 * kvd)
    return put(ops, n, K_ATTN_FWD, chunk + prior, chunk, d, flop, nbytes, 1.0, count, PH_FWD, 0.0)


def new_serving_table(layers: int) -> np.ndarray:
    """An empty op table big enough for one serving iteration of ``layers`` layers."""
    return new_table((layers + 4) * MAX_SERVING_LAYER_OPS)
