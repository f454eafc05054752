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
R_TIME, R_GPU_BUSY, R_COMPUTE, R_MEMORY, R_HOST, R_POWER, R_CLOCK, R_ENERGY, R_FLOP = range(9)
RESULT_LEN = 9

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
        flop += ops[i, OP_FLOP] * count
    total = max(gpu, host)
    out[R_TIME] = total
    out[R_GPU_BUSY] = busy
    out[R_COMPUTE] = t_compute
    out[R_MEMORY] = t_memory
    out[R_HOST] = host
    out[R_CLOCK] = clock
    out[R_FLOP] = flop


@njit(cache=True)
def average_power(out, dv, clock):
    """Average board power over a played table (compute at clock^alpha, memory, idle)."""
    total = out[R_TIME]
    if total <= 0.0:
        return dv[D_IDLE_W]
    idle = dv[D_IDLE_W]
    p_compute = idle + (dv[D_COMPUTE_W] - idle) * clock ** dv[D_DVFS]
    t_c = min(out[R_COMPUTE], total)
    t_m = min(out[R_MEMORY], total - t_c)
    t_idle = total - t_c - t_m
    return (t_c * p_compute + t_m * dv[D_MEM_W] + t_idle * idle) / total


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
    out[R_POWER] = power
    out[R_ENERGY] = power * out[R_TIME]


@njit(cache=True)
def capped_clock(t_total, t_compute, t_memory, dv, cap_w):
    """Clock at which a step of ``t_total`` s (``t_compute`` s compute-bound, ``t_memory`` s
    memory-bound at full clock) averages ``cap_w``; compute time stretches as 1/clock."""
    idle = dv[D_IDLE_W]

    def power(c):
        total = t_total + t_compute * (1.0 / c - 1.0)
        tc = t_compute / c
        p_c = idle + (dv[D_COMPUTE_W] - idle) * c ** dv[D_DVFS]
        t_idle = max(total - tc - t_memory, 0.0)
        return (tc * p_c + t_memory * dv[D_MEM_W] + t_idle * idle) / total

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
    return clock, results, power


__all__ = ["R_CLOCK", "R_COMPUTE", "R_ENERGY", "R_FLOP", "R_GPU_BUSY", "R_HOST", "R_MEMORY",
           "R_POWER", "R_TIME", "attention_efficiency", "gemm_efficiency", "kernel_times",
           "new_result", "play", "play_capped", "play_parts"]

