"""Play an op table on a device: GPU time per kernel, the host/GPU launch pipeline, power cap.

Eager PyTorch issues kernels asynchronously: the host spends a dispatch time per op and the
GPU starts a kernel when both it and the launch are ready, so step time is the finish time of
a two-stage pipeline (host, GPU) over the kernels in order. CUDA graphs replace the host stage
by one launch. The board's average power over the step (compute-bound, memory-bound and idle
time at their powers, see costmodel/device.py) must not exceed the power limit: when it would,
the clock falls until it does, stretching compute-bound kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulator.costmodel.device import (
    D_ATTN_BWD,
    D_ATTN_FWD,
    D_ATTN_HD0,
    D_ATTN_PEAK,
    D_ATTN_SEQ0,
    D_COMPUTE_W,
    D_DVFS,
    D_GEMM_FRAC,
    D_HOST_BWD_FACTOR,
    D_HOST_GEMM,
    D_HOST_OP,
    D_IDLE_W,
    D_K0,
    D_KERNEL_OVERHEAD,
    D_M0,
    D_MEM_BW,
    D_MEM_W,
    D_N0,
    D_PEAK,
)
from simulator.costmodel.ops import (
    H_GEMM,
    H_OP,
    H_VIEW,
    K_ATTN_BWD,
    K_ATTN_FWD,
    K_GEMM,
    K_HOST,
    OP_BYTES,
    OP_COUNT,
    OP_FLOP,
    OP_HOST,
    OP_K,
    OP_KIND,
    OP_M,
    OP_N,
    OP_PHASE,
    PH_BWD,
)

# Result-vector indices.
R_TIME, R_GPU_BUSY, R_COMPUTE, R_MEMORY, R_HOST, R_POWER, R_CLOCK, R_ENERGY, R_FLOP, R_BUSY_C, R_BUSY_M = range(11)
RESULT_LEN = 11

REFERENCE_HEAD_DIM = 128.0
# Efficiency kept by a GEMM with a dimension that is not a multiple of 8. Padding GPT-2's
# vocabulary from 50257 to 50304 speeds a whole training step up by ~4% (Karpathy, nanoGPT /
# "Let's reproduce GPT-2", 2024) with the LM head ~1/4 of the step: its GEMMs run ~0.8x.
MISALIGNED_GEMM = 0.8


@njit(cache=True)
def gemm_efficiency(m, n, k, dv):
    """Achieved fraction of peak for a GEMM of shape (m, n, k): f / (1 + m0/m + n0/n + k0/k),
    times ``MISALIGNED_GEMM`` when a dimension of 64 or more is not a multiple of 8 (16-byte
    rows of 16-bit elements): cuBLAS then cannot use its vectorised/TMA kernels."""
    m = max(m, 1.0)
    n = max(n, 1.0)
    k = max(k, 1.0)
    eff = dv[D_GEMM_FRAC] / (1.0 + dv[D_M0] / m + dv[D_N0] / n + dv[D_K0] / k)
    if _misaligned(m) or _misaligned(n) or _misaligned(k):
        eff *= MISALIGNED_GEMM
    return eff


@njit(cache=True)
def _misaligned(dim):
    return dim >= 64.0 and dim % 8.0 != 0.0


@njit(cache=True)
def attention_efficiency(seq, head_dim, backward, dv):
    """Achieved fraction of peak for flash attention: falls off at short sequences and small heads."""
    base = dv[D_ATTN_BWD] if backward else dv[D_ATTN_FWD]
    hd0 = dv[D_ATTN_HD0]
    head = (head_dim / (head_dim + hd0)) / (REFERENCE_HEAD_DIM / (REFERENCE_HEAD_DIM + hd0))
    return base * min(head, 1.0) * seq / (seq + dv[D_ATTN_SEQ0])


@njit(cache=True)
def kernel_times(ops, i, dv, clock):
    """(compute time, memory time) of one kernel of row ``i`` at relative clock ``clock``."""
    kind = ops[i, OP_KIND]
    t_mem = ops[i, OP_BYTES] / dv[D_MEM_BW]
    if kind == K_GEMM:
        eff = gemm_efficiency(ops[i, OP_M], ops[i, OP_N], ops[i, OP_K], dv)
        return ops[i, OP_FLOP] / (dv[D_PEAK] * eff * clock), t_mem
    if kind in (K_ATTN_FWD, K_ATTN_BWD):
        eff = attention_efficiency(ops[i, OP_M], ops[i, OP_K], kind == K_ATTN_BWD, dv)
        return ops[i, OP_FLOP] / (dv[D_ATTN_PEAK] * eff * clock), t_mem
    if kind == K_HOST:
        return 0.0, 0.0
    return 0.0, t_mem


@njit(cache=True)
def host_time(ops, i, dv):
    """Host dispatch time of one kernel of row ``i`` (eager mode)."""
    cls = ops[i, OP_HOST]
    if cls == H_GEMM:
        t = dv[D_HOST_GEMM]
    elif cls == H_OP:
        t = dv[D_HOST_OP]
    elif cls == H_VIEW:
        t = 0.2 * dv[D_HOST_OP]
    else:
        t = 0.0
    if ops[i, OP_PHASE] == PH_BWD:
        t *= dv[D_HOST_BWD_FACTOR]
    return t


@njit(cache=True)
def play(ops, n, dv, clock, graph, out):
    """Run rows 0..n-1 through the host/GPU pipeline at ``clock``; fill ``out`` (R_* indices).

    ``graph`` true: one host launch for the whole table (CUDA graph), no per-op dispatch.
    """
    host = dv[D_HOST_OP] if graph else 0.0
    gpu = 0.0
    busy = 0.0
    t_compute = 0.0
    t_memory = 0.0
    busy_c = 0.0
    busy_m = 0.0
    flop = 0.0
    overhead = dv[D_KERNEL_OVERHEAD]
    for i in range(n):
        if ops[i, OP_KIND] == K_HOST:
            if not graph:
                host += host_time(ops, i, dv) * ops[i, OP_COUNT]
            continue
        tc, tm = kernel_times(ops, i, dv, clock)
        tk = overhead + max(tc, tm)
        th = 0.0 if graph else host_time(ops, i, dv)
        count = ops[i, OP_COUNT]
        reps = int(np.ceil(count - 1e-9))
        scale = count / reps if reps > 0 else 0.0
        for _ in range(reps):
            host += th
            start = max(gpu, host)
            gpu = start + tk * scale
        busy += tk * count
        if tc >= tm:
            t_compute += tc * count
        else:
            t_memory += tm * count
        busy_c += tc * count
        busy_m += tm * count
        flop += ops[i, OP_FLOP] * count
    total = max(gpu, host)
    out[R_TIME] = total
    out[R_GPU_BUSY] = busy
    out[R_COMPUTE] = t_compute
    out[R_MEMORY] = t_memory
    out[R_HOST] = host
    out[R_CLOCK] = clock
    out[R_FLOP] = flop
    out[R_BUSY_C] = busy_c
    out[R_BUSY_M] = busy_m


@njit(cache=True)
def busy_power(total, busy_c, busy_m, dv, clock):
    """Average board power over ``total`` seconds in which the compute units are busy
    ``busy_c`` s at ``clock`` and the memory system ``busy_m`` s: idle, plus each unit's draw
    above idle for the time it works (compute at clock^alpha). A kernel's compute and memory
    traffic overlap, so both count: lowering the clock of memory-bound work stretches it only
    once its compute outlasts its memory traffic, and its power then falls as bytes per second."""
    if total <= 0.0:
        return dv[D_IDLE_W]
    idle = dv[D_IDLE_W]
    above_c = (dv[D_COMPUTE_W] - idle) * clock ** dv[D_DVFS] * min(busy_c, total)
    above_m = (dv[D_MEM_W] - idle) * min(busy_m, total)
    return idle + (above_c + above_m) / total


@njit(cache=True)
def average_power(out, dv, clock):
    """Average board power over a played table."""
    return busy_power(out[R_TIME], out[R_BUSY_C], out[R_BUSY_M], dv, clock)


@njit(cache=True)
def play_capped(ops, n, dv, cap_w, graph, out):
    """Play the table at the highest clock whose average power stays within ``cap_w``."""
    play(ops, n, dv, 1.0, graph, out)
    power = average_power(out, dv, 1.0)
    if power > cap_w:
        lo = 0.05
        hi = 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            play(ops, n, dv, mid, graph, out)
            if average_power(out, dv, mid) > cap_w:
                hi = mid
            else:
                lo = mid
        play(ops, n, dv, lo, graph, out)
        power = average_power(out, dv, lo)
        stretch = duty_cycle_stretch(power, cap_w, dv[D_IDLE_W])
        out[R_TIME] *= stretch
        power = dv[D_IDLE_W] + (power - dv[D_IDLE_W]) / stretch
    out[R_POWER] = power
    out[R_ENERGY] = power * out[R_TIME]


@njit(cache=True)
def duty_cycle_stretch(power_w, cap_w, idle_w):
    """Time factor by which a board that draws ``power_w`` even at its lowest clock (memory-bound
    work) must idle between kernels to average ``cap_w``: active share (cap - idle) / (power -
    idle). 1 when the cap is met; the cap is held at no less than 1% above idle."""
    if power_w <= cap_w or power_w <= idle_w:
        return 1.0
    cap = max(cap_w, idle_w + 0.01 * (power_w - idle_w))
    return (power_w - idle_w) / (cap - idle_w)


@njit(cache=True)
def capped_clock(t_total, t_compute, busy_c, busy_m, dv, cap_w):
    """Clock at which a step of ``t_total`` s (``t_compute`` s of it compute-bound; compute
    units busy ``busy_c`` s and memory ``busy_m`` s, at full clock) averages ``cap_w``;
    compute-bound time stretches as 1/clock."""

    def power(c):
        return busy_power(t_total + t_compute * (1.0 / c - 1.0), busy_c / c, busy_m, dv, c)

    if t_total <= 0.0 or power(1.0) <= cap_w:
        return 1.0
    lo = 0.05
    hi = 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if power(mid) > cap_w:
            hi = mid
        else:
            lo = mid
    return lo


@njit(cache=True)
def new_result() -> np.ndarray:
    return np.zeros(RESULT_LEN)


def play_parts(parts, dv, cap_w: float, graph: bool = False):
    """Play several tables, each repeated ``weight`` times in a step, at the highest clock whose
    step-average power stays within ``cap_w``. ``parts`` is a list of (ops, n, weight).

    Returns (clock, [result vector per part], average power of the step).
    """

    def run(clock):
        results = []
        energy = 0.0
        total = 0.0
        for ops, n, weight in parts:
            out = new_result()
            play(ops, n, dv, clock, graph, out)
            out[R_POWER] = average_power(out, dv, clock)
            out[R_ENERGY] = out[R_POWER] * out[R_TIME]
            results.append(out)
            energy += weight * out[R_ENERGY]
            total += weight * out[R_TIME]
        return results, (energy / total if total > 0 else 0.0)

    results, power = run(1.0)
    clock = 1.0
    if power > cap_w:
        lo, hi = 0.05, 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            _, p = run(mid)
            if p > cap_w:
                hi = mid
            else:
                lo = mid
        clock = lo
        results, power = run(clock)
        stretch = duty_cycle_stretch(power, cap_w, dv[D_IDLE_W])
        if stretch > 1.0:
            power = dv[D_IDLE_W] + (power - dv[D_IDLE_W]) / stretch
            for out in results:
                out[R_TIME] *= stretch
                out[R_POWER] = power
                out[R_ENERGY] = power * out[R_TIME]
    return clock, results, power


__all__ = [
    "R_CLOCK",
    "R_COMPUTE",
    "R_ENERGY",
    "R_FLOP",
    "R_GPU_BUSY",
    "R_HOST",
    "R_MEMORY",
    "R_POWER",
    "R_TIME",
    "attention_efficiency",
    "duty_cycle_stretch",
    "gemm_efficiency",
    "kernel_times",
    "new_result",
    "play",
    "play_capped",
    "play_parts",
]

