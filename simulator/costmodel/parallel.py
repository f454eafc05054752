"""Parallel training layouts: TP/PP/DP/SP/EP/ZeRO step time, per-GPU memory, layout search.

A layout splits a model over ``tp * pp * dp`` GPUs (Narayanan et al., SC21):
- tensor parallelism (tp) splits heads and MLP width inside a layer; sequence parallelism
  (sp) also splits norms/residuals over tokens and turns TP all-reduces into all-gathers
  and reduce-scatters (Korthikanti et al., 2022);
- pipeline parallelism (pp) gives each stage L/pp layers; 1F1B keeps pp micro-batches in
  flight and idles (pp-1)/m of the time, interleaving v chunks per stage cuts that to
  (pp-1)/(v*m);
- data parallelism (dp) replicates the rest; gradients are all-reduced (ZeRO 0) or
  reduce-scattered with parameters all-gathered (ZeRO 1/2, distributed optimizer), both
  overlapped with the backward pass; ZeRO 3 (FSDP) also gathers weights every micro-batch;
- expert parallelism (ep) spreads experts, with all-to-all dispatch and combine.

Step time = pipeline compute (with bubble) + exposed communication + optimizer. Per-layer GPU
time comes from the same op tables and device model as single-GPU estimates (one layer played
once, scaled by the layers of a stage). Communication time comes from costmodel/collectives.py
on the job's topology (scale-up domain, then scale-out network).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from simulator.costmodel.comm import dp_step_s, ep_comm_s, pp_hop_s, step_volumes, tp_comm_s, zero3_micro_batch_s
from simulator.costmodel.device import DeviceCol, DeviceModel
from simulator.costmodel.memory import memory_parts
from simulator.costmodel.ops import MAX_LAYER_OPS, PH_FWD, RC_FULL, OpCol, fill_embedding, fill_head, fill_layer
from simulator.costmodel.precision import PrecCol, Recipe
from simulator.costmodel.timeline import RESULT_LEN, ResultCol, busy_power, capped_clock, play
from simulator.costmodel.training import RECOMPUTE, TENSORS_PER_LAYER
from simulator.costmodel.transformer import (
    embedding_params,
    layer_params,
    mlp_params_per_expert,
    model_vector,
)
from simulator.domain.layout import LayoutCol, ParallelLayout
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem


class CostCol(IntEnum):
    """Stage-cost columns, per micro-batch at one clock: GPU time of one layer / the embedding /
    the head and loss (fwd+bwd), the compute- and memory-busy time of each (for power), their
    compute-bound time (stretches with the clock) and the saved activation bytes per layer."""

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


EVAL_LEN = len(EvalCol)

# Share of DP gradient communication hidden behind the last micro-batch's backward pass
# (Megatron-LM --overlap-grad-reduce buckets: all but the last bucket overlap).
DP_OVERLAP = 0.9
# Share of ZeRO-3 per-micro-batch gathers hidden behind compute (FSDP prefetch).
ZERO3_OVERLAP = 0.8


@njit(cache=True)
def _steady_time(ops, n, dv, clock, res):
    """Steady-state time of a table repeated back to back: the slower of host and GPU streams."""
    play(ops, n, dv, clock, False, res)
    return max(res[ResultCol.GPU_BUSY], res[ResultCol.HOST])


@njit(cache=True)
def stage_costs(mv, pv, dv, b, s, tp, sp, ep, rc, clock, out):
    """Fill ``out`` (C_* columns) for one micro-batch of ``b`` sequences at ``clock``."""
    ops = np.zeros((3 * MAX_LAYER_OPS, 10))
    res = np.zeros(RESULT_LEN)
    n = fill_layer(ops, 0, mv, pv, b, s, tp, sp, ep, 0, rc)
    saved = 0.0
    for i in range(n):
        if ops[i, OpCol.PHASE] == PH_FWD:
            saved += ops[i, OpCol.SAVED]
    n = fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, 1, rc)
    out[CostCol.LAYER] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.LAYER_C] = res[ResultCol.BUSY_C]
    out[CostCol.LAYER_M] = res[ResultCol.BUSY_M]
    out[CostCol.LAYER_B] = res[ResultCol.COMPUTE]
    n = fill_embedding(ops, 0, mv, pv, b, s, tp, 0)
    n = fill_embedding(ops, n, mv, pv, b, s, tp, 1)
    out[CostCol.EMB] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.EMB_C] = res[ResultCol.BUSY_C]
    out[CostCol.EMB_M] = res[ResultCol.BUSY_M]
    out[CostCol.EMB_B] = res[ResultCol.COMPUTE]
    n = fill_head(ops, 0, mv, pv, b, s, tp, sp, 0, b * s)
    n = fill_head(ops, n, mv, pv, b, s, tp, sp, 1, b * s)
    out[CostCol.HEAD] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.HEAD_C] = res[ResultCol.BUSY_C]
    out[CostCol.HEAD_M] = res[ResultCol.BUSY_M]
    out[CostCol.HEAD_B] = res[ResultCol.COMPUTE]
    out[CostCol.SAVED] = saved


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
    j[JobCol.GRAD_COMM] = 4.0 if prec.grad_bytes >= 4 else 2.0
    j[JobCol.WEIGHT_COMM] = prec.infer_weight_bytes
    j[JobCol.WEIGHT_BYTES], j[JobCol.GRAD_BYTES] = pv[PrecCol.PARAM_BYTES], prec.grad_bytes
    j[JobCol.STATE_BYTES] = pv[PrecCol.STATE_BYTES]
    j[JobCol.WCACHE] = 2.0 if pv[PrecCol.WCAST] > 0 else 0.0
    j[JobCol.OPT_BYTES], j[JobCol.OPT_PASSES] = pv[PrecCol.OPT_BYTES], pv[PrecCol.OPT_PASSES]
    j[JobCol.OPT_TEMP] = 4.0 if optimizer == "adamw-foreach" and prec.weight_bytes >= 4 else 0.0
    j[JobCol.RC] = RECOMPUTE[recipe.recompute]
    j[JobCol.DP_OVERLAP] = DP_OVERLAP if recipe.overlap_grad_reduce else 0.0
    j[JobCol.TDP] = tdp_w
    j[JobCol.GRADS_LIVE] = 1.0 if (prec.weight_bytes < 4 or pv[PrecCol.GRAD_CAST] == 0) else 0.0
    return j


@njit(cache=True)
def _optimizer_time(params, tensors, job, dv):
    """Multi-tensor optimizer kernels over ``params`` local parameters (see ops.fill_optimizer)."""
    launches = max(np.ceil(tensors / 110.0), np.ceil(params / 20971520.0)) * job[JobCol.OPT_PASSES]
    per_launch = job[JobCol.OPT_BYTES] * params / launches / dv[DeviceCol.MEM_BW] + dv[DeviceCol.KERNEL_OVERHEAD]
    return launches * max(per_launch, dv[DeviceCol.HOST_OP]), launches * (per_launch - dv[DeviceCol.KERNEL_OVERHEAD])


@njit(cache=True)
def evaluate_layout(lay, cost, job, dv, tiers, domain, clock, out, scratch):
    """Step time breakdown, power and per-GPU memory of one layout (fills ``out``, E_* columns).

    ``cost`` holds the layout's stage costs at ``clock``; step time at the board's TDP assumes
    compute-bound time stretches as 1/clock (timeline.capped_clock). ``scratch`` is a (3, 9)
    work array (no allocation in the search loop).
    """
    group = scratch[0]
    parts = scratch[2]
    tp = lay[LayoutCol.TP]
    pp = lay[LayoutCol.PP]
    dp = lay[LayoutCol.DP]
    ep = lay[LayoutCol.EP]
    zero = lay[LayoutCol.ZERO]
    v = lay[LayoutCol.V]
    sp = lay[LayoutCol.SP]
    b = lay[LayoutCol.MB]
    layers = job[JobCol.LAYERS]
    m = np.floor(job[JobCol.GB] / (b * dp))
    lps = np.ceil(layers / pp)
    t_first = lps * cost[CostCol.LAYER] + cost[CostCol.EMB] + (cost[CostCol.HEAD] if pp == 1 else 0.0)
    t_last = lps * cost[CostCol.LAYER] + (cost[CostCol.HEAD] if pp > 1 else 0.0)

    s_bytes = b * job[JobCol.SEQ] * job[JobCol.HIDDEN] * job[JobCol.ACT]
    passes = 3.0 if job[JobCol.RC] == RC_FULL else 2.0
    tp_t = tp_comm_s(tiers, domain, tp, sp, s_bytes, passes, group)
    ep_t = 0.0
    if job[JobCol.EXPERTS] > 1.5:
        ep_t = ep_comm_s(tiers, domain, ep, tp, job[JobCol.TOPK] * s_bytes / tp, group)
    hop = 0.0
    if pp > 1:
        hop = pp_hop_s(tiers, domain, tp, dp, s_bytes / tp if sp > 0.5 else s_bytes, group)
    t_stage = max(t_first, t_last) + (tp_t + ep_t) * lps
    t_unit = t_stage + 2.0 * v * hop          # each of the v chunks sends and receives
    bubble = (pp - 1.0) / v * t_unit
    pipe = m * t_unit + bubble

    per_layer = job[JobCol.LAYER_DENSE] / tp + job[JobCol.LAYER_EXPERTS] / (tp * ep)
    embed = (job[JobCol.EMBED] if pp == 1 else job[JobCol.EMBED_STAGE]) / tp
    params = lps * per_layer + embed
    dp_t = dp_step_s(tiers, domain, dp, tp, zero, params * job[JobCol.GRAD_COMM],
                     params * job[JobCol.WEIGHT_COMM], group)
    exposed_dp = 0.0
    if dp > 1:
        exposed_dp = max(dp_t - job[JobCol.DP_OVERLAP] * 0.6 * t_stage, (1.0 - job[JobCol.DP_OVERLAP]) * dp_t)
    zero3 = 0.0
    if zero >= 3 and dp > 1:
        z3 = zero3_micro_batch_s(tiers, domain, dp, tp, params * job[JobCol.WEIGHT_COMM], params * 2.0, group)
        zero3 = m * max(z3 - ZERO3_OVERLAP * t_stage, 0.0)
    shard = dp if zero >= 1 else 1.0
    t_opt, opt_mem = _optimizer_time(params / shard, lps * TENSORS_PER_LAYER + 4.0, job, dv)
    step = pipe + exposed_dp + zero3 + t_opt

    busy_c = min(m * (lps * cost[CostCol.LAYER_C] + cost[CostCol.EMB_C] + cost[CostCol.HEAD_C]), step)
    busy_m = min(m * (lps * cost[CostCol.LAYER_M] + cost[CostCol.EMB_M] + cost[CostCol.HEAD_M]) + opt_mem, step)
    bound_c = min(m * (lps * cost[CostCol.LAYER_B] + cost[CostCol.EMB_B] + cost[CostCol.HEAD_B]), step)
    power = busy_power(step, busy_c, busy_m, dv, clock)
    c_tdp = capped_clock(step, bound_c, busy_c, busy_m, dv, job[JobCol.TDP])

    # Memory: the first stage holds min(pp, m) micro-batches in flight under 1F1B (more when
    # interleaved); the last stage holds one plus the loss buffers.
    in_flight = min(pp, m)
    if v > 1:
        in_flight *= 1.0 + (pp - 1.0) / (pp * v)
    tokens = b * job[JobCol.SEQ]
    if job[JobCol.RC] == RC_FULL:
        kept = lps * job[JobCol.RESID] * tokens * job[JobCol.HIDDEN] / (tp if sp > 0.5 else 1.0)
        act_first = kept * in_flight + cost[CostCol.SAVED]
        act_last = kept + cost[CostCol.SAVED]
    else:
        act_first = lps * cost[CostCol.SAVED] * in_flight
        act_last = lps * cost[CostCol.SAVED]
    loss = tokens * job[JobCol.VOCAB] / tp * (job[JobCol.ACT] + 8.0)
    live = job[JobCol.GRADS_LIVE] > 0.5 or m > 1
    memory_parts(params, job[JobCol.WEIGHT_BYTES], job[JobCol.GRAD_BYTES], job[JobCol.STATE_BYTES], job[JobCol.WCACHE],
                 act_first + (loss if pp == 1 else 0.0), 0.0, job[JobCol.OPT_TEMP], live, zero, dp, parts)
    peak = parts[7]
    if pp > 1:
        memory_parts(params, job[JobCol.WEIGHT_BYTES], job[JobCol.GRAD_BYTES], job[JobCol.STATE_BYTES],
                     job[JobCol.WCACHE], act_last, loss, job[JobCol.OPT_TEMP], live, zero, dp, parts)
        peak = max(peak, parts[7])

    out[EvalCol.STEP] = step
    out[EvalCol.STEP_TDP] = step + busy_c * (1.0 / c_tdp - 1.0)
    out[EvalCol.CLOCK_TDP] = c_tdp
    out[EvalCol.COMPUTE] = m * max(t_first, t_last)
    out[EvalCol.BUBBLE] = bubble
    out[EvalCol.TP_COMM] = m * tp_t * lps
    out[EvalCol.PP_COMM] = (m + pp - 1.0) * 2.0 * v * hop
    out[EvalCol.DP_COMM] = exposed_dp
    out[EvalCol.ZERO3] = zero3
    out[EvalCol.EP_COMM] = m * ep_t * lps
    out[EvalCol.OPT] = t_opt
    out[EvalCol.MEMORY] = peak
    out[EvalCol.POWER] = power
    out[EvalCol.MICRO_BATCHES] = m
    out[EvalCol.PARAMS_LOCAL] = params
    out[EvalCol.ACTIVATIONS] = act_first


@njit(cache=True)
def evaluate_layouts(layouts, costs, job, dv, tiers, domain, clock, out):
    """``evaluate_layout`` over every row of ``layouts`` (the layout-search kernel)."""
    scratch = np.zeros((3, 9))
    for i in range(layouts.shape[0]):
        evaluate_layout(layouts[i], costs[int(layouts[i, LayoutCol.COST])], job, dv, tiers, domain, clock, out[i],
                        scratch)


def evaluate(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
             layout: ParallelLayout, recipe: Recipe, comm, clock: float = 1.0) -> dict:
    """Step-time breakdown, power and per-GPU memory of one layout at one clock."""
    if layout.gpus != gpus:
        raise InputError([Problem("layout", f"tp*pp*dp = {layout.gpus} but gpus = {gpus}")])
    prec = recipe.prec
    pv = recipe.vector()
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    cost = np.zeros(COST_LEN)
    stage_costs(mv, pv, dv, float(layout.micro_batch), float(seq), float(layout.tp), float(layout.sp),
                float(layout.ep), RECOMPUTE[recipe.recompute], clock, cost)
    job = job_vector(model, recipe, global_batch, seq, device.spec.tdp)
    out = np.zeros(EVAL_LEN)
    evaluate_layout(layout.to_row(), cost, job, dv, comm.tiers, float(comm.scaleup_domain), clock, out,
                    np.zeros((3, 9)))
    names = ("step_time_s", "step_time_at_tdp_s", "clock_at_tdp", "compute_s", "bubble_s", "tp_comm_s",
             "pp_comm_s", "dp_comm_exposed_s", "zero3_comm_exposed_s", "ep_comm_s", "optimizer_s",
             "peak_memory_bytes", "power_w", "micro_batches", "params_local", "activations_bytes")
    result = {k: float(out[i]) for i, k in enumerate(names)}
    result["micro_batches"] = int(result["micro_batches"])
    result["comm_bytes_per_gpu"] = step_volumes(
        layout, comm.scaleup_domain, result["micro_batches"], -(-model.layers // layout.pp),
        layout.micro_batch * seq * model.hidden * prec.act_bytes, result["params_local"],
        job[JobCol.GRAD_COMM], job[JobCol.WEIGHT_COMM], model.top_k, model.experts, recipe.recompute == "full")
    return result
