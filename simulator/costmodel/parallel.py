"""Parallel training layouts: TP/CP/PP/DP/SP/EP/ZeRO step time, per-GPU memory, layout search.

A layout splits a model over ``tp * cp * pp * dp`` GPUs (Narayanan et al., SC21):
- tensor parallelism (tp) splits heads and MLP width inside a layer; sequence parallelism
  (sp) also splits norms/residuals over tokens and turns TP all-reduces into all-gathers
  and reduce-scatters (Korthikanti et al., 2022); with TP communication overlap the
  collectives run in chunks under the GEMMs that produce or consume them, so only the first
  chunk (1/tp) and what outlasts the layer's GEMMs stay exposed (Wang et al., ASPLOS 2023,
  "Overlap communication with dependent computation via decomposition"; Transformer Engine
  userbuffers, Megatron-LM ``--tp-comm-overlap``);
- context parallelism (cp) splits every sequence over cp ranks (ring attention): GEMMs and
  activations see s/cp tokens, attention passes keys and values around the ring behind its
  own compute; gradients are reduced over dp*cp replicas;
- pipeline parallelism (pp) gives the first and last stages their own layer counts (or L/pp
  each); the embedding sits on the first stage and the LM head and loss on the last, so the
  slowest stage sets the pace; 1F1B keeps pp micro-batches in flight and idles (pp-1)/m of the
  time, interleaving v chunks per stage cuts that to (pp-1)/(v*m);
- data parallelism (dp) replicates the rest; gradients are all-reduced (ZeRO 0) or
  reduce-scattered with parameters all-gathered (ZeRO 1/2, distributed optimizer), overlapped
  with the backward pass and the next forward as the recipe says; ZeRO 2 reduce-scatters the
  gradients every micro-batch and ZeRO 3 (FSDP) also gathers
  weights every micro-batch;
- expert parallelism (ep) spreads experts, with all-to-all dispatch and combine.

Step time = pipeline compute (with bubble) + exposed communication + optimizer. Per-layer GPU
time comes from the same op tables and device model as single-GPU estimates (one layer played
once, scaled by the layers of a stage). Communication time comes from costmodel/collectives.py
on the job's topology (scale-up domain, then scale-out network).
"""

from __future__ import annotations

import numpy as np

from simulator.costmodel.comm import dp_parts_s, dp_reduce_scatter_s, pp_transfer_s, step_volumes
from simulator.costmodel.device import DeviceCol, DeviceModel
from simulator.costmodel.jit import kernel
from simulator.costmodel.layer_comm import layer_comm
from simulator.costmodel.memory import memory_parts
from simulator.costmodel.ops import (
    K_ATTN_BWD,
    K_ATTN_FWD,
    K_GEMM,
    MAX_LAYER_OPS,
    PH_FWD,
    RC_FULL,
    OpCol,
    fill_layer_cp,
)
from simulator.costmodel.ops_ends import fill_embedding, fill_head
from simulator.costmodel.parallel_inputs import (
    COST_LEN,
    EVAL_LEN,
    GRAD_WINDOW,
    PARAM_WINDOW,
    ZERO3_OVERLAP,
    CostCol,
    EvalCol,
    JobCol,
    job_vector,
    recipe_device_vector,
)
from simulator.costmodel.precision import Recipe
from simulator.costmodel.timeline import RESULT_LEN, ResultCol, busy_power, capped_clock, kernel_times, play
from simulator.costmodel.training import RECOMPUTE, TENSORS_PER_LAYER
from simulator.costmodel.transformer import (
    model_vector,
)
from simulator.domain.layout import LayoutCol, ParallelLayout
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem


@kernel
def _steady_time(ops, n, dv, clock, res):
    """Steady-state time of a table repeated back to back: the slower of host and GPU streams."""
    play(ops, n, dv, clock, False, res)
    return max(res[ResultCol.GPU_BUSY], res[ResultCol.HOST])


@kernel
def _kind_time(ops, n, dv, clock, kind_a, kind_b):
    """GPU time of the rows of one or two kinds (e.g. the GEMMs of a layer)."""
    t = 0.0
    for i in range(n):
        k = ops[i, OpCol.KIND]
        if k in (kind_a, kind_b):
            tc, tm = kernel_times(ops, i, dv, clock)
            t += (dv[DeviceCol.KERNEL_OVERHEAD] + max(tc, tm)) * ops[i, OpCol.COUNT]
    return t


@kernel
def stage_costs(mv, pv, dv, b, s, tp, sp, ep, cp, rc, clock, out):
    """Fill ``out`` (CostCol columns) for one micro-batch of ``b`` sequences of ``s`` tokens
    (s/cp of them on this rank) at ``clock``."""
    ops = np.zeros((3 * MAX_LAYER_OPS, 10))
    res = np.zeros(RESULT_LEN)
    n = fill_layer_cp(ops, 0, mv, pv, b, s, tp, sp, ep, 0, rc, cp)
    saved = 0.0
    for i in range(n):
        if ops[i, OpCol.PHASE] == PH_FWD:
            saved += ops[i, OpCol.SAVED]
    out[CostCol.LAYER_F] = _steady_time(ops, n, dv, clock, res)
    n = fill_layer_cp(ops, n, mv, pv, b, s, tp, sp, ep, 1, rc, cp)
    out[CostCol.LAYER] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.LAYER_C] = res[ResultCol.BUSY_C]
    out[CostCol.LAYER_M] = res[ResultCol.BUSY_M]
    out[CostCol.LAYER_B] = res[ResultCol.COMPUTE]
    out[CostCol.LAYER_GEMM] = _kind_time(ops, n, dv, clock, K_GEMM, K_GEMM)
    out[CostCol.LAYER_ATTN] = _kind_time(ops, n, dv, clock, K_ATTN_FWD, K_ATTN_BWD)
    s_loc = s / cp
    n = fill_embedding(ops, 0, mv, pv, b, s_loc, tp, 0)
    out[CostCol.EMB_F] = _steady_time(ops, n, dv, clock, res)
    n = fill_embedding(ops, n, mv, pv, b, s_loc, tp, 1)
    out[CostCol.EMB] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.EMB_C] = res[ResultCol.BUSY_C]
    out[CostCol.EMB_M] = res[ResultCol.BUSY_M]
    out[CostCol.EMB_B] = res[ResultCol.COMPUTE]
    n = fill_head(ops, 0, mv, pv, b, s_loc, tp, sp, 0, b * s_loc)
    out[CostCol.HEAD_F] = _steady_time(ops, n, dv, clock, res)
    n = fill_head(ops, n, mv, pv, b, s_loc, tp, sp, 1, b * s_loc)
    out[CostCol.HEAD] = _steady_time(ops, n, dv, clock, res)
    out[CostCol.HEAD_C] = res[ResultCol.BUSY_C]
    out[CostCol.HEAD_M] = res[ResultCol.BUSY_M]
    out[CostCol.HEAD_B] = res[ResultCol.COMPUTE]
    out[CostCol.SAVED] = saved


@kernel
def _optimizer_time(params, tensors, job, dv):
    """Multi-tensor optimizer kernels over ``params`` local parameters (see ops.fill_optimizer)."""
    launches = max(np.ceil(tensors / 110.0), np.ceil(params / 20971520.0)) * job[JobCol.OPT_PASSES]
    per_launch = ((job[JobCol.OPT_BYTES] * params / launches + dv[DeviceCol.MEM_HALF]) / dv[DeviceCol.MEM_BW]
                  + dv[DeviceCol.KERNEL_OVERHEAD])
    return launches * max(per_launch, dv[DeviceCol.HOST_OP]), launches * (per_launch - dv[DeviceCol.KERNEL_OVERHEAD])


@kernel
def compute_bound_clock(dv, cap_w):
    """Clock at which compute-bound work alone draws ``cap_w``: idle + (P_compute - idle) *
    clock^alpha = cap (timeline.busy_power with the compute units always busy), at most 1."""
    idle = dv[DeviceCol.IDLE_W]
    above = dv[DeviceCol.COMPUTE_W] - idle
    if above <= 0.0 or cap_w >= dv[DeviceCol.COMPUTE_W]:
        return 1.0
    return max((cap_w - idle) / above, 1e-6) ** (1.0 / dv[DeviceCol.DVFS])


@kernel
def _overlapped(t, share, window):
    """Exposed time of a collective of ``t`` seconds of which ``share`` can run under ``window``
    seconds of compute."""
    return max(t - share * window, (1.0 - share) * t)


@kernel
def _activations(layers, in_flight, kept_per_layer, saved_per_layer, full):
    """Activation bytes of a stage holding ``in_flight`` micro-batches of ``layers`` layers:
    every layer's saved tensors, or with full recomputation each layer's input plus one
    layer's tensors re-created during its backward."""
    if full:
        return layers * kept_per_layer * in_flight + saved_per_layer
    return layers * saved_per_layer * in_flight


@kernel
def evaluate_layout(lay, cost, job, dv, tiers, domain, clock, out, scratch, lc):
    """Step time breakdown, power and per-GPU memory of one layout (fills ``out``, EvalCol columns).

    ``cost`` holds the layout's stage costs at ``clock``; step time at the board's TDP assumes
    compute-bound time stretches as 1/clock (timeline.capped_clock). ``scratch`` is a (3, 9)
    work array (no allocation in the search loop); ``lc`` (4 floats) the layer communication of
    the layout's cost key and TP-overlap flag, filled here when ``lc[0]`` is 0 (costmodel/layer_comm.py).
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
    cp = lay[LayoutCol.CP]
    layers = job[JobCol.LAYERS]
    m = np.floor(job[JobCol.GB] / (b * dp))
    # Layers of the first, each middle and the last stage.
    l_first = layers
    l_mid = layers
    l_last = layers
    if pp > 1:
        first = lay[LayoutCol.FIRST]
        last = lay[LayoutCol.LAST]
        given = (1.0 if first > 0 else 0.0) + (1.0 if last > 0 else 0.0)
        l_mid = np.ceil((layers - first - last) / (pp - given)) if pp > given else 0.0
        l_first = first if first > 0 else l_mid
        l_last = last if last > 0 else l_mid
    full = job[JobCol.RC] == RC_FULL

    tokens = b * job[JobCol.SEQ] / cp
    s_bytes = tokens * job[JobCol.HIDDEN] * job[JobCol.ACT]
    passes = 3.0 if full else 2.0
    if lc[0] == 0.0:
        layer_comm(lay, cost, job, tiers, domain, group, lc)
    tp_x = lc[1]
    ep_t = lc[2]
    cp_x = lc[3]
    per_layer_t = cost[CostCol.LAYER] + tp_x + ep_t + cp_x
    t_first = l_first * per_layer_t + cost[CostCol.EMB] + (cost[CostCol.HEAD] if pp == 1 else 0.0)
    t_last = l_last * per_layer_t + (cost[CostCol.HEAD] if pp > 1 else 0.0)
    t_stage = max(t_first, t_last)
    if pp > 2:
        t_stage = max(t_stage, l_mid * per_layer_t)

    hop = 0.0
    hop_x = 0.0
    if pp > 1:
        hop = pp_transfer_s(tiers, domain, tp, cp, dp, sp, s_bytes, group)
        hop_x = 2.0 * hop                       # per chunk: activation forward, gradient backward
        if v > 1 and job[JobCol.P2P_OVERLAP] > 0.5:
            hop_x = max(hop_x - t_stage / v, 0.0)
    t_unit = t_stage + v * hop_x
    bubble = (pp - 1.0) / v * t_unit
    pipe = m * t_unit + bubble

    per_layer = job[JobCol.LAYER_DENSE] / tp + job[JobCol.LAYER_EXPERTS] / (tp * ep)
    if pp == 1:
        p_first = layers * per_layer + job[JobCol.EMBED] / tp
        p_last = p_first
        p_mid = p_first
    else:
        p_first = l_first * per_layer + job[JobCol.EMBED_STAGE] / tp
        p_last = l_last * per_layer + job[JobCol.EMBED_STAGE] / tp
        p_mid = l_mid * per_layer
    params = max(p_first, p_last, p_mid)
    dpg = dp * cp                               # gradients are reduced over data and context ranks
    grad_t, gather_t = dp_parts_s(tiers, domain, dpg, tp, zero, params * job[JobCol.GRAD_COMM],
                                  params * job[JobCol.WEIGHT_COMM], group)
    exposed_dp = 0.0
    if dpg > 1:
        # Once a step: gradients reduce under the last backward and the pipeline's cool-down
        # (ZeRO 0/1; ZeRO 2/3 reduce-scatter them every micro-batch instead), parameters gather
        # under the first forward and the warm-up (ZeRO 1/2; ZeRO 3 gathers every micro-batch).
        if zero < 2:
            exposed_dp += _overlapped(grad_t, job[JobCol.DP_OVERLAP], GRAD_WINDOW * t_stage + 0.5 * bubble)
        if zero < 3:
            exposed_dp += _overlapped(gather_t, job[JobCol.PARAM_OVERLAP], PARAM_WINDOW * t_stage + 0.5 * bubble)
    zero3 = 0.0
    if zero >= 2 and dpg > 1:
        # Per micro-batch: reduce-scatter the 16-bit gradients (ZeRO 2 keeps only its shard of
        # them) and, with ZeRO 3, gather the weights for forward and again for backward (what
        # the step's parameter all-gather costs, each).
        gathers = 2.0 * gather_t if zero >= 3 else 0.0
        reduce = grad_t if job[JobCol.GRAD_COMM] == 2.0 else dp_reduce_scatter_s(tiers, domain, dpg, tp,
                                                                                  params * 2.0, group)
        og = 1.0 if job[JobCol.PARAM_OVERLAP] > 0.0 else 0.0
        orr = 1.0 if job[JobCol.DP_OVERLAP] > 0.0 else 0.0
        hideable = gathers * og + reduce * orr
        zero3 = m * ((gathers + reduce - hideable) + max(hideable - ZERO3_OVERLAP * t_stage, 0.0))
    shard = dpg if zero >= 1 else 1.0
    t_opt, opt_mem = _optimizer_time(params / shard, max(l_first, l_mid, l_last) * TENSORS_PER_LAYER + 4.0, job, dv)
    step = pipe + exposed_dp + zero3 + t_opt

    # Power of the average GPU: its share of the layers, embedding and head.
    l_avg = layers / pp
    work_c = l_avg * cost[CostCol.LAYER_C] + (cost[CostCol.EMB_C] + cost[CostCol.HEAD_C]) / pp
    work_m = l_avg * cost[CostCol.LAYER_M] + (cost[CostCol.EMB_M] + cost[CostCol.HEAD_M]) / pp
    work_b = l_avg * cost[CostCol.LAYER_B] + (cost[CostCol.EMB_B] + cost[CostCol.HEAD_B]) / pp
    busy_c = min(m * work_c, step)
    busy_m = min(m * work_m + opt_mem, step)
    bound_c = min(m * work_b, step)
    power = busy_power(step, busy_c, busy_m, dv, clock)
    # The board's power limiter acts within milliseconds, far inside one step: the GEMMs of a
    # layer (tens of ms) run at the clock that holds a stream of compute-bound kernels at TDP
    # (0.893 of the burst clock for the measured H100, device.py), however much of the step is
    # memory-bound or waiting on the network; the step-average limit can only lower it further.
    tdp = job[JobCol.TDP]
    c_tdp = 1.0
    if bound_c > 0.0:
        c_tdp = compute_bound_clock(dv, tdp)
    if busy_power(step + bound_c * (1.0 / c_tdp - 1.0), busy_c / c_tdp, busy_m, dv, c_tdp) > tdp:
        c_tdp = min(c_tdp, capped_clock(step, bound_c, busy_c, busy_m, dv, tdp))

    # Memory: under 1F1B stage i holds min(pp - i, m) micro-batches in flight (more when
    # interleaved: Korthikanti et al. 2022 section 4.2.3); the last stage holds one plus the loss.
    spread = 1.0
    if v > 1:
        spread = 1.0 + (pp - 1.0) / (pp * v)
    kept = job[JobCol.RESID] * tokens * job[JobCol.HIDDEN] / (tp if sp > 0.5 else 1.0)
    saved = cost[CostCol.SAVED]
    loss = tokens * job[JobCol.VOCAB] / tp * job[JobCol.LOSS_BYTES]
    live = job[JobCol.GRADS_LIVE] > 0.5 or m > 1
    act_first = _activations(l_first, min(pp, m) * spread, kept, saved, full)
    memory_parts(p_first, job[JobCol.WEIGHT_BYTES], job[JobCol.GRAD_BYTES], job[JobCol.STATE_BYTES],
                 job[JobCol.WCACHE], act_first + (loss if pp == 1 else 0.0), 0.0, job[JobCol.OPT_TEMP], live,
                 zero, dpg, parts)
    peak = parts[7]
    if pp > 2:
        act_mid = _activations(l_mid, min(pp - 1.0, m) * spread, kept, saved, full)
        memory_parts(p_mid, job[JobCol.WEIGHT_BYTES], job[JobCol.GRAD_BYTES], job[JobCol.STATE_BYTES],
                     job[JobCol.WCACHE], act_mid, 0.0, job[JobCol.OPT_TEMP], live, zero, dpg, parts)
        peak = max(peak, parts[7])
    if pp > 1:
        act_last = _activations(l_last, 1.0, kept, saved, full)
        memory_parts(p_last, job[JobCol.WEIGHT_BYTES], job[JobCol.GRAD_BYTES], job[JobCol.STATE_BYTES],
                     job[JobCol.WCACHE], act_last, loss, job[JobCol.OPT_TEMP], live, zero, dpg, parts)
        peak = max(peak, parts[7])

    out[EvalCol.STEP] = step
    out[EvalCol.STEP_TDP] = step + busy_c * (1.0 / c_tdp - 1.0)
    out[EvalCol.CLOCK_TDP] = c_tdp
    out[EvalCol.COMPUTE] = m * t_stage
    out[EvalCol.BUBBLE] = bubble
    out[EvalCol.TP_COMM] = m * tp_x * max(l_first, l_mid, l_last)
    out[EvalCol.PP_COMM] = (m + (pp - 1.0) / v) * v * hop_x
    out[EvalCol.DP_COMM] = exposed_dp
    out[EvalCol.ZERO3] = zero3
    out[EvalCol.EP_COMM] = m * ep_t * max(l_first, l_mid, l_last)
    out[EvalCol.OPT] = t_opt
    out[EvalCol.MEMORY] = peak
    out[EvalCol.POWER] = power
    out[EvalCol.MICRO_BATCHES] = m
    out[EvalCol.PARAMS_LOCAL] = params
    out[EvalCol.ACTIVATIONS] = act_first
    out[EvalCol.CP_COMM] = m * cp_x * max(l_first, l_mid, l_last)
    # A forward-only pass over one global batch (evaluation): the same pipeline, forward costs
    # and half the TP/CP/EP communication and transfers.
    fwd_layer = cost[CostCol.LAYER_F] + 0.5 * (tp_x + ep_t + cp_x) * (2.0 / passes)
    f_first = l_first * fwd_layer + cost[CostCol.EMB_F] + (cost[CostCol.HEAD_F] if pp == 1 else 0.0)
    f_stage = max(f_first, l_last * fwd_layer + (cost[CostCol.HEAD_F] if pp > 1 else 0.0), l_mid * fwd_layer)
    f_unit = f_stage + v * 0.5 * hop_x
    out[EvalCol.FORWARD] = (m + (pp - 1.0) / v) * f_unit


@kernel
def evaluate_layouts(layouts, costs, job, dv, tiers, domain, clock, out):
    """``evaluate_layout`` over every row of ``layouts`` (the layout-search kernel)."""
    scratch = np.zeros((3, 9))
    layer = np.zeros((2 * costs.shape[0], 4))     # per (cost key, TP overlap): layer_comm
    for i in range(layouts.shape[0]):
        k = int(layouts[i, LayoutCol.COST])
        row = 2 * k + (1 if layouts[i, LayoutCol.TPO] > 0.5 else 0)
        evaluate_layout(layouts[i], costs[k], job, dv, tiers, domain, clock, out[i], scratch, layer[row])


EVAL_NAMES = ("step_time_s", "step_time_at_tdp_s", "clock_at_tdp", "compute_s", "bubble_s", "tp_comm_s",
              "pp_comm_s", "dp_comm_exposed_s", "zero3_comm_exposed_s", "ep_comm_s", "optimizer_s",
              "peak_memory_bytes", "power_w", "micro_batches", "params_local", "activations_bytes", "cp_comm_s",
              "forward_s")
assert len(EVAL_NAMES) == EVAL_LEN


def evaluate(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
             layout: ParallelLayout, recipe: Recipe, comm, clock: float = 1.0) -> dict:
    """Step-time breakdown, power and per-GPU memory of one layout at one clock."""
    if layout.gpus != gpus:
        raise InputError([Problem("layout", f"tp*cp*pp*dp = {layout.gpus} but gpus = {gpus}")])
    prec = recipe.prec
    pv = recipe.vector()
    mv = model_vector(model)
    dv = recipe_device_vector(device, recipe)
    cost = np.zeros(COST_LEN)
    stage_costs(mv, pv, dv, float(layout.micro_batch), float(seq), float(layout.tp), float(layout.sp),
                float(layout.ep), float(layout.cp), RECOMPUTE[recipe.recompute], clock, cost)
    job = job_vector(model, recipe, global_batch, seq, device.spec.tdp)
    out = np.zeros(EVAL_LEN)
    evaluate_layout(layout.to_row(), cost, job, dv, comm.tiers, float(comm.scaleup_domain), clock, out,
                    np.zeros((3, 9)), np.zeros(4))
    result = {k: float(out[i]) for i, k in enumerate(EVAL_NAMES)}
    result["micro_batches"] = int(result["micro_batches"])
    first, middle, last = layout.stage_layers(model.layers)
    result["comm_bytes_per_gpu"] = step_volumes(
        layout, comm.scaleup_domain, result["micro_batches"], max(first, middle, last),
        layout.micro_batch * seq / layout.cp * model.hidden * prec.act_bytes, result["params_local"],
        job[JobCol.GRAD_COMM], job[JobCol.WEIGHT_COMM], model.top_k, model.experts, recipe.recompute == "full",
        2.0 * layout.micro_batch * seq / layout.cp * max(model.n_kv_heads, layout.tp) * model.d_head / layout.tp
        * prec.act_bytes)
    return result
