"""One serving replica's per-iteration GPU cost, tabulated once: what an iteration that mixes
decode tokens and prompt chunks costs at one power cap (Sarathi-Serve: weights are read once per
iteration however the tokens are split; attention is priced per sequence over its own context).

An iteration of ``T`` tokens (decode tokens plus prompt-chunk tokens), ``S`` of them sampled,
takes

    token part(T)  +  LM head and sampling(S)  +  TP all-reduces(T)
    + decode attention: the cached keys and values of every decoding sequence read once
    + prompt attention: each chunk's causal products against its prefix,

the token part and the head tabulated over a grid of ``T`` and ``S`` from the op tables
(costmodel/serving_ops.py) played on the device (costmodel/timeline.py), each at the highest
clock whose power stays within the cap, and the attention terms in closed form from the same
device constants. Decode-only iterations replay a CUDA graph when the engine captures one at
that batch (no per-kernel launch); others launch kernel by kernel, and a kernel-by-kernel
iteration takes the longer of its host launch pipeline and its GPU time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceCol, DeviceModel
from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import H_GEMM, H_OP, H_VIEW, OpCol
from simulator.costmodel.serving_ops import SERV_VECTOR_LEN, ServCol, build_token_part, new_serving_table
from simulator.costmodel.timeline import REFERENCE_HEAD_DIM, ResultCol, duty_cycle_stretch, new_result, play_capped
from simulator.costmodel.transformer import model_vector
from simulator.domain.precision import ServingPrecision
from simulator.domain.specs import EngineSpec, ModelSpec

# FlashAttention-2's forward on H100 SXM, the kernel the device calibration describes (FA-3
# paper, Shah et al., 2024, figs. 5-6): an engine's prompt-attention speedup is relative to it.
MAX_ATTENTION_FRACTION = 0.8
# Kernels launched per layer outside the token part: attention (and its split-KV combine).
ATTENTION_KERNELS_PER_LAYER = 2.0
ACT = 2.0
FUSION_LEVELS = {"none": 0.0, "norms": 1.0, "full": 2.0}
# Share of NVLink bandwidth a custom all-reduce kernel moves: the Simple-protocol efficiency
# fitted to NCCL on the H100 NVLink (collectives.yaml nvlink-h100-measured).
CUSTOM_ALL_REDUCE_LINK_EFFICIENCY = 0.6554


class ItCol(IntEnum):
    """Scalars of an iteration model the simulation kernel reads."""

    LAYERS = 0
    DEC_PER_KEY_S = 1        # decode attention, per cached token read, all layers
    DEC_PER_SEQ_S = 2        # decode attention, per decoding sequence, all layers
    ATTN_S_PER_FLOP = 3      # prompt attention at full efficiency, per FLOP (all layers counted by caller)
    ATTN_SEQ0 = 4            # prompt-attention efficiency ramp: chunk / (chunk + seq0)
    ATTN_FLOP_PER_TOKEN = 5  # 4 * (a*d)/tp * layers: multiply by chunk * (prior + (chunk+1)/2)
    KERNEL_OVERHEAD_S = 6
    HOST_LAUNCH_S = 7
    MEMORY_W = 8
    IDLE_W = 9
    DECODE_STRETCH = 10      # duty-cycle stretch of memory-bound attention under the cap
    ATTN_LAUNCHES = 11       # kernels per iteration outside the token part (attention)
    DEC_RAMP_S = 12          # decode attention's small-kernel floor: the bandwidth ramp's half size per kernel


IT_LEN = len(ItCol)


def serving_vector(prec: ServingPrecision, engine: EngineSpec) -> np.ndarray:
    """The serving vector (costmodel/serving_ops.py ServCol) of a precision recipe and engine."""
    v = np.zeros(SERV_VECTOR_LEN)
    v[ServCol.W_BYTES] = prec.weight_bytes
    v[ServCol.A_BYTES] = prec.act_bytes
    v[ServCol.KV_BYTES] = prec.kv_bytes
    v[ServCol.DEQUANT] = prec.dequant_efficiency
    v[ServCol.ACT_QUANT] = 1.0 if prec.activations not in ("bf16", "fp16") else 0.0
    v[ServCol.DECODE_BW] = engine.decode_attention_bw_fraction
    v[ServCol.FUSION] = FUSION_LEVELS[engine.kernel_fusion]
    return v


def serving_device_vector(device: DeviceModel, prec: ServingPrecision, engine: EngineSpec) -> np.ndarray:
    """The device vector for a recipe's GEMM dtype, with the engine's host launch cost and its
    prompt-attention kernel (attention runs in 16 bits)."""
    dv = device.vector(prec.gemm_dtype, "bf16").copy()
    dv[DeviceCol.HOST_OP] = engine.host_launch
    dv[DeviceCol.HOST_GEMM] = engine.host_launch if engine.host_gemm_launch is None else engine.host_gemm_launch
    dv[DeviceCol.ATTN_FWD] = min(dv[DeviceCol.ATTN_FWD] * engine.prefill_attention_speedup, MAX_ATTENTION_FRACTION)
    return dv


def token_grid(max_tokens: int) -> np.ndarray:
    """Token counts to tabulate: 1, 2, 3, 4, then steps of about 2^(1/4) up to ``max_tokens``,
    from 64 on rounded to multiples of 8 (a token count is a GEMM's row count, whose alignment
    does not matter to the kernels; the device model's misalignment penalty is for row widths)."""
    top = float(max_tokens if max_tokens < 64 else 8 * np.ceil(max_tokens / 8))
    points = {1.0, 2.0, 3.0, 4.0, top}
    x = 4.0
    while x < top:
        x *= 2.0 ** 0.25
        v = float(round(x)) if x < 64 else 8.0 * round(x / 8.0)
        points.add(min(v, top))
    return np.array(sorted(points))


@dataclass(frozen=True)
class IterationModel:
    """Per-iteration costs of one replica at one power cap (see module docstring)."""

    tp: int
    cap_w: float
    tokens: np.ndarray          # grid of T
    token_gpu_s: np.ndarray     # token part on the GPU
    token_host_s: np.ndarray    # its kernel-by-kernel launches on the host
    token_power_w: np.ndarray
    token_clock: np.ndarray
    comm_s: np.ndarray          # TP all-reduces of T tokens
    sampled: np.ndarray         # grid of S
    head_gpu_s: np.ndarray
    head_host_s: np.ndarray
    head_power_w: np.ndarray
    scalars: np.ndarray         # ItCol

    def arrays(self) -> tuple:
        """Everything the simulation kernel reads, in its argument order."""
        return (self.tokens, self.token_gpu_s, self.token_host_s, self.token_power_w, self.token_clock,
                self.comm_s, self.sampled, self.head_gpu_s, self.head_host_s, self.head_power_w, self.scalars)


def all_reduce_s(comm: CommModel, device: DeviceModel, engine: EngineSpec, tp: int, nbytes: float) -> float:
    """One TP all-reduce of ``nbytes``: NCCL (costmodel/collectives.py), or, where the engine has
    its own kernels inside one scale-up domain (TensorRT-LLM AllReduce plugin, vLLM and SGLang
    custom all-reduce), the faster of NCCL and a one-shot / two-shot kernel: two scale-up hops
    of latency and one kernel launch, then (one-shot) every peer's buffer read or (two-shot) a
    reduce-scatter plus all-gather over the links at the measured NVLink efficiency."""
    if tp <= 1:
        return 0.0
    nccl = comm.all_reduce(tp, 1, nbytes)
    if not engine.custom_all_reduce or tp > comm.scaleup_domain:
        return nccl
    link = device.spec.scaleup.bw * CUSTOM_ALL_REDUCE_LINK_EFFICIENCY
    one_shot = nbytes * (tp - 1) / link
    two_shot = 2.0 * nbytes * (tp - 1) / tp / link
    custom = 2.0 * device.spec.scaleup.latency + device.calibration["kernel_overhead"] + min(one_shot, two_shot)
    return min(nccl, custom)


@dataclass(frozen=True)
class IterationProfile:
    """The token part and head of one replica as op tables over their grids (cap-independent),
    and the all-reduce times per token count; each cap plays them (``build_iteration_model``)."""

    model: ModelSpec
    tp: int
    dv: np.ndarray
    sv: np.ndarray
    tokens: np.ndarray
    token_ops: tuple             # op table (rows used) per grid point
    comm_s: np.ndarray
    sampled: np.ndarray
    head_ops: tuple


def iteration_profile(model: ModelSpec, device: DeviceModel, comm: CommModel, tp: int, prec: ServingPrecision,
                      engine: EngineSpec, max_tokens: int, max_sampled: int) -> IterationProfile:
    """Play the token part over ``max_tokens`` and the head over ``max_sampled`` once."""
    mv = model_vector(model)
    sv = serving_vector(prec, engine)
    dv = serving_device_vector(device, prec, engine)
    ops = new_serving_table(model.layers)
    tokens = token_grid(max(max_tokens, 1))
    sampled = token_grid(max(max_sampled, 1))
    token_ops = []
    comm_s = np.zeros(len(tokens))
    for i, t in enumerate(tokens):
        n = build_token_part(ops, mv, sv, float(t), 0.0, model.layers, float(tp)) - 3   # head tabulated apart
        token_ops.append(ops[:n].copy())
        comm_s[i] = 2.0 * model.layers * all_reduce_s(comm, device, engine, tp, float(t) * model.hidden * ACT)
    head_ops = []
    for s in sampled:
        n_all = build_token_part(ops, mv, sv, 1.0, float(s), 0, float(tp))
        head_ops.append(ops[n_all - 3:n_all].copy())
    return IterationProfile(model, tp, dv, sv, tokens, tuple(token_ops), comm_s, sampled, tuple(head_ops))


def _launch_s(host_class: np.ndarray, dv: np.ndarray) -> np.ndarray:
    """Host launch time of each row by its class (timeline.host_time, forward rows)."""
    return np.where(host_class == H_GEMM, dv[DeviceCol.HOST_GEMM],
                    np.where(host_class == H_OP, dv[DeviceCol.HOST_OP],
                             np.where(host_class == H_VIEW, 0.2 * dv[DeviceCol.HOST_OP], 0.0)))


def _at_cap(tables: tuple, dv: np.ndarray, cap_w: float) -> tuple[np.ndarray, ...]:
    """(GPU time, host launch time, power, clock) of each op table at the highest clock whose
    power stays within ``cap_w`` (costmodel/timeline.py play_capped: compute-bound kernels
    stretch as 1/clock; a board still over the cap at its lowest clock idles between kernels)."""
    k = len(tables)
    gpu, host, power, clock = (np.zeros(k) for _ in range(4))
    res = new_result()
    for i, ops in enumerate(tables):
        n = len(ops)
        play_capped(ops, n, dv, cap_w, True, res)
        gpu[i] = max(res[ResultCol.TIME] - dv[DeviceCol.HOST_OP], 0.0)
        host[i] = float(np.sum(ops[:, OpCol.COUNT] * _launch_s(ops[:, OpCol.HOST], dv)))
        power[i] = res[ResultCol.POWER]
        clock[i] = res[ResultCol.CLOCK]
    return gpu, host, power, clock


def build_iteration_model(profile: IterationProfile, cap_w: float) -> IterationModel:
    """A replica's iteration costs at ``cap_w`` from its full-clock profile."""
    dv = profile.dv
    tok_gpu, tok_host, tok_w, tok_clock = _at_cap(profile.token_ops, dv, cap_w)
    head_gpu, head_host, head_w, _ = _at_cap(profile.head_ops, dv, cap_w)
    return IterationModel(profile.tp, cap_w, profile.tokens, tok_gpu, tok_host, tok_w, tok_clock, profile.comm_s,
                          profile.sampled, head_gpu, head_host, head_w,
                          _scalars(profile.model, dv, profile.sv, profile.tp, cap_w))


def _scalars(model: ModelSpec, dv: np.ndarray, sv: np.ndarray, tp: int, cap_w: float) -> np.ndarray:
    qd = model.heads * model.d_head / tp
    kvd = max(model.n_kv_heads, tp) * model.d_head / tp
    layers = float(model.layers)
    bw = dv[DeviceCol.MEM_BW] * sv[ServCol.DECODE_BW]
    head = (model.d_head / (model.d_head + dv[DeviceCol.ATTN_HD0])) / (
        REFERENCE_HEAD_DIM / (REFERENCE_HEAD_DIM + dv[DeviceCol.ATTN_HD0]))
    v = np.zeros(IT_LEN)
    v[ItCol.LAYERS] = layers
    v[ItCol.DEC_PER_KEY_S] = layers * sv[ServCol.KV_BYTES] * 2.0 * kvd / bw
    v[ItCol.DEC_PER_SEQ_S] = layers * (ACT * 2.0 * qd + 32.0 * model.heads / tp) / dv[DeviceCol.MEM_BW]
    v[ItCol.ATTN_S_PER_FLOP] = 1.0 / (dv[DeviceCol.ATTN_PEAK] * dv[DeviceCol.ATTN_FWD] * min(head, 1.0))
    v[ItCol.ATTN_SEQ0] = dv[DeviceCol.ATTN_SEQ0]
    v[ItCol.ATTN_FLOP_PER_TOKEN] = 4.0 * qd * layers
    v[ItCol.KERNEL_OVERHEAD_S] = dv[DeviceCol.KERNEL_OVERHEAD]
    v[ItCol.HOST_LAUNCH_S] = dv[DeviceCol.HOST_OP]
    v[ItCol.MEMORY_W] = min(dv[DeviceCol.MEM_W], cap_w)
    v[ItCol.IDLE_W] = dv[DeviceCol.IDLE_W]
    v[ItCol.DECODE_STRETCH] = duty_cycle_stretch(dv[DeviceCol.MEM_W], cap_w, dv[DeviceCol.IDLE_W])
    v[ItCol.ATTN_LAUNCHES] = ATTENTION_KERNELS_PER_LAYER * layers
    # Like every memory-bound kernel (costmodel/timeline.py kernel_times), each decode-attention
    # and split-KV combine kernel moves its bytes at B / (B + B_half) of the copy bandwidth.
    v[ItCol.DEC_RAMP_S] = v[ItCol.ATTN_LAUNCHES] * dv[DeviceCol.MEM_HALF] / dv[DeviceCol.MEM_BW]
    return v


# ----------------------------------------------------------------------------- one iteration's cost
@kernel
def _interp(x, xs, ys):
    """Linear in x between grid points; proportional below the first, extrapolated above the last."""
    n = len(xs)
    if x <= xs[0]:
        return ys[0] * x / xs[0] if x > 0 else 0.0
    if x >= xs[n - 1]:
        slope = (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2])
        return ys[n - 1] + slope * (x - xs[n - 1])
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    w = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + w * (ys[hi] - ys[lo])


@kernel
def _token_costs(t, s, tokens, tok_gpu, tok_host, tok_w, comm, sampled, head_gpu, head_host, head_w):
    """(GPU time, host launch time, energy) of the token part, head and all-reduces of one iteration."""
    g_tok = _interp(t, tokens, tok_gpu)
    g_head = _interp(s, sampled, head_gpu) if s > 0 else 0.0
    c = _interp(t, tokens, comm)
    host = _interp(t, tokens, tok_host) + (_interp(s, sampled, head_host) if s > 0 else 0.0)
    energy = g_tok * _interp(t, tokens, tok_w) + g_head * (_interp(s, sampled, head_w) if s > 0 else 0.0)
    return g_tok + g_head + c, host, energy


@kernel
def iteration_cost(t, s, d, keys, attn_work, graph_ok, mixed_graphs, tokens, tok_gpu, tok_host, tok_w, tok_clock, comm,
                   sampled, head_gpu, head_host, head_w, it):
    """(GPU-side time, energy) of one iteration of ``t`` tokens, ``s`` sampled, ``d`` decoding
    sequences reading ``keys`` cached tokens, and prompt attention ``attn_work`` (FLOP at full
    efficiency, already divided by each chunk's efficiency ramp)."""
    gpu, host, energy = _token_costs(t, s, tokens, tok_gpu, tok_host, tok_w, comm, sampled, head_gpu,
                                     head_host, head_w)
    energy += _interp(t, tokens, comm) * it[ItCol.IDLE_W]
    overhead = it[ItCol.KERNEL_OVERHEAD_S]
    launches = 0.0
    if d > 0:
        dec = (it[ItCol.DEC_PER_KEY_S] * keys + it[ItCol.DEC_PER_SEQ_S] * d + it[ItCol.DEC_RAMP_S]) \
            * it[ItCol.DECODE_STRETCH] + it[ItCol.ATTN_LAUNCHES] * overhead
        gpu += dec
        energy += dec * it[ItCol.MEMORY_W]
        launches += it[ItCol.ATTN_LAUNCHES]
    if attn_work > 0:
        clock = _interp(t, tokens, tok_clock)
        pre = attn_work * it[ItCol.ATTN_S_PER_FLOP] / clock + it[ItCol.LAYERS] * overhead
        gpu += pre
        energy += pre * _interp(t, tokens, tok_w)
        if d == 0:
            launches += it[ItCol.ATTN_LAUNCHES]
    launch = it[ItCol.HOST_LAUNCH_S]
    if graph_ok:
        total = gpu + launch
    elif mixed_graphs:
        total = max(gpu, launches * launch) + launch
    else:
        total = max(gpu, host + launches * launch) + launch
    energy += (total - gpu) * it[ItCol.IDLE_W]
    return total, energy


@kernel
def draft_cost(spec_k, d, keys, tokens, tok_gpu, tok_host, tok_w, tok_clock, comm, sampled, head_gpu,
                head_host, head_w, it):
    """``spec_k`` autoregressive draft steps for ``d`` sequences (a CUDA graph each)."""
    t, e = iteration_cost(float(d), float(d), d, keys, 0.0, True, False, tokens, tok_gpu, tok_host, tok_w,
                          tok_clock, comm, sampled, head_gpu, head_host, head_w, it)
    return spec_k * t, spec_k * e
