"""Play an op table on a device: GPU time per kernel, the host/GPU launch pipeline, power cap.

Eager PyTorch issues kernels asynchronously: the host spends a dispatch time per op and the
GPU starts a kernel when both it and the launch are ready, so step time is the finish time of
a two-stage pipeline (host, GPU) over the kernels in order. CUDA graphs replace the host stage
by one launch. The board's average power over the step (compute-bound, memory-bound and idle
time at their powers, see costmodel/device.py) must not exceed the power limit: when it would,
the clock falls until it does, stretching compute-bound kernels.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from simulator.costmodel.device import DeviceCol
from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import H_GEMM, H_OP, H_VIEW, K_ATTN_BWD, K_ATTN_FWD, K_GEMM, K_HOST, PH_BWD, OpCol


# Result-vector indices.
class ResultCol(IntEnum):
    """Columns of a timeline result vector."""

    TIME = 0
    GPU_BUSY = 1
    COMPUTE = 2
    MEMORY = 3
    HOST = 4
    POWER = 5
    CLOCK = 6
    ENERGY = 7
    FLOP = 8
    BUSY_C = 9
    BUSY_M = 10


RESULT_LEN = len(ResultCol)

REFERENCE_HEAD_DIM = 128.0
# Efficiency kept by a GEMM with a dimension that is not a multiple of 8. Padding GPT-2's
# vocabulary from 50257 to 50304 speeds a whole training step up by ~4% (Karpathy, nanoGPT /
# "Let's reproduce GPT-2", 2024) with the LM head ~1/4 of the step: its GEMMs run ~0.8x.
MISALIGNED_GEMM = 0.8


@kernel
def gemm_efficiency(m, n, k, dv):
    """Achieved fraction of peak for a GEMM of shape (m, n, k): f / (1 + m0/m + n0/n + k0/k),
    times ``MISALIGNED_GEMM`` when a dimension of 64 or more is not a multiple of 8 (16-byte
    rows of 16-bit elements): cuBLAS then cannot use its vectorised/TMA kernels."""
    m = max(m, 1.0)
    n = max(n, 1.0)
    k = max(k, 1.0)
    eff = dv[DeviceCol.GEMM_FRAC] / (1.0 + dv[DeviceCol.M0] / m + dv[DeviceCol.N0] / n + dv[DeviceCol.K0] / k)
    if _misaligned(m) or _misaligned(n) or _misaligned(k):
        eff *= MISALIGNED_GEMM
    return eff


@kernel
def _misaligned(dim):
    return dim >= 64.0 and dim % 8.0 != 0.0


@kernel
def attention_efficiency(seq, head_dim, backward, dv):
    """Achieved fraction of peak for flash attention: falls off at short sequences and small heads."""
    base = dv[DeviceCol.ATTN_BWD] if backward else dv[DeviceCol.ATTN_FWD]
    hd0 = dv[DeviceCol.ATTN_HD0]
    head = (head_dim / (head_dim + hd0)) / (REFERENCE_HEAD_DIM / (REFERENCE_HEAD_DIM + hd0))
    return base * min(head, 1.0) * seq / (seq + dv[DeviceCol.ATTN_SEQ0])


@kernel
def kernel_times(ops, i, dv, clock):
    """(compute time, memory time) of one kernel of row ``i`` at relative clock ``clock``."""
    kind = ops[i, OpCol.KIND]
    t_mem = (ops[i, OpCol.BYTES] + dv[DeviceCol.MEM_HALF]) / dv[DeviceCol.MEM_BW]
    if kind == K_GEMM:
        eff = gemm_efficiency(ops[i, OpCol.M], ops[i, OpCol.N], ops[i, OpCol.K], dv)
        return ops[i, OpCol.FLOP] / (dv[DeviceCol.PEAK] * eff * clock), t_mem
    if kind in (K_ATTN_FWD, K_ATTN_BWD):
        eff = attention_efficiency(ops[i, OpCol.M], ops[i, OpCol.K], kind == K_ATTN_BWD, dv)
        return ops[i, OpCol.FLOP] / (dv[DeviceCol.ATTN_PEAK] * eff * clock), t_mem
    if kind == K_HOST:
        return 0.0, 0.0
    return 0.0, t_mem


@kernel
def host_time(ops, i, dv):
    """Host dispatch time of one kernel of row ``i`` (eager mode)."""
    cls = ops[i, OpCol.HOST]
    if cls == H_GEMM:
        t = dv[DeviceCol.HOST_GEMM]
    elif cls == H_OP:
        t = dv[DeviceCol.HOST_OP]
    elif cls == H_VIEW:
        t = 0.2 * dv[DeviceCol.HOST_OP]
    else:
        t = 0.0
    if ops[i, OpCol.PHASE] == PH_BWD:
        t *= dv[DeviceCol.HOST_BWD_FACTOR]
    return t


@kernel
def play(ops, n, dv, clock, graph, out):
    """Run rows 0..n-1 through the host/GPU pipeline at ``clock``; fill ``out`` (R_* indices).

    ``graph`` true: one host launch for the whole table (CUDA graph), no per-op dispatch.
    """
    host = dv[DeviceCol.HOST_OP] if graph else 0.0
    gpu = 0.0
    busy = 0.0
    t_compute = 0.0
    t_memory = 0.0
    busy_c = 0.0
    busy_m = 0.0
    flop = 0.0
    overhead = dv[DeviceCol.KERNEL_OVERHEAD]
    for i in range(n):
        if ops[i, OpCol.KIND] == K_HOST:
            if not graph:
                host += host_time(ops, i, dv) * ops[i, OpCol.COUNT]
            continue
        tc, tm = kernel_times(ops, i, dv, clock)
        tk = overhead + max(tc, tm)
        th = 0.0 if graph else host_time(ops, i, dv)
        count = ops[i, OpCol.COUNT]
        reps = int(np.ceil(count - 1e-9))
        scale = count / reps if reps > 0 else 0.0
        if reps > 0:
            # ``reps`` launches of one kernel (an MoE layer's experts), in closed form so the cost
            # does not grow with the count: each launch waits for the host (th) and the GPU (d),
            #   host_j = host + j*th,  gpu_j = max(gpu_{j-1}, host_j) + d,
            # so gpu_reps = max(gpu + reps*d, max_j (host + j*th + (reps - j + 1)*d)), the inner
            # max at j = 1 when the GPU is the slower stage (th <= d), else at j = reps.
            d = tk * scale
            if th <= d:
                gpu = max(gpu + reps * d, host + th + reps * d)
            else:
                gpu = max(gpu + reps * d, host + reps * th + d)
            host += reps * th
        busy += tk * count
        if tc >= tm:
            t_compute += tc * count
        else:
            t_memory += tm * count
        busy_c += tc * count
        busy_m += tm * count
        flop += ops[i, OpCol.FLOP] * count
    total = max(gpu, host)
    out[ResultCol.TIME] = total
    out[ResultCol.GPU_BUSY] = busy
    out[ResultCol.COMPUTE] = t_compute
    out[ResultCol.MEMORY] = t_memory
    out[ResultCol.HOST] = host
    out[ResultCol.CLOCK] = clock
    out[ResultCol.FLOP] = flop
    out[ResultCol.BUSY_C] = busy_c
    out[ResultCol.BUSY_M] = busy_m


@kernel
def busy_power(total, busy_c, busy_m, dv, clock):
    """Average board power over ``total`` seconds in which the compute units are busy
    ``busy_c`` s at ``clock`` and the memory system ``busy_m`` s: idle, plus each unit's draw
    above idle for the time it works (compute at clock^alpha). A kernel's compute and memory
    traffic overlap, so both count: lowering the clock of memory-bound work stretches it only
    once its compute outlasts its memory traffic, and its power then falls as bytes per second."""
    if total <= 0.0:
        return dv[DeviceCol.IDLE_W]
    idle = dv[DeviceCol.IDLE_W]
    above_c = (dv[DeviceCol.COMPUTE_W] - idle) * clock ** dv[DeviceCol.DVFS] * min(busy_c, total)
    above_m = (dv[DeviceCol.MEM_W] - idle) * min(busy_m, total)
    return idle + (above_c + above_m) / total


@kernel
def average_power(out, dv, clock):
    """Average board power over a played table."""
    return busy_power(out[ResultCol.TIME], out[ResultCol.BUSY_C], out[ResultCol.BUSY_M], dv, clock)


@kernel
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
        stretch = duty_cycle_stretch(power, cap_w, dv[DeviceCol.IDLE_W])
        out[ResultCol.TIME] *= stretch
        power = dv[DeviceCol.IDLE_W] + (power - dv[DeviceCol.IDLE_W]) / stretch
    out[ResultCol.POWER] = power
    out[ResultCol.ENERGY] = power * out[ResultCol.TIME]


@kernel
def duty_cycle_stretch(power_w, cap_w, idle_w):
    """Time factor by which a board that draws ``power_w`` even at its lowest clock (memory-bound
    work) must idle between kernels to average ``cap_w``: active share (cap - idle) / (power -
    idle). 1 when the cap is met; the cap is held at no less than 1% above idle."""
    if power_w <= cap_w or power_w <= idle_w:
        return 1.0
    cap = max(cap_w, idle_w + 0.01 * (power_w - idle_w))
    return (power_w - idle_w) / (cap - idle_w)


@kernel
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


@kernel
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
            out[ResultCol.POWER] = average_power(out, dv, clock)
            out[ResultCol.ENERGY] = out[ResultCol.POWER] * out[ResultCol.TIME]
            results.append(out)
            energy += weight * out[ResultCol.ENERGY]
            total += weight * out[ResultCol.TIME]
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
        stretch = duty_cycle_stretch(power, cap_w, dv[DeviceCol.IDLE_W])
        if stretch > 1.0:
            power = dv[DeviceCol.IDLE_W] + (power - dv[DeviceCol.IDLE_W]) / stretch
            for out in results:
                out[ResultCol.TIME] *= stretch
                out[ResultCol.POWER] = power
                out[ResultCol.ENERGY] = power * out[ResultCol.TIME]
    return clock, results, power


__all__ = [
    "ResultCol",
    "attention_efficiency",
    "duty_cycle_stretch",
    "gemm_efficiency",
    "kernel_times",
    "new_result",
    "play",
    "play_capped",
    "play_parts",
]

