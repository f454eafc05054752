"""The kernels one Transformer step launches, as rows of a float64 table (Numba-built).

Each row is one kernel (or ``count`` identical kernels): its kind (GEMM, memory-bound,
flash-attention forward/backward, host-only), GEMM shape, FLOPs, bytes moved, the host
dispatch class, the phase (forward, backward, optimizer) and the activation bytes it saves
for the backward pass. The same builders serve single-device estimates, serving iterations
and the layout search, so every path prices a layer the same way.

Shapes follow PyTorch's ``nn.Linear``: forward Y[T,N] = X[T,K] W^T; backward
dX = dY W (M=T, N=K, K=N) and dW = dY^T X (M=N, N=K, K=T). Tensor parallelism (degree tp)
splits attention heads and the MLP width (Shoeybi et al., 2019); sequence parallelism splits
norms and residual adds over tokens (Korthikanti et al., 2022).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from simulator.costmodel.jit import kernel
from simulator.costmodel.precision import PrecCol
from simulator.costmodel.transformer import FLASH_TILE, ModelCol


# Op-table columns.
class OpCol(IntEnum):
    """Columns of an op table (one row per kernel)."""

    KIND = 0
    M = 1
    N = 2
    K = 3
    FLOP = 4
    BYTES = 5
    HOST = 6
    COUNT = 7
    PHASE = 8
    SAVED = 9


OP_COLS = len(OpCol)

# Kinds of kernel (values of the KIND column).
K_GEMM, K_MEM, K_ATTN_FWD, K_ATTN_BWD, K_HOST = 0, 1, 2, 3, 4
# Host dispatch classes.
H_NONE, H_OP, H_GEMM, H_VIEW = 0.0, 1.0, 2.0, 3.0
# Phases.
PH_FWD, PH_BWD, PH_OPT = 0.0, 1.0, 2.0

# Recompute modes.
RC_NONE, RC_SELECTIVE, RC_FULL = 0, 1, 2

MAX_LAYER_OPS = 96


@kernel
def put(ops, n, kind, m, nn, k, flop, nbytes, host, count, phase, saved):
    """Append one row; returns the new row count."""
    ops[n, OpCol.KIND] = kind
    ops[n, OpCol.M] = m
    ops[n, OpCol.N] = nn
    ops[n, OpCol.K] = k
    ops[n, OpCol.FLOP] = flop
    ops[n, OpCol.BYTES] = nbytes
    ops[n, OpCol.HOST] = host
    ops[n, OpCol.COUNT] = count
    ops[n, OpCol.PHASE] = phase
    ops[n, OpCol.SAVED] = saved
    return n + 1


@kernel
def put_gemm(ops, n, m, nn, k, elem, phase, saved, count):
    """A GEMM Y[m,nn] = A[m,k] B[k,nn] (``count`` identical ones)."""
    flop = 2.0 * m * nn * k
    nbytes = elem * (m * k + k * nn) + 2.0 * m * nn
    return put(ops, n, K_GEMM, m, nn, k, flop, nbytes, H_GEMM, count, phase, saved)


@kernel
def put_batched_gemm(ops, n, batch, m, nn, k, elem, phase):
    """``batch`` independent GEMMs Y[m,nn] = A[m,k] B[k,nn] in one batched kernel (cuBLAS
    ``bmm``/``baddbmm``: one launch, the batch fills the GPU like extra rows of M)."""
    flop = 2.0 * batch * m * nn * k
    nbytes = batch * (elem * (m * k + k * nn) + 2.0 * m * nn)
    return put(ops, n, K_GEMM, batch * m, nn, k, flop, nbytes, H_GEMM, 1.0, phase, 0.0)


@kernel
def put_mem(ops, n, nbytes, phase, saved, count):
    """A memory-bound kernel moving ``nbytes`` (reads + writes)."""
    return put(ops, n, K_MEM, 0.0, 0.0, 0.0, 0.0, nbytes, H_OP, count, phase, saved)


@kernel
def put_linear_backward(ops, n, t, n_out, k_in, elem, pv, wparams):
    """Input-gradient and weight-gradient GEMMs of one linear layer, plus the AMP grad cast."""
    n = put_gemm(ops, n, t, k_in, n_out, elem, PH_BWD, 0.0, 1.0)
    n = put_gemm(ops, n, n_out, k_in, t, elem, PH_BWD, 0.0, 1.0)
    if pv[PrecCol.GRAD_CAST] > 0.0:
        n = put_mem(ops, n, pv[PrecCol.GRAD_CAST] * wparams, PH_BWD, 0.0, 1.0)
    return n


@kernel
def put_standard_attention(ops, n, heads, s, d, e, phase, save):
    """Unfused attention (Megatron-LM 2021): QK^T over all heads in one batched GEMM, fused
    scale-mask-softmax, dropout (1-byte mask), PV; the whole s x s score matrix is computed and,
    when ``save``, the softmax output, dropout mask and dropout output are kept (Korthikanti et
    al. 2022: 5*a*s^2*b bytes in 16-bit)."""
    scores = heads * s * s
    n = put_batched_gemm(ops, n, heads, s, s, d, e, phase)                        # Q K^T
    n = put_mem(ops, n, 2.0 * e * scores, phase, e * scores if save else 0.0, 1.0)  # softmax
    n = put_mem(ops, n, (2.0 * e + 1.0) * scores, phase, (e + 1.0) * scores if save else 0.0, 1.0)
    return put_batched_gemm(ops, n, heads, s, d, s, e, phase)                     # P V


@kernel
def put_standard_attention_backward(ops, n, heads, s, d, e):
    """Backward of ``put_standard_attention``: dP and dV, dropout and softmax backward, dQ, dK."""
    scores = heads * s * s
    n = put_batched_gemm(ops, n, heads, s, s, d, e, PH_BWD)                       # dP = dO V^T
    n = put_batched_gemm(ops, n, heads, s, d, s, e, PH_BWD)                       # dV = P^T dO
    n = put_mem(ops, n, (2.0 * e + 1.0) * scores, PH_BWD, 0.0, 1.0)               # dropout bwd
    n = put_mem(ops, n, 3.0 * e * scores, PH_BWD, 0.0, 1.0)                       # softmax bwd
    n = put_batched_gemm(ops, n, heads, s, d, s, e, PH_BWD)                       # dQ = dS K
    return put_batched_gemm(ops, n, heads, s, d, s, e, PH_BWD)                    # dK = dS^T Q


@kernel
def attention_tile_fraction(s, causal):
    """Fraction of the score matrix flash attention computes (whole tiles on/below the diagonal)."""
    if causal < 0.5:
        return 1.0
    nb = np.ceil(s / FLASH_TILE)
    return (nb + 1.0) / (2.0 * nb)


@kernel
def fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, phase, recompute):
    """Kernels of one Transformer block for a micro-batch of ``b`` sequences of ``s`` tokens.

    ``phase`` 0 fills the forward, 1 the backward (preceded by the recomputed forward when
    ``recompute`` is full). Returns the new row count.
    """
    return fill_layer_cp(ops, n, mv, pv, b, s, tp, sp, ep, phase, recompute, 1.0)


@kernel
def fill_layer_cp(ops, n, mv, pv, b, s, tp, sp, ep, phase, recompute, cp):
    """``fill_layer`` on one rank of a context-parallel group of ``cp``: the rank holds s/cp
    tokens of each sequence (2 chunks of s/(2cp), one from each end, so causal work is
    balanced) and its queries attend to all s keys (ring attention: Liu et al., 2023;
    Megatron-LM/Transformer Engine context parallelism)."""
    if phase == 0:
        return fill_layer_pass(ops, n, mv, pv, b, s, tp, sp, ep, 0, recompute, cp)
    if recompute == RC_FULL:
        start = n
        n = fill_layer_pass(ops, n, mv, pv, b, s, tp, sp, ep, 0, RC_NONE, cp)
        for i in range(start, n):
            ops[i, OpCol.PHASE] = PH_BWD
            ops[i, OpCol.SAVED] = 0.0
    return fill_layer_pass(ops, n, mv, pv, b, s, tp, sp, ep, 1, recompute, cp)


@kernel
def fill_layer_pass(ops, n, mv, pv, b, s, tp, sp, ep, phase, recompute, cp):
    """One pass (0 forward, 1 backward) of a Transformer block; see ``fill_layer_cp``."""
    h = mv[ModelCol.HIDDEN]
    a = mv[ModelCol.HEADS]
    g = mv[ModelCol.KV_HEADS]
    d = mv[ModelCol.HEAD_DIM]
    f = mv[ModelCol.FFN]
    experts = mv[ModelCol.EXPERTS]
    top_k = mv[ModelCol.TOP_K]
    swiglu = mv[ModelCol.SWIGLU] > 0.5
    rope = mv[ModelCol.ROPE] > 0.5
    r = pv[PrecCol.RESID]
    e = pv[PrecCol.ACT]
    ge = pv[PrecCol.GEMM_ELEM]
    wcast = pv[PrecCol.WCAST]
    s_loc = s / cp                              # query tokens of each sequence on this rank
    t_tok = b * s_loc
    tn = t_tok / tp if sp > 0.5 else t_tok      # tokens each rank holds in norms / residual adds
    qd = a * d / tp
    kvd = max(g, tp) * d / tp                   # KV heads are replicated when fewer than tp
    fl = f / tp
    qkv_n = qd + 2.0 * kvd
    moe = experts > 1.5
    local_experts = max(experts / ep, 1.0)
    tok_per_expert = t_tok * ep * top_k / experts   # tokens of the whole EP group per expert
    mlp_mats = 3.0 if swiglu else 2.0
    attn_flop = 4.0 * b * s_loc * s * qd * attention_tile_fraction(s, mv[ModelCol.CAUSAL])
    kv_read = e * b * s * 2.0 * kvd             # every key and value of the sequence
    fp8 = pv[PrecCol.FP8] > 0.5
    standard = pv[PrecCol.ATTN_STANDARD] > 0.5
    drop = pv[PrecCol.DROPOUT]                  # 1 when hidden dropout writes a 1-byte mask
    # A norm saves its input; its output is saved too (for the next GEMM's weight gradient)
    # unless a separate cast kernel writes the GEMM's input copy (AMP, fp8), which saves it.
    norm_saved = r * tn * h if (wcast > 0.0 or fp8) else (r + e) * tn * h

    if phase == 0:
        # --- attention block ---
        n = put_mem(ops, n, 2.0 * r * tn * h, PH_FWD, norm_saved, 1.0)             # norm 1
        if wcast > 0.0 and not fp8:
            n = put_mem(ops, n, (r + e) * tn * h, PH_FWD, e * tn * h, 1.0)         # cast to bf16
            n = put_mem(ops, n, wcast * h * qkv_n, PH_FWD, 0.0, 1.0)               # weight cast
        if fp8:
            n = put_mem(ops, n, (e + 1.0) * t_tok * h + wcast * h * qkv_n, PH_FWD, tn * h, 1.0)
        n = put_gemm(ops, n, t_tok, qkv_n, h, ge, PH_FWD, e * t_tok * qkv_n, 1.0)  # QKV
        if rope:
            n = put_mem(ops, n, 2.0 * e * t_tok * (qd + kvd), PH_FWD, 0.0, 1.0)
        if standard:
            n = put_standard_attention(ops, n, b * a / tp, s_loc, d, e, PH_FWD, recompute != RC_SELECTIVE)
        else:
            saved_attn = e * t_tok * qd + 4.0 * b * s_loc * a / tp
            if recompute == RC_SELECTIVE:
                saved_attn = 0.0
            n = put(ops, n, K_ATTN_FWD, s_loc, s, d, attn_flop,
                    e * t_tok * 2.0 * qd + kv_read, H_OP, 1.0, PH_FWD, saved_attn)
        if standard or pv[PrecCol.ATTN_NO_COPY] < 0.5:
            n = put_mem(ops, n, 2.0 * e * t_tok * qd, PH_FWD, e * t_tok * qd, 1.0)  # heads -> rows
        if wcast > 0.0:
            n = put_mem(ops, n, wcast * qd * h, PH_FWD, 0.0, 1.0)
        n = put_gemm(ops, n, t_tok, h, qd, ge, PH_FWD, 0.0, 1.0)                  # out proj
        n = put_mem(ops, n, (2.0 * r + e + drop) * tn * h, PH_FWD, drop * tn * h, 1.0)  # (dropout +) residual
        # --- MLP block ---
        n = put_mem(ops, n, 2.0 * r * tn * h, PH_FWD, norm_saved, 1.0)             # norm 2
        if wcast > 0.0 and not fp8:
            n = put_mem(ops, n, (r + e) * tn * h, PH_FWD, e * tn * h, 1.0)
        if fp8:
            n = put_mem(ops, n, (e + 1.0) * t_tok * h, PH_FWD, tn * h, 1.0)
        # Selective recomputation re-runs core attention only; MLP activations are kept
        # (Korthikanti et al. 2022, section 5; Megatron-LM --recompute-granularity selective).
        act_saved = e * t_tok * fl * (2.0 if swiglu else 1.0)
        if moe:
            n = put_gemm(ops, n, t_tok, experts, h, 4.0, PH_FWD, 4.0 * t_tok * experts, 1.0)  # router
            n = put_mem(ops, n, 12.0 * t_tok * experts, PH_FWD, 0.0, 1.0)                    # softmax/top-k
            n = put_mem(ops, n, 2.0 * e * t_tok * top_k * h, PH_FWD, 0.0, 1.0)                # dispatch
            up_n = fl * (2.0 if swiglu else 1.0)
            tok_local = tok_per_expert
            if wcast > 0.0:
                n = put_mem(ops, n, wcast * local_experts * mlp_mats * h * fl, PH_FWD, 0.0, 1.0)
            n = put_gemm(ops, n, tok_local, up_n, h, ge, PH_FWD,
                         e * tok_local * up_n, local_experts)
            n = put_mem(ops, n, 2.0 * e * local_experts * tok_local * fl * (1.5 if swiglu else 1.0),
                        PH_FWD, act_saved * local_experts * tok_local / t_tok, 1.0)
            n = put_gemm(ops, n, tok_local, h, fl, ge, PH_FWD, 0.0, local_experts)
            n = put_mem(ops, n, 2.0 * e * t_tok * top_k * h, PH_FWD, e * t_tok * top_k * h, 1.0)  # combine
        else:
            if wcast > 0.0:
                n = put_mem(ops, n, wcast * h * fl * (mlp_mats - 1.0), PH_FWD, 0.0, 1.0)
            if swiglu:
                n = put_gemm(ops, n, t_tok, fl, h, ge, PH_FWD, e * t_tok * fl, 2.0)   # gate, up
                n = put_mem(ops, n, 2.0 * e * t_tok * fl, PH_FWD, 0.0, 1.0)            # silu
                n = put_mem(ops, n, 3.0 * e * t_tok * fl, PH_FWD, act_saved, 1.0)      # mul
            else:
                n = put_gemm(ops, n, t_tok, fl, h, ge, PH_FWD, e * t_tok * fl, 1.0)   # fc1
                n = put_mem(ops, n, 2.0 * e * t_tok * fl, PH_FWD, act_saved, 1.0)      # gelu
            n = put_gemm(ops, n, t_tok, h, fl, ge, PH_FWD, 0.0, 1.0)                  # fc2
        n = put_mem(ops, n, (2.0 * r + e + drop) * tn * h, PH_FWD, drop * tn * h, 1.0)  # (dropout +) residual
        return n

    # --------------------------- backward ---------------------------
    if recompute == RC_SELECTIVE:
        if standard:
            n = put_standard_attention(ops, n, b * a / tp, s_loc, d, e, PH_BWD, False)
        else:
            n = put(ops, n, K_ATTN_FWD, s_loc, s, d, attn_flop,
                    e * t_tok * 2.0 * qd + kv_read, H_OP, 1.0, PH_BWD, 0.0)
    if wcast > 0.0:
        n = put_mem(ops, n, (r + e) * tn * h, PH_BWD, 0.0, 1.0)                    # grad to bf16
    # MLP
    if moe:
        n = put_mem(ops, n, 2.0 * e * t_tok * top_k * h, PH_BWD, 0.0, 1.0)
        up_n = fl * (2.0 if swiglu else 1.0)
        tok_local = tok_per_expert
        n = put_gemm(ops, n, tok_local, fl, h, ge, PH_BWD, 0.0, local_experts)
        n = put_gemm(ops, n, h, fl, tok_local, ge, PH_BWD, 0.0, local_experts)
        n = put_mem(ops, n, 3.0 * e * local_experts * tok_local * fl * (1.5 if swiglu else 1.0),
                    PH_BWD, 0.0, 1.0)
        n = put_gemm(ops, n, tok_local, h, up_n, ge, PH_BWD, 0.0, local_experts)
        n = put_gemm(ops, n, up_n, h, tok_local, ge, PH_BWD, 0.0, local_experts)
        if pv[PrecCol.GRAD_CAST] > 0.0:
            n = put_mem(ops, n, pv[PrecCol.GRAD_CAST] * local_experts * mlp_mats * h * fl, PH_BWD, 0.0, 1.0)
        n = put_mem(ops, n, 2.0 * e * t_tok * top_k * h, PH_BWD, 0.0, 1.0)
        n = put_gemm(ops, n, t_tok, h, experts, 4.0, PH_BWD, 0.0, 1.0)
        n = put_gemm(ops, n, experts, h, t_tok, 4.0, PH_BWD, 0.0, 1.0)
    else:
        n = put_linear_backward(ops, n, t_tok, h, fl, ge, pv, h * fl)              # fc2
        if swiglu:
            n = put_mem(ops, n, 5.0 * e * t_tok * fl, PH_BWD, 0.0, 1.0)            # mul bwd
            n = put_mem(ops, n, 3.0 * e * t_tok * fl, PH_BWD, 0.0, 1.0)            # silu bwd
            n = put_linear_backward(ops, n, t_tok, fl, h, ge, pv, h * fl)          # up
            n = put_linear_backward(ops, n, t_tok, fl, h, ge, pv, h * fl)          # gate
            n = put_mem(ops, n, 3.0 * e * t_tok * h, PH_BWD, 0.0, 1.0)             # sum of dX
        else:
            n = put_mem(ops, n, 3.0 * e * t_tok * fl, PH_BWD, 0.0, 1.0)            # gelu bwd
            n = put_linear_backward(ops, n, t_tok, fl, h, ge, pv, h * fl)          # fc1
    if wcast > 0.0:
        n = put_mem(ops, n, (e + r) * tn * h, PH_BWD, 0.0, 1.0)                    # grad to fp32
    n = put_mem(ops, n, 3.0 * r * tn * h, PH_BWD, 0.0, 1.0)                        # norm 2 bwd
    n = put_mem(ops, n, (3.0 * r + drop) * tn * h, PH_BWD, 0.0, 1.0)               # (dropout +) residual grad
    if wcast > 0.0:
        n = put_mem(ops, n, (r + e) * tn * h, PH_BWD, 0.0, 1.0)
    # attention
    n = put_linear_backward(ops, n, t_tok, h, qd, ge, pv, h * qd)                  # out proj
    if standard or pv[PrecCol.ATTN_NO_COPY] < 0.5:
        n = put_mem(ops, n, 2.0 * e * t_tok * qd, PH_BWD, 0.0, 1.0)                # rows -> heads
    if standard:
        n = put_standard_attention_backward(ops, n, b * a / tp, s_loc, d, e)
    else:
        n = put_mem(ops, n, 2.0 * e * t_tok * qd + 4.0 * b * s_loc * a / tp, PH_BWD, 0.0, 1.0)  # dot(o, do)
        n = put(ops, n, K_ATTN_BWD, s_loc, s, d, 2.5 * attn_flop,
                e * t_tok * 4.0 * qd + 2.0 * kv_read + 8.0 * t_tok * qd, H_OP, 1.0, PH_BWD, 0.0)
    if rope:
        n = put_mem(ops, n, 2.0 * e * t_tok * (qd + kvd), PH_BWD, 0.0, 1.0)
    n = put_linear_backward(ops, n, t_tok, qkv_n, h, ge, pv, h * qkv_n)            # QKV
    if wcast > 0.0:
        n = put_mem(ops, n, (e + r) * tn * h, PH_BWD, 0.0, 1.0)
    n = put_mem(ops, n, 3.0 * r * tn * h, PH_BWD, 0.0, 1.0)                        # norm 1 bwd
    n = put_mem(ops, n, (3.0 * r + drop) * tn * h, PH_BWD, 0.0, 1.0)               # (dropout +) residual grad
    return n


def new_table(rows: int) -> np.ndarray:
    """An empty op table with room for ``rows`` rows."""
    return np.zeros((rows, OP_COLS))


__all__ = [
    "H_GEMM",
    "H_NONE",
    "H_OP",
    "H_VIEW",
    "MAX_LAYER_OPS",
    "OP_COLS",
    "PH_BWD",
    "PH_FWD",
    "PH_OPT",
    "RC_FULL",
    "RC_NONE",
    "RC_SELECTIVE",
    "OpCol",
    "fill_layer",
    "fill_layer_cp",
    "new_table",
    "put",
]
