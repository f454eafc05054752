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

import dataclasses
from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit

from simulator.costmodel import memory as mem
from simulator.costmodel.comm import dp_step_s, ep_comm_s, pp_hop_s, step_volumes, tp_comm_s, zero3_micro_batch_s
from simulator.costmodel.device import D_HOST_OP, D_KERNEL_OVERHEAD, D_MEM_BW, DeviceModel
from simulator.costmodel.memory import memory_parts
from simulator.costmodel.ops import (
    MAX_LAYER_OPS,
    OP_PHASE,
    OP_SAVED,
    PH_FWD,
    RC_FULL,
    fill_embedding,
    fill_head,
    fill_layer,
)
from simulator.costmodel.precision import (
    P_ACT,
    P_GRAD_CAST,
    P_OPT_BYTES,
    P_OPT_PASSES,
    P_PARAM_BYTES,
    P_RESID,
    P_STATE_BYTES,
    P_WCAST,
    Recipe,
)
from simulator.costmodel.timeline import (
    R_BUSY_C,
    R_BUSY_M,
    R_COMPUTE,
    R_GPU_BUSY,
    R_HOST,
    RESULT_LEN,
    busy_power,
    capped_clock,
    duty_cycle_stretch,
    play,
)
from simulator.costmodel.training import RECOMPUTE, TENSORS_PER_LAYER
from simulator.costmodel.transformer import (
    embedding_params,
    layer_params,
    mlp_params_per_expert,
    model_flops_per_step,
    model_vector,
)
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError, InputError, Problem

# Layout columns (int-valued floats); L_COST indexes the stage-cost table.
L_TP, L_PP, L_DP, L_EP, L_ZERO, L_V, L_SP, L_MB, L_COST = range(9)
LAYOUT_LEN = 9

# Stage-cost columns (per micro-batch, at one clock): GPU time of one layer (fwd+bwd), of the
# embedding, of the head+loss; their compute-/memory-bound busy times; saved bytes per layer.
# Per micro-batch: time of a layer / embedding / head (fwd+bwd), the compute- and memory-busy
# time of each (for power), compute-bound time (stretches with the clock), saved activations.
(C_LAYER, C_EMB, C_HEAD, C_LAYER_C, C_LAYER_M, C_EMB_C, C_EMB_M, C_HEAD_C, C_HEAD_M, C_SAVED,
 C_LAYER_B, C_EMB_B, C_HEAD_B) = range(13)
COST_LEN = 13

# Job-vector indices.
(J_GB, J_SEQ, J_LAYERS, J_HIDDEN, J_VOCAB, J_EXPERTS, J_TOPK, J_LAYER_DENSE, J_LAYER_EXPERTS,
 J_EMBED, J_ACT, J_RESID, J_GRAD_COMM, J_WEIGHT_COMM, J_WEIGHT_BYTES, J_GRAD_BYTES, J_STATE_BYTES,
 J_WCACHE, J_OPT_BYTES, J_OPT_PASSES, J_OPT_TEMP, J_RC, J_TDP, J_GRADS_LIVE, J_EMBED_STAGE,
 J_DP_OVERLAP) = range(26)
JOB_LEN = 26

# Evaluation columns.
(E_STEP, E_STEP_TDP, E_CLOCK_TDP, E_COMPUTE, E_BUBBLE, E_TP_COMM, E_PP_COMM, E_DP_COMM, E_ZERO3,
 E_EP_COMM, E_OPT, E_MEMORY, E_POWER, E_MICRO_BATCHES, E_PARAMS_LOCAL, E_ACTIVATIONS) = range(16)
EVAL_LEN = 16

# Share of DP gradient communication hidden behind the last micro-batch's backward pass
# (Megatron-LM --overlap-grad-reduce buckets: all but the last bucket overlap).
DP_OVERLAP = 0.9
# Share of ZeRO-3 per-micro-batch gathers hidden behind compute (FSDP prefetch).
ZERO3_OVERLAP = 0.8

DEFAULT_CLOCKS = np.linspace(0.1, 1.0, 19)

@dataclass(frozen=True)
class TrainingPlan:
    """A training job's chosen layout and its costs, computed once, replayed by the engine."""

    layout: dict
    clocks: np.ndarray
    step_time_s: np.ndarray
    gpu_power_w: np.ndarray
    peak_memory_bytes: float
    usable_memory_bytes: float
    model_flops_per_step: float
    tokens_per_step: float
    mfu: float
    tdp_w: float = float("inf")
    breakdown: dict = field(default_factory=dict)
    layouts_evaluated: int = 1
    network_shares: np.ndarray = field(default_factory=lambda: np.ones(1))
    step_time_by_share: np.ndarray | None = None
    power_by_share: np.ndarray | None = None
    idle_w: float = 0.0

    def _row(self, steps: np.ndarray, power: np.ndarray, cap_w: float) -> tuple[float, float, float]:
        """(step time, board power, clock) of one table row at the highest clock within cap_w,
        interpolating linearly between the tabulated clocks (power rises with clock)."""
        if cap_w >= power[-1]:
            return float(steps[-1]), float(power[-1]), float(self.clocks[-1])
        if cap_w <= power[0]:
            # Below the lowest clock's draw the board idles between kernels (duty cycling).
            stretch = duty_cycle_stretch(float(power[0]), cap_w, self.idle_w)
            drawn = self.idle_w + (float(power[0]) - self.idle_w) / stretch
            return float(steps[0]) * stretch, drawn, float(self.clocks[0])
        i = int(np.searchsorted(power, cap_w, side="right")) - 1
        w = (cap_w - power[i]) / (power[i + 1] - power[i])
        clock = self.clocks[i] + w * (self.clocks[i + 1] - self.clocks[i])
        # Step time is ~ a + b/clock between grid points: interpolate in 1/clock.
        inv = 1.0 / self.clocks
        u = (1.0 / clock - inv[i]) / (inv[i + 1] - inv[i])
        step = steps[i] + u * (steps[i + 1] - steps[i])
        return float(step), float(cap_w), float(clock)

    def at_power(self, cap_w: float, network_share: float = 1.0) -> tuple[float, float, float]:
        """(step time, board power, clock) at the highest clock whose power stays within cap_w,
        with the job's scale-out links at ``network_share`` of their bandwidth (contention)."""
        if network_share >= 1.0 or self.step_time_by_share is None:
            return self._row(self.step_time_s, self.gpu_power_w, cap_w)
        shares = self.network_shares                     # descending, shares[0] == 1
        k = min(int(np.searchsorted(-shares, -network_share, side="right")), len(shares) - 1)
        k = max(k, 1)
        lo = self._row(self.step_time_by_share[k - 1], self.power_by_share[k - 1], cap_w)
        hi = self._row(self.step_time_by_share[k], self.power_by_share[k], cap_w)
        # Communication time goes as 1/bandwidth: interpolate in 1/share.
        a, b = 1.0 / shares[k - 1], 1.0 / shares[k]
        u = min(max((1.0 / network_share - a) / (b - a), 0.0), 1.0) if b > a else 0.0
        return tuple(float(x + u * (y - x)) for x, y in zip(lo, hi, strict=True))

    def nominal(self) -> tuple[float, float, float]:
        """(step time, board power, clock) with the board at its own power limit (no site cap)."""
        return self.at_power(self.tdp_w)

    def as_dict(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
        return out


def layout_name(layout: dict) -> str:
    """A short label such as 'tp8-pp4-dp16-mb1' (plus ep/zero/interleave when used)."""
    parts = [f"tp{layout['tp']}", f"pp{layout['pp']}", f"dp{layout['dp']}"]
    if layout.get("ep", 1) > 1:
        parts.append(f"ep{layout['ep']}")
    if layout.get("interleave", 1) > 1:
        parts.append(f"v{layout['interleave']}")
    if layout.get("zero", 0):
        parts.append(f"z{layout['zero']}")
    parts.append(f"mb{layout['micro_batch']}")
    return "-".join(parts)


@njit(cache=True)
def _steady_time(ops, n, dv, clock, res):
    """Steady-state time of a table repeated back to back: the slower of host and GPU streams."""
    play(ops, n, dv, clock, False, res)
    return max(res[R_GPU_BUSY], res[R_HOST])


@njit(cache=True)
def stage_costs(mv, pv, dv, b, s, tp, sp, ep, rc, clock, out):
    """Fill ``out`` (C_* columns) for one micro-batch of ``b`` sequences at ``clock``."""
    ops = np.zeros((3 * MAX_LAYER_OPS, 10))
    res = np.zeros(RESULT_LEN)
    n = fill_layer(ops, 0, mv, pv, b, s, tp, sp, ep, 0, rc)
    saved = 0.0
    for i in range(n):
        if ops[i, OP_PHASE] == PH_FWD:
            saved += ops[i, OP_SAVED]
    n = fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, 1, rc)
    out[C_LAYER] = _steady_time(ops, n, dv, clock, res)
    out[C_LAYER_C] = res[R_BUSY_C]
    out[C_LAYER_M] = res[R_BUSY_M]
    out[C_LAYER_B] = res[R_COMPUTE]
    n = fill_embedding(ops, 0, mv, pv, b, s, tp, 0)
    n = fill_embedding(ops, n, mv, pv, b, s, tp, 1)
    out[C_EMB] = _steady_time(ops, n, dv, clock, res)
    out[C_EMB_C] = res[R_BUSY_C]
    out[C_EMB_M] = res[R_BUSY_M]
    out[C_EMB_B] = res[R_COMPUTE]
    n = fill_head(ops, 0, mv, pv, b, s, tp, sp, 0, b * s)
    n = fill_head(ops, n, mv, pv, b, s, tp, sp, 1, b * s)
    out[C_HEAD] = _steady_time(ops, n, dv, clock, res)
    out[C_HEAD_C] = res[R_BUSY_C]
    out[C_HEAD_M] = res[R_BUSY_M]
    out[C_HEAD_B] = res[R_COMPUTE]
    out[C_SAVED] = saved


def job_vector(model: ModelSpec, recipe: Recipe, global_batch: int, seq: int, tdp_w: float) -> np.ndarray:
    """The job's constants for the layout kernel (model sizes, bytes per parameter, ...)."""
    prec = recipe.prec
    pv = recipe.vector()
    optimizer = recipe.optimizer
    j = np.zeros(JOB_LEN)
    expert = mlp_params_per_expert(model) * model.experts if model.experts > 1 else 0.0
    j[J_GB], j[J_SEQ], j[J_LAYERS], j[J_HIDDEN] = global_batch, seq, model.layers, model.hidden
    j[J_VOCAB], j[J_EXPERTS], j[J_TOPK] = model.vocab, model.experts, model.top_k
    j[J_LAYER_DENSE] = layer_params(model) - expert
    j[J_LAYER_EXPERTS] = expert
    j[J_EMBED] = embedding_params(model)
    # With pipelining the first stage holds the token (+ position) embedding and the last the
    # LM head (its own copy when tied, as Megatron-LM keeps): V*h (+ positions) per end stage.
    positions = (model.max_seq or 2048) * model.hidden if model.position == "learned" else 0
    j[J_EMBED_STAGE] = model.vocab * model.hidden + positions
    j[J_ACT], j[J_RESID] = pv[P_ACT], pv[P_RESID]
    j[J_GRAD_COMM] = 4.0 if prec.grad_bytes >= 4 else 2.0
    j[J_WEIGHT_COMM] = prec.infer_weight_bytes
    j[J_WEIGHT_BYTES], j[J_GRAD_BYTES], j[J_STATE_BYTES] = pv[P_PARAM_BYTES], prec.grad_bytes, pv[P_STATE_BYTES]
    j[J_WCACHE] = 2.0 if pv[P_WCAST] > 0 else 0.0
    j[J_OPT_BYTES], j[J_OPT_PASSES] = pv[P_OPT_BYTES], pv[P_OPT_PASSES]
    j[J_OPT_TEMP] = 4.0 if optimizer == "adamw-foreach" and prec.weight_bytes >= 4 else 0.0
    j[J_RC] = RECOMPUTE[recipe.recompute]
    j[J_DP_OVERLAP] = DP_OVERLAP if recipe.overlap_grad_reduce else 0.0
    j[J_TDP] = tdp_w
    j[J_GRADS_LIVE] = 1.0 if (prec.weight_bytes < 4 or pv[P_GRAD_CAST] == 0) else 0.0
    return j


@njit(cache=True)
def _optimizer_time(params, tensors, job, dv):
    """Multi-tensor optimizer kernels over ``params`` local parameters (see ops.fill_optimizer)."""
    launches = max(np.ceil(tensors / 110.0), np.ceil(params / 20971520.0)) * job[J_OPT_PASSES]
    per_launch = job[J_OPT_BYTES] * params / launches / dv[D_MEM_BW] + dv[D_KERNEL_OVERHEAD]
    return launches * max(per_launch, dv[D_HOST_OP]), launches * (per_launch - dv[D_KERNEL_OVERHEAD])


@njit(cache=True)
def evaluate_layout(lay, cost, job, dv, tiers, domain, clock, out, scratch):
    """Step time breakdown, power and per-GPU memory of one layout (fills ``out``, E_* columns).

    ``cost`` holds the layout's stage costs at ``clock``; step time at the board's TDP assumes
    compute-bound time stretches as 1/clock (timeline.capped_clock). ``scratch`` is a (3, 9)
    work array (no allocation in the search loop).
    """
    group = scratch[0]
    parts = scratch[2]
    tp = lay[L_TP]
    pp = lay[L_PP]
    dp = lay[L_DP]
    ep = lay[L_EP]
    zero = lay[L_ZERO]
    v = lay[L_V]
    sp = lay[L_SP]
    b = lay[L_MB]
    layers = job[J_LAYERS]
    m = np.floor(job[J_GB] / (b * dp))
    lps = np.ceil(layers / pp)
    t_first = lps * cost[C_LAYER] + cost[C_EMB] + (cost[C_HEAD] if pp == 1 else 0.0)
    t_last = lps * cost[C_LAYER] + (cost[C_HEAD] if pp > 1 else 0.0)

    s_bytes = b * job[J_SEQ] * job[J_HIDDEN] * job[J_ACT]
    passes = 3.0 if job[J_RC] == RC_FULL else 2.0
    tp_t = tp_comm_s(tiers, domain, tp, sp, s_bytes, passes, group)
    ep_t = 0.0
    if job[J_EXPERTS] > 1.5:
        ep_t = ep_comm_s(tiers, domain, ep, tp, job[J_TOPK] * s_bytes / tp, group)
    hop = 0.0
    if pp > 1:
        hop = pp_hop_s(tiers, domain, tp, dp, s_bytes / tp if sp > 0.5 else s_bytes, group)
    t_stage = max(t_first, t_last) + (tp_t + ep_t) * lps
    t_unit = t_stage + 2.0 * v * hop          # each of the v chunks sends and receives
    bubble = (pp - 1.0) / v * t_unit
    pipe = m * t_unit + bubble

    per_layer = job[J_LAYER_DENSE] / tp + job[J_LAYER_EXPERTS] / (tp * ep)
    embed = (job[J_EMBED] if pp == 1 else job[J_EMBED_STAGE]) / tp
    params = lps * per_layer + embed
    dp_t = dp_step_s(tiers, domain, dp, tp, zero, params * job[J_GRAD_COMM], params * job[J_WEIGHT_COMM], group)
    exposed_dp = 0.0
    if dp > 1:
        exposed_dp = max(dp_t - job[J_DP_OVERLAP] * 0.6 * t_stage, (1.0 - job[J_DP_OVERLAP]) * dp_t)
    zero3 = 0.0
    if zero >= 3 and dp > 1:
        z3 = zero3_micro_batch_s(tiers, domain, dp, tp, params * job[J_WEIGHT_COMM], params * 2.0, group)
        zero3 = m * max(z3 - ZERO3_OVERLAP * t_stage, 0.0)
    shard = dp if zero >= 1 else 1.0
    t_opt, opt_mem = _optimizer_time(params / shard, lps * TENSORS_PER_LAYER + 4.0, job, dv)
    step = pipe + exposed_dp + zero3 + t_opt

    busy_c = min(m * (lps * cost[C_LAYER_C] + cost[C_EMB_C] + cost[C_HEAD_C]), step)
    busy_m = min(m * (lps * cost[C_LAYER_M] + cost[C_EMB_M] + cost[C_HEAD_M]) + opt_mem, step)
    bound_c = min(m * (lps * cost[C_LAYER_B] + cost[C_EMB_B] + cost[C_HEAD_B]), step)
    power = busy_power(step, busy_c, busy_m, dv, clock)
    c_tdp = capped_clock(step, bound_c, busy_c, busy_m, dv, job[J_TDP])

    # Memory: the first stage holds min(pp, m) micro-batches in flight under 1F1B (more when
    # interleaved); the last stage holds one plus the loss buffers.
    in_flight = min(pp, m)
    if v > 1:
        in_flight *= 1.0 + (pp - 1.0) / (pp * v)
    tokens = b * job[J_SEQ]
    if job[J_RC] == RC_FULL:
        act_first = lps * job[J_RESID] * tokens * job[J_HIDDEN] / (tp if sp > 0.5 else 1.0) * in_flight + cost[C_SAVED]
        act_last = lps * job[J_RESID] * tokens * job[J_HIDDEN] / (tp if sp > 0.5 else 1.0) + cost[C_SAVED]
    else:
        act_first = lps * cost[C_SAVED] * in_flight
        act_last = lps * cost[C_SAVED]
    loss = tokens * job[J_VOCAB] / tp * (job[J_ACT] + 8.0)
    live = job[J_GRADS_LIVE] > 0.5 or m > 1
    memory_parts(params, job[J_WEIGHT_BYTES], job[J_GRAD_BYTES], job[J_STATE_BYTES], job[J_WCACHE],
                 act_first + (loss if pp == 1 else 0.0), 0.0, job[J_OPT_TEMP], live, zero, dp, parts)
    peak = parts[7]
    if pp > 1:
        memory_parts(params, job[J_WEIGHT_BYTES], job[J_GRAD_BYTES], job[J_STATE_BYTES], job[J_WCACHE],
                     act_last, loss, job[J_OPT_TEMP], live, zero, dp, parts)
        peak = max(peak, parts[7])

    out[E_STEP] = step
    out[E_STEP_TDP] = step + busy_c * (1.0 / c_tdp - 1.0)
    out[E_CLOCK_TDP] = c_tdp
    out[E_COMPUTE] = m * max(t_first, t_last)
    out[E_BUBBLE] = bubble
    out[E_TP_COMM] = m * tp_t * lps
    out[E_PP_COMM] = (m + pp - 1.0) * 2.0 * v * hop
    out[E_DP_COMM] = exposed_dp
    out[E_ZERO3] = zero3
    out[E_EP_COMM] = m * ep_t * lps
    out[E_OPT] = t_opt
    out[E_MEMORY] = peak
    out[E_POWER] = power
    out[E_MICRO_BATCHES] = m
    out[E_PARAMS_LOCAL] = params
    out[E_ACTIVATIONS] = act_first


@njit(cache=True)
def evaluate_layouts(layouts, costs, job, dv, tiers, domain, clock, out):
    """``evaluate_layout`` over every row of ``layouts`` (the layout-search kernel)."""
    scratch = np.zeros((3, 9))
    for i in range(layouts.shape[0]):
        evaluate_layout(layouts[i], costs[int(layouts[i, L_COST])], job, dv, tiers, domain, clock, out[i],
                        scratch)


def layout_row(layout: dict, cost_index: int = 0) -> np.ndarray:
    row = np.zeros(LAYOUT_LEN)
    row[L_TP], row[L_PP], row[L_DP] = layout["tp"], layout["pp"], layout["dp"]
    row[L_EP], row[L_ZERO], row[L_V] = layout.get("ep", 1), layout.get("zero", 0), layout.get("interleave", 1)
    row[L_SP], row[L_MB], row[L_COST] = layout.get("sp", 0), layout["micro_batch"], cost_index
    return row


def evaluate(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
             layout: dict, recipe: Recipe, comm, clock: float = 1.0) -> dict:
    """Step-time breakdown, power and per-GPU memory of one layout at one clock."""
    if layout["tp"] * layout["pp"] * layout["dp"] != gpus:
        raise InputError([Problem("layout", f"tp*pp*dp = {layout['tp'] * layout['pp'] * layout['dp']} "
                                            f"but gpus = {gpus}")])
    prec = recipe.prec
    pv = recipe.vector()
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    cost = np.zeros(COST_LEN)
    stage_costs(mv, pv, dv, float(layout["micro_batch"]), float(seq), float(layout["tp"]),
                float(layout.get("sp", 0)), float(layout.get("ep", 1)), RECOMPUTE[recipe.recompute], clock, cost)
    job = job_vector(model, recipe, global_batch, seq, device.spec.tdp)
    out = np.zeros(EVAL_LEN)
    evaluate_layout(layout_row(layout), cost, job, dv, comm.tiers, float(comm.scaleup_domain), clock, out,
                    np.zeros((3, 9)))
    names = ("step_time_s", "step_time_at_tdp_s", "clock_at_tdp", "compute_s", "bubble_s", "tp_comm_s",
             "pp_comm_s", "dp_comm_exposed_s", "zero3_comm_exposed_s", "ep_comm_s", "optimizer_s",
             "peak_memory_bytes", "power_w", "micro_batches", "params_local", "activations_bytes")
    result = {k: float(out[i]) for i, k in enumerate(names)}
    result["micro_batches"] = int(result["micro_batches"])
    result["comm_bytes_per_gpu"] = step_volumes(
        layout, comm.scaleup_domain, result["micro_batches"], -(-model.layers // layout["pp"]),
        layout["micro_batch"] * seq * model.hidden * prec.act_bytes, result["params_local"],
        job[J_GRAD_COMM], job[J_WEIGHT_COMM], model.top_k, model.experts, recipe.recompute == "full")
    return result


def validate_layout(model: ModelSpec, gpus: int, global_batch: int, layout: dict, domain: int) -> list[str]:
    """Reasons a layout is not valid for this job (empty when it is)."""
    tp, pp, dp, ep = layout["tp"], layout["pp"], layout["dp"], layout.get("ep", 1)
    v, b = layout.get("interleave", 1), layout["micro_batch"]
    reasons = []
    if tp * pp * dp != gpus:
        reasons.append(f"tp*pp*dp = {tp * pp * dp} but gpus = {gpus}")
    if tp > domain or domain % tp:
        reasons.append(f"tp {tp} must divide the scale-up domain of {domain}")
    if model.heads % tp:
        reasons.append(f"tp {tp} does not divide {model.heads} heads")
    if pp > model.layers or model.layers % (pp * v):
        reasons.append(f"{model.layers} layers do not split into pp*interleave = {pp * v} chunks")
    if v > 1 and pp == 1:
        reasons.append("interleave needs pp > 1")
    if global_batch % (b * dp):
        reasons.append(f"global batch {global_batch} is not a multiple of micro_batch*dp = {b * dp}")
    elif v > 1 and (global_batch // (b * dp)) % pp:
        reasons.append("interleaved schedules need micro-batches to be a multiple of pp")
    if ep > 1 and (model.experts % ep or ep > dp * tp):
        reasons.append(f"ep {ep} must divide {model.experts} experts and be <= dp*tp")
    return reasons


def explicit_layout(gpus: int, micro_batch: int, layout) -> dict:
    """A layout dict from a schema Layout (dp defaults to gpus / (tp*pp))."""
    tp, pp = layout.tp, layout.pp
    dp = layout.dp if layout.dp is not None else max(gpus // (tp * pp), 1)
    return {"tp": tp, "pp": pp, "dp": dp, "ep": layout.ep, "zero": layout.zero,
            "interleave": layout.interleave, "sp": 1 if layout.sequence_parallel and tp > 1 else 0,
            "micro_batch": micro_batch}


def plan_training(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int,
                  micro_batch: int | None, seq: int, recipe: Recipe, layout, comm,
                  clocks: np.ndarray = DEFAULT_CLOCKS,
                  network_shares: tuple[float, ...] = (1.0,)) -> TrainingPlan:
    """Cost tables of one training job for the engine: a layout (explicit, or the fastest that
    fits when ``layout == 'auto'``, over micro-batch sizes too when ``micro_batch`` is None)
    evaluated at a grid of clocks."""
    usable = mem.usable_bytes(device.spec.hbm)
    evaluated = 1
    if layout == "auto":
        from simulator.costmodel.search import search_layouts

        found = search_layouts(model, device, gpus, global_batch, seq, recipe, comm,
                               micro_batches=(micro_batch,) if micro_batch else None)
        if found.best is None:
            raise DoesNotFitError(
                f"{model.name}: no layout of {gpus} x {device.name} fits in memory "
                f"(smallest need {found.min_memory_bytes / mem.GIB:.1f} GiB per GPU, "
                f"{usable / mem.GIB:.1f} GiB usable)", found.min_memory_bytes, usable)
        chosen = found.best
        evaluated = found.evaluated
    else:
        chosen = explicit_layout(gpus, micro_batch or 1, layout)
        reasons = validate_layout(model, gpus, global_batch, chosen, comm.scaleup_domain)
        if reasons:
            raise InputError([Problem("layout", "; ".join(reasons))])
    steps = []
    powers = []
    base = None
    for c in clocks:
        r = evaluate(model, device, gpus, global_batch, seq, chosen, recipe, comm, clock=float(c))
        steps.append(r["step_time_s"])
        powers.append(r["power_w"])
        if c == clocks[-1]:
            base = r
    assert base is not None
    if base["peak_memory_bytes"] > usable:
        raise DoesNotFitError(
            f"{model.name} with layout {layout_name(chosen)} needs {base['peak_memory_bytes'] / mem.GIB:.1f} GiB "
            f"per GPU; {device.name} has {usable / mem.GIB:.1f} GiB usable",
            base["peak_memory_bytes"], usable)
    steps_arr = np.array(steps)
    powers_arr = np.maximum.accumulate(np.array(powers))
    shares = np.array(sorted(set(network_shares) | {1.0}, reverse=True))
    by_share_steps = [steps_arr]
    by_share_power = [powers_arr]
    for share in shares[1:]:
        slow = comm.scaled(float(share))
        rows = [evaluate(model, device, gpus, global_batch, seq, chosen, recipe, slow, clock=float(c)) for c in clocks]
        by_share_steps.append(np.array([r["step_time_s"] for r in rows]))
        by_share_power.append(np.maximum.accumulate(np.array([r["power_w"] for r in rows])))
    tokens = float(global_batch * seq)
    model_flops = model_flops_per_step(model, global_batch, seq)
    chosen = dict(chosen, micro_batches=base["micro_batches"])
    plan = TrainingPlan(chosen, np.asarray(clocks, dtype=float), steps_arr, powers_arr,
                        base["peak_memory_bytes"], usable, model_flops, tokens, 0.0, device.spec.tdp,
                        dict(base), evaluated, shares, np.array(by_share_steps), np.array(by_share_power),
                        float(device.spec.idle_power))
    step_nominal = plan.nominal()[0]
    peak = device.peak(recipe.prec.compute_dtype)
    return dataclasses.replace(plan, mfu=model_flops / (step_nominal * gpus * peak))
