"""The inputs and outputs of the layout kernel (costmodel/parallel.py): column enums of the
per-layer cost row, the job vector and the evaluation row, the overlap shares the recipe
switches on, and the builders of the job and device vectors."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from simulator.costmodel.device import DeviceCol, DeviceModel
from simulator.costmodel.precision import PrecCol, Recipe
from simulator.costmodel.training import RECOMPUTE
from simulator.costmodel.transformer import embedding_params, layer_params, mlp_params_per_expert
from simulator.domain.specs import ModelSpec


class CostCol(IntEnum):
    """Stage-cost columns, per micro-batch at one clock: GPU time of one layer / the embedding /
    the head and loss (fwd+bwd), the compute- and memory-busy time of each (for power), their
    compute-bound time (stretches with the clock), the saved activation bytes per layer, and
    the time of one layer's GEMMs and attention kernels (what TP and CP communication can hide
    behind), and the forward-only time of a layer / embedding / head (evaluation passes)."""

    LAYER = 0
    EMB = 1
    HEAD = 2
    LAYER_C = 3
    LAYER_M = 4
    EMB_C = 5
    EMB_M = 6
    HEAD_C = 7
    HEAD_M = 8
    SAVED = 9
    LAYER_B = 10
    EMB_B = 11
    HEAD_B = 12
    LAYER_GEMM = 13
    LAYER_ATTN = 14
    LAYER_F = 15
    EMB_F = 16
    HEAD_F = 17


COST_LEN = len(CostCol)


class JobCol(IntEnum):
    """Columns of the job vector of the layout kernel."""

    GB = 0
    SEQ = 1
    LAYERS = 2
    HIDDEN = 3
    VOCAB = 4
    EXPERTS = 5
    TOPK = 6
    LAYER_DENSE = 7
    LAYER_EXPERTS = 8
    EMBED = 9
    ACT = 10
    RESID = 11
    GRAD_COMM = 12
    WEIGHT_COMM = 13
    WEIGHT_BYTES = 14
    GRAD_BYTES = 15
    STATE_BYTES = 16
    WCACHE = 17
    OPT_BYTES = 18
    OPT_PASSES = 19
    OPT_TEMP = 20
    RC = 21
    TDP = 22
    GRADS_LIVE = 23
    EMBED_STAGE = 24
    DP_OVERLAP = 25
    PARAM_OVERLAP = 26
    P2P_OVERLAP = 27
    KV_HEADS = 28
    HEAD_DIM = 29
    LOSS_BYTES = 30


JOB_LEN = len(JobCol)


class EvalCol(IntEnum):
    """Columns of one layout's evaluation."""

    STEP = 0
    STEP_TDP = 1
    CLOCK_TDP = 2
    COMPUTE = 3
    BUBBLE = 4
    TP_COMM = 5
    PP_COMM = 6
    DP_COMM = 7
    ZERO3 = 8
    EP_COMM = 9
    OPT = 10
    MEMORY = 11
    POWER = 12
    MICRO_BATCHES = 13
    PARAMS_LOCAL = 14
    ACTIVATIONS = 15
    CP_COMM = 16
    FORWARD = 17


EVAL_LEN = len(EvalCol)

# Share of DP gradient communication hidden behind the last micro-batch's backward pass
# (Megatron-LM --overlap-grad-reduce buckets: all but the last bucket overlap).
DP_OVERLAP = 0.9
# Share of one micro-batch's stage time that the overlapped DP collectives can run under: the
# gradient reduce-scatter under the last backward (about 2/3 of it, less the last bucket), the
# parameter all-gather under the first forward (about 1/3).
GRAD_WINDOW = 0.6
PARAM_WINDOW = 0.3
# Share of ZeRO-3 per-micro-batch gathers hidden behind compute (FSDP prefetch).
ZERO3_OVERLAP = 0.8
# Bytes per logit of the loss on the last stage (Megatron-LM's vocab-parallel cross entropy):
# the fp32 copy of the logits that softmax overwrites in place and keeps for backward, plus
# the 16-bit gradient it casts back (Korthikanti et al. 2022 section 4.3 count the 4 fp32 bytes).
PARALLEL_LOSS_BYTES_PER_LOGIT = 4.0


def recipe_device_vector(device: DeviceModel, recipe: Recipe) -> np.ndarray:
    """The device vector for a recipe's dtypes, with its stack's GEMM and attention efficiency
    factors applied."""
    prec = recipe.prec
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    dv[DeviceCol.GEMM_FRAC] *= recipe.gemm_scale
    dv[DeviceCol.ATTN_FWD] *= recipe.attention_scale
    dv[DeviceCol.ATTN_BWD] *= recipe.attention_scale
    return dv


def job_vector(model: ModelSpec, recipe: Recipe, global_batch: int, seq: int, tdp_w: float) -> np.ndarray:
    """The job's constants for the layout kernel (model sizes, bytes per parameter, ...)."""
    prec = recipe.prec
    pv = recipe.vector()
    optimizer = recipe.optimizer
    j = np.zeros(JOB_LEN)
    expert = mlp_params_per_expert(model) * model.experts if model.experts > 1 else 0.0
    j[JobCol.GB], j[JobCol.SEQ], j[JobCol.LAYERS], j[JobCol.HIDDEN] = global_batch, seq, model.layers, model.hidden
    j[JobCol.VOCAB], j[JobCol.EXPERTS], j[JobCol.TOPK] = model.vocab, model.experts, model.top_k
    j[JobCol.LAYER_DENSE] = layer_params(model) - expert
    j[JobCol.LAYER_EXPERTS] = expert
    j[JobCol.EMBED] = embedding_params(model)
    # With pipelining the first stage holds the token (+ position) embedding and the last the
    # LM head (its own copy when tied, as Megatron-LM keeps): V*h (+ positions) per end stage.
    positions = (model.max_seq or 2048) * model.hidden if model.position == "learned" else 0
    j[JobCol.EMBED_STAGE] = model.vocab * model.hidden + positions
    j[JobCol.ACT], j[JobCol.RESID] = pv[PrecCol.ACT], pv[PrecCol.RESID]
    j[JobCol.GRAD_COMM] = recipe.grad_comm_bytes or (4.0 if prec.grad_bytes >= 4 else 2.0)
    j[JobCol.WEIGHT_COMM] = recipe.param_comm_bytes or prec.infer_weight_bytes
    j[JobCol.WEIGHT_BYTES], j[JobCol.GRAD_BYTES] = pv[PrecCol.PARAM_BYTES], prec.grad_bytes
    j[JobCol.STATE_BYTES] = pv[PrecCol.STATE_BYTES]
    j[JobCol.WCACHE] = 2.0 if pv[PrecCol.WCAST] > 0 else 0.0
    j[JobCol.OPT_BYTES], j[JobCol.OPT_PASSES] = pv[PrecCol.OPT_BYTES], pv[PrecCol.OPT_PASSES]
    j[JobCol.OPT_TEMP] = 4.0 if optimizer == "adamw-foreach" and prec.weight_bytes >= 4 else 0.0
    j[JobCol.RC] = RECOMPUTE[recipe.recompute]
    j[JobCol.DP_OVERLAP] = DP_OVERLAP if recipe.overlap_grad_reduce else 0.0
    j[JobCol.PARAM_OVERLAP] = DP_OVERLAP if recipe.overlap_param_gather else 0.0
    j[JobCol.P2P_OVERLAP] = 1.0 if recipe.overlap_p2p else 0.0
    j[JobCol.KV_HEADS], j[JobCol.HEAD_DIM] = model.n_kv_heads, model.d_head
    j[JobCol.LOSS_BYTES] = PARALLEL_LOSS_BYTES_PER_LOGIT + pv[PrecCol.ACT]
    j[JobCol.TDP] = tdp_w
    j[JobCol.GRADS_LIVE] = 1.0 if (prec.weight_bytes < 4 or pv[PrecCol.GRAD_CAST] == 0) else 0.0
    return j
