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
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.ops import (
    MAX_LAYER_OPS,
    OP_PHASE,
    OP_SAVED,
    PH_FWD,
    RC_FULL,
    fill_embedding,
    fill_head,
    fill_layer,
    fill_optimizer,
    new_table,
)
from simulator.costmodel.precision import (
    P_ACT,
    P_GRAD_CAST,
    P_PARAM_BYTES,
    P_RESID,
    P_STATE_BYTES,
    P_WCAST,
    precision,
    precision_vector,
)
from simulator.costmodel.timeline import (
    R_COMPUTE,
    R_GPU_BUSY,
    R_HOST,
    R_MEMORY,
    average_power,
    capped_clock,
    new_result,
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
from simulator.errors import DoesNotFitError, InputError, Problem
from simulator.scenario.specs import ModelSpec

# Layout-vector indices.
L_TP, L_PP, L_DP, L_EP, L_ZERO, L_V, L_SP, L_MB, L_RC = range(9)
LAYOUT_LEN = 9

# Evaluation-result indices.
E_STEP, E_COMPUTE, E_BUBBLE, E_TP_COMM, E_PP_COMM, E_DP_COMM, E_EP_COMM, E_OPT = range(8)
E_MEMORY, E_POWER, E_FITS, E_MICRO_BATCHES, E_BUSY = 8, 9, 10, 11, 12
EVAL_LEN = 13

# Share of DP gradient communication hidden behind the last micro-batch's backward pass
# (Megatron-LM --overlap-grad-reduce buckets: all but the last bucket overlap).
DP_OVERLAP = 0.9
# Share of ZeRO-3 per-micro-batch gathers hidden behind compute (FSDP prefetch).
ZERO3_OVERLAP = 0.8

DEFAULT_CLOCKS = np.linspace(0.3, 1.0, 15)


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

    def at_power(self, cap_w: float) -> tuple[float, float, float]:
        """(step time, board power, clock) at the highest clock whose power stays within cap_w,
        interpolating linearly between the tabulated clocks (power rises with clock)."""
        power = self.gpu_power_w
        if cap_w >= power[-1]:
            return float(self.step_time_s[-1]), float(power[-1]), float(self.clocks[-1])
        if cap_w <= power[0]:
            return float(self.step_time_s[0]), float(power[0]), float(self.clocks[0])
        i = int(np.searchsorted(power, cap_w, side="right")) - 1
        w = (cap_w - power[i]) / (power[i + 1] - power[i])
        clock = self.clocks[i] + w * (self.clocks[i + 1] - self.clocks[i])
        # Step time is ~ a + b/clock between grid points: interpolate in 1/clock.
        inv = 1.0 / self.clocks
        u = (1.0 / clock - inv[i]) / (inv[i + 1] - inv[i])
        step = self.step_time_s[i] + u * (self.step_time_s[i + 1] - self.step_time_s[i])
        return float(step), float(cap_w), float(clock)

    def nominal(self) -> tuple[float, float, float]:
        """(step time, board power, clock) with the board at its own power limit (no site cap)."""
        return self.at_power(self.tdp_w)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["clocks"] = self.clocks.tolist()
        out["step_time_s"] = self.step_time_s.tolist()
        out["gpu_power_w"] = self.gpu_power_w.tolist()
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
    """Per-micro-batch GPU times: one layer (fwd+bwd), embedding, head+loss; and their busy
    compute/memory split for power. Fills out[0..8]; returns saved activation bytes per layer."""
    ops = np.zeros((3 * MAX_LAYER_OPS, 10))
    res = np.zeros(9)
    n = fill_layer(ops, 0, mv, pv, b, s, tp, sp, ep, 0, rc)
    saved = 0.0
    for i in range(n):
        if ops[i, OP_PHASE] == PH_FWD:
            saved += ops[i, OP_SAVED]
    n = fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, 1, rc)
    out[0] = _steady_time(ops, n, dv, clock, res)
    out[3] = res[R_COMPUTE]
    out[4] = res[R_MEMORY]
    n = fill_embedding(ops, 0, mv, pv, b, s, tp, 0)
    n = fill_embedding(ops, n, mv, pv, b, s, tp, 1)
    out[1] = _steady_time(ops, n, dv, clock, res)
    out[5] = res[R_COMPUTE]
    out[6] = res[R_MEMORY]
    n = fill_head(ops, 0, mv, pv, b, s, tp, sp, 0, b * s)
    n = fill_head(ops, n, mv, pv, b, s, tp, sp, 1, b * s)
    out[2] = _steady_time(ops, n, dv, clock, res)
    out[7] = res[R_COMPUTE]
    out[8] = res[R_MEMORY]
    return saved


def _params_local(model: ModelSpec, tp: int, pp: int, ep: int, last_stage_embedding: bool = True) -> tuple[float, float]:
    """(parameters on the most loaded GPU, tensors on it): one stage's layers / tp (experts / ep)
    plus the embedding or LM head shard."""
    lps = -(-model.layers // pp)
    per_layer = layer_params(model)
    if model.experts > 1:
        expert = mlp_params_per_expert(model) * model.experts
        per_layer = per_layer - expert + expert / ep
    params = lps * per_layer / tp + embedding_params(model) / (tp * (2 if pp > 1 else 1))
    tensors = lps * TENSORS_PER_LAYER + 4
    return float(params), float(tensors)


def evaluate(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
             layout: dict, precision_name: str, recompute: str, optimizer: str,
             comm, clock: float = 1.0) -> dict:
    """Step time breakdown and per-GPU memory of one layout at one clock (Python reference path)."""
    prec = precision(precision_name)
    pv = precision_vector(prec, optimizer)
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    tp, pp, dp, ep = layout["tp"], layout["pp"], layout["dp"], layout.get("ep", 1)
    zero, v, sp, b = layout.get("zero", 0), layout.get("interleave", 1), layout.get("sp", 1), layout["micro_batch"]
    rc = RECOMPUTE[recompute]
    m = global_batch // (b * dp)
    costs = np.zeros(9)
    saved_per_layer = stage_costs(mv, pv, dv, float(b), float(seq), float(tp), float(sp), float(ep), rc, clock, costs)
    t_layer, t_emb, t_head = costs[0], costs[1], costs[2]
    lps = -(-model.layers // pp)
    t_first = lps * t_layer + t_emb + (t_head if pp == 1 else 0.0)
    t_last = lps * t_layer + (t_head if pp > 1 else 0.0)
    comm_t = comm.per_micro_batch(model, layout, seq, prec)  # dict of seconds per micro-batch
    t_stage = max(t_first, t_last) + comm_t["tp"] * lps + comm_t["ep"] * lps
    pp_hop = comm_t["pp"] if pp > 1 else 0.0
    t_unit = t_stage + 2.0 * pp_hop
    pipe = m * t_unit + (pp - 1) / v * t_unit
    bubble = (pp - 1) / v * t_unit
    params_local, tensors = _params_local(model, tp, pp, ep)
    dp_time = comm.dp_step(params_local, layout, prec)
    bwd_last = 0.6 * t_stage
    exposed_dp = max(dp_time - DP_OVERLAP * bwd_last, (1.0 - DP_OVERLAP) * dp_time) if dp > 1 else 0.0
    zero3 = 0.0
    if zero >= 3 and dp > 1:
        z3 = comm.zero3_micro_batch(params_local, layout, prec)
        zero3 = m * max(z3 - ZERO3_OVERLAP * t_stage, 0.0)
    opt_ops = new_table(4)
    shard = dp if zero >= 1 else 1
    n_opt = fill_optimizer(opt_ops, 0, pv, params_local / shard, tensors, float(m))
    res = new_result()
    play(opt_ops, n_opt, dv, clock, False, res)
    t_opt = max(res[R_GPU_BUSY], res[R_HOST])
    step = pipe + exposed_dp + zero3 + t_opt

    # Power: busy compute / memory time over the step (bubbles and exposed comm idle-ish).
    busy_c = m * (lps * costs[3] + costs[5] + costs[7])
    busy_m = m * (lps * costs[4] + costs[6] + costs[8]) + res[R_MEMORY]
    pw = np.zeros(9)
    pw[0] = step
    pw[R_COMPUTE] = min(busy_c, step)
    pw[R_MEMORY] = min(busy_m, step - pw[R_COMPUTE])
    power = average_power(pw, dv, clock)
    c_tdp = capped_clock(step, pw[R_COMPUTE], pw[R_MEMORY], dv, device.spec.tdp)
    step_at_tdp = step + pw[R_COMPUTE] * (1.0 / c_tdp - 1.0)

    # Memory of the first stage (holds the most in-flight micro-batches under 1F1B).
    in_flight = min(pp, m) * (1.0 + (pp - 1.0) / (pp * v) if v > 1 else 1.0)
    if rc == RC_FULL:
        act = lps * pv[P_RESID] * b * seq * model.hidden / (tp if sp else 1) * in_flight + saved_per_layer
    else:
        act = lps * saved_per_layer * in_flight
    loss = 0.0
    if pp == 1:
        loss = b * seq * model.vocab / tp * (pv[P_ACT] + 8.0)
    memory = mem.training_memory(
        params_local=params_local,
        weight_bytes=pv[P_PARAM_BYTES],
        grad_bytes=prec.grad_bytes,
        state_bytes=pv[P_STATE_BYTES],
        weight_cache_bytes=2.0 if pv[P_WCAST] > 0 else 0.0,
        activations=act,
        loss_buffers=loss,
        optimizer_temp_bytes=4.0 if optimizer == "adamw-foreach" and prec.weight_bytes >= 4 else 0.0,
        grads_live_in_forward=m > 1 or prec.weight_bytes < 4 or pv[P_GRAD_CAST] == 0,
        zero_stage=zero,
        dp=dp,
    )
    return {
        "step_time_s": step, "compute_s": m * max(t_first, t_last), "bubble_s": bubble,
        "tp_comm_s": m * comm_t["tp"] * lps, "pp_comm_s": (m + pp - 1) * 2.0 * pp_hop,
        "dp_comm_exposed_s": exposed_dp, "zero3_comm_exposed_s": zero3,
        "ep_comm_s": m * comm_t["ep"] * lps, "optimizer_s": t_opt, "micro_batches": m,
        "power_w": power, "memory": memory.as_dict(), "peak_memory_bytes": memory.peak,
        "step_time_at_tdp_s": step_at_tdp, "clock_at_tdp": c_tdp,
    }


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
                  micro_batch: int, seq: int, precision_name: str, recompute: str,
                  optimizer: str, layout, comm, clocks: np.ndarray = DEFAULT_CLOCKS) -> TrainingPlan:
    """Cost tables of one training job for the engine: a layout (explicit, or the fastest that
    fits when ``layout == 'auto'``) evaluated at a grid of clocks."""
    usable = mem.usable_bytes(device.spec.hbm)
    evaluated = 1
    if layout == "auto":
        from simulator.costmodel.search import search_layouts

        found = search_layouts(model, device, gpus, global_batch, seq, precision_name, recompute,
                               optimizer, comm, micro_batches=(micro_batch,) if micro_batch else None)
        if found.best is None:
            raise DoesNotFitError(
                f"{model.name}: no layout of {gpus} x {device.name} fits in memory "
                f"(smallest need {found.min_memory_bytes / mem.GIB:.1f} GiB per GPU, "
                f"{usable / mem.GIB:.1f} GiB usable)", found.min_memory_bytes, usable)
        chosen = found.best
        evaluated = found.evaluated
    else:
        chosen = explicit_layout(gpus, micro_batch, layout)
        reasons = validate_layout(model, gpus, global_batch, chosen, comm.scaleup_domain)
        if reasons:
            raise InputError([Problem("layout", "; ".join(reasons))])
    steps = []
    powers = []
    base = None
    for c in clocks:
        r = evaluate(model, device, gpus, global_batch, seq, chosen, precision_name, recompute,
                     optimizer, comm, clock=float(c))
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
    tokens = float(global_batch * seq)
    model_flops = model_flops_per_step(model, global_batch, seq)
    chosen = dict(chosen, micro_batches=base["micro_batches"])
    plan = TrainingPlan(chosen, np.asarray(clocks, dtype=float), steps_arr, powers_arr,
                        base["peak_memory_bytes"], usable, model_flops, tokens, 0.0, device.spec.tdp,
                        {k: v for k, v in base.items() if k != "memory"} | {"memory": base["memory"]},
                        evaluated)
    step_nominal = plan.nominal()[0]
    peak = device.peak(precision(precision_name).compute_dtype)
    return dataclasses.replace(plan, mfu=model_flops / (step_nominal * gpus * peak))
