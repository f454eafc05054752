"""The kernels at the ends of a training step, as op-table rows (costmodel/ops.py): the token
(and position) embedding, the LM head with its loss, and the multi-tensor optimizer."""

from __future__ import annotations

import numpy as np

from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import H_OP, K_MEM, PH_BWD, PH_FWD, PH_OPT, put, put_gemm, put_linear_backward, put_mem
from simulator.costmodel.precision import PrecCol
from simulator.costmodel.transformer import ModelCol


@kernel
def fill_embedding(ops, n, mv, pv, b, s, tp, phase):
    """Token (+ position) embedding lookup, forward or backward."""
    h = mv[ModelCol.HIDDEN]
    v = mv[ModelCol.VOCAB]
    r = pv[PrecCol.RESID]
    t_tok = b * s
    if phase == 0:
        n = put_mem(ops, n, (4.0 + r) * t_tok * h, PH_FWD, 0.0, 1.0)               # gather rows
        if mv[ModelCol.LEARNED_POS] > 0.5:
            n = put_mem(ops, n, 3.0 * r * t_tok * h, PH_FWD, 0.0, 1.0)              # + positions
        return n
    n = put_mem(ops, n, 4.0 * v * h / tp, PH_BWD, 0.0, 1.0)                          # zero dense grad
    n = put_mem(ops, n, 12.0 * t_tok * h, PH_BWD, 0.0, 1.0)                          # index_add
    if mv[ModelCol.LEARNED_POS] > 0.5:
        n = put_mem(ops, n, 12.0 * t_tok * h, PH_BWD, 0.0, 1.0)
    return n


@kernel
def fill_head(ops, n, mv, pv, b, s, tp, sp, phase, logits_tokens):
    """Final norm, LM head and cross-entropy loss (vocab-parallel under TP).

    ``logits_tokens`` is how many positions get logits (all for training, the last for serving).
    The logits, log-probabilities and their gradient are counted as loss buffers by the callers
    (memory.py), not as saved activations here.
    """
    h = mv[ModelCol.HIDDEN]
    v = mv[ModelCol.VOCAB] / tp
    r = pv[PrecCol.RESID]
    e = pv[PrecCol.ACT]
    ge = pv[PrecCol.GEMM_ELEM]
    t_tok = b * s
    tn = t_tok / tp if sp > 0.5 else t_tok
    lt = logits_tokens
    if phase == 0:
        norm_saved = r * tn * h if pv[PrecCol.WCAST] > 0.0 else (r + e) * tn * h
        n = put_mem(ops, n, 2.0 * r * tn * h, PH_FWD, norm_saved, 1.0)
        if pv[PrecCol.WCAST] > 0.0:
            n = put_mem(ops, n, (r + e) * tn * h, PH_FWD, e * tn * h, 1.0)
            n = put_mem(ops, n, pv[PrecCol.WCAST] * v * h, PH_FWD, 0.0, 1.0)
        n = put_gemm(ops, n, lt, v, h, ge, PH_FWD, 0.0, 1.0)
        if pv[PrecCol.LOGIT_CAST] > 0.0:
            n = put_mem(ops, n, 6.0 * lt * v, PH_FWD, 0.0, 1.0)                      # logits to fp32
        n = put_mem(ops, n, 8.0 * lt * v, PH_FWD, 0.0, 1.0)                          # log_softmax
        n = put_mem(ops, n, 8.0 * lt, PH_FWD, 0.0, 1.0)                              # nll
        return n
    n = put_mem(ops, n, 4.0 * lt * v, PH_BWD, 0.0, 1.0)                              # nll bwd
    n = put_mem(ops, n, 12.0 * lt * v, PH_BWD, 0.0, 1.0)                             # log_softmax bwd
    if pv[PrecCol.LOGIT_CAST] > 0.0:
        n = put_mem(ops, n, 6.0 * lt * v, PH_BWD, 0.0, 1.0)
    n = put_linear_backward(ops, n, lt, v, h, ge, pv, v * h)
    if pv[PrecCol.WCAST] > 0.0:
        n = put_mem(ops, n, (e + r) * tn * h, PH_BWD, 0.0, 1.0)
    n = put_mem(ops, n, 3.0 * r * tn * h, PH_BWD, 0.0, 1.0)                          # final norm bwd
    return n


@kernel
def fill_optimizer(ops, n, pv, params_local, tensors_local, micro_batches):
    """Gradient accumulation over micro-batches and the optimizer step over local parameters.

    Multi-tensor kernels process up to ~110 tensors or 320 x 65536 elements per launch
    (PyTorch ``multi_tensor_apply``), so launches = max(tensors/110, elements/20.97M).
    """
    if micro_batches > 1.0 and pv[PrecCol.GRAD_ACC] > 0.0:
        n = put_mem(ops, n, pv[PrecCol.GRAD_ACC] * params_local * (micro_batches - 1.0), PH_BWD, 0.0, 1.0)
    launches = max(np.ceil(tensors_local / 110.0), np.ceil(params_local / 20971520.0))
    passes = pv[PrecCol.OPT_PASSES]
    n = put(ops, n, K_MEM, 0.0, 0.0, 0.0, 0.0, pv[PrecCol.OPT_BYTES] * params_local / (passes * launches),
            H_OP, passes * launches, PH_OPT, 0.0)
    return n
