"""Device model and timeline: GEMM curve vs the H100 microbenchmarks, the host/GPU launch
pipeline worked by hand, board power and the power cap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simulator.costmodel import device as dm
from simulator.costmodel import ops as optab
from simulator.costmodel import timeline as tl
from simulator.domain.catalog import shipped_catalog

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "benchmarks" / "reference" / "h100_microbench.json"
US = 1e-6


@pytest.fixture(scope="module")
def bench() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="module")
def h100() -> dm.DeviceModel:
    return dm.DeviceModel.from_name("h100-sxm")


@pytest.fixture(scope="module")
def cal() -> dict:
    return shipped_catalog().calibration_for("hopper-measured")


def toy_device() -> np.ndarray:
    """Round numbers: host 10 us per op, 20 us per GEMM; 2 us in-stream overhead; 1 TB/s;
    1 PFLOP/s at efficiency 1; idle 100 W, compute 800 W, memory 400 W, DVFS exponent 3."""
    dv = np.zeros(dm.DEVICE_VECTOR_LEN)
    dv[dm.DeviceCol.PEAK] = dv[dm.DeviceCol.ATTN_PEAK] = 1e15
    dv[dm.DeviceCol.GEMM_FRAC] = 1.0
    dv[dm.DeviceCol.MEM_BW] = 1e12
    dv[dm.DeviceCol.KERNEL_OVERHEAD] = 2 * US
    dv[dm.DeviceCol.HOST_GEMM] = 20 * US
    dv[dm.DeviceCol.HOST_OP] = 10 * US
    dv[dm.DeviceCol.HOST_BWD_FACTOR] = 0.5
    dv[dm.DeviceCol.IDLE_W], dv[dm.DeviceCol.COMPUTE_W] = 100.0, 800.0
    dv[dm.DeviceCol.MEM_W], dv[dm.DeviceCol.DVFS] = 400.0, 3.0
    return dv


def table(*rows) -> tuple[np.ndarray, int]:
    """Rows ('mem', bytes[, count, phase]) or ('gemm', m, n, k[, count])."""
    ops = optab.new_table(len(rows) + 1)
    n = 0
    for r in rows:
        if r[0] == "mem":
            count = r[2] if len(r) > 2 else 1.0
            phase = r[3] if len(r) > 3 else optab.PH_FWD
            n = optab.put_mem(ops, n, float(r[1]), phase, 0.0, float(count))
        else:
            count = r[4] if len(r) > 4 else 1.0
            m, nn, k = float(r[1]), float(r[2]), float(r[3])
            n = optab.put_gemm(ops, n, m, nn, k, 2.0, optab.PH_FWD, 0.0, float(count))
    return ops, n


def played(ops, n, dv, clock=1.0, graph=False) -> np.ndarray:
    out = tl.new_result()
    tl.play(ops, n, dv, clock, graph, out)
    return out


# ------------------------------------------------------------------ GEMM curve and roofline


def test_gemm_efficiency_is_the_fitted_formula(h100, cal):
    c = cal["gemm"]["bf16"]
    dv = h100.vector("bf16")
    for m, n, k in [(8192, 8192, 8192), (512, 1024, 1024), (1, 4096, 4096), (2048, 128, 96)]:
        expected = c.peak_fraction / (1 + c.m0 / m + c.n0 / n + c.k0 / k)
        assert tl.gemm_efficiency(m, n, k, dv) == pytest.approx(expected, rel=1e-12)


def test_misaligned_gemm_is_penalised(h100):
    dv = h100.vector("bf16")
    # a vocabulary of 50257 (not a multiple of 8) against the padded 50264
    slow = tl.gemm_efficiency(8192, 50257, 1024, dv)
    fast = tl.gemm_efficiency(8192, 50264, 1024, dv)
    assert slow == pytest.approx(tl.MISALIGNED_GEMM * fast, rel=1e-3)


def test_fit_reproduces_every_bf16_gemm_within_20_percent(bench, h100):
    dv = h100.vector("bf16")
    rows = [r for r in bench["gemm"] if r["dtype"] == "bfloat16"]
    assert len(rows) == 24
    errors = []
    for r in rows:
        ops, _ = table(("gemm", r["m"], r["n"], r["k"]))
        tc, tm = tl.kernel_times(ops, 0, dv, 1.0)
        # the fit's own form: host dispatch + max(FLOP / (peak * eff), bytes / bw)
        predicted = dv[dm.DeviceCol.HOST_GEMM] + max(tc, tm)
        errors.append(predicted / r["seconds"] - 1.0)
    assert max(abs(e) for e in errors) < 0.20, errors


def test_fit_reproduces_copy_bandwidth_within_10_percent(bench, h100):
    dv = h100.vector("bf16")
    for r in bench["membw"]:
        nbytes = 2 * r["mib"] * 2**20        # a copy reads and writes the buffer
        ops, _ = table(("mem", nbytes))
        _, tm = tl.kernel_times(ops, 0, dv, 1.0)
        predicted = dv[dm.DeviceCol.HOST_OP] + tm
        assert predicted == pytest.approx(r["seconds"], rel=0.10)
    # the large copies run at ~90% of the 3.35 TB/s datasheet bandwidth
    assert dv[dm.DeviceCol.MEM_BW] == pytest.approx(bench["membw"][-1]["gbps_rw"] * 1e9, rel=0.02)


def test_gemv_is_memory_bound(h100):
    dv = h100.vector("bf16")
    ops, n = table(("gemm", 1, 4096, 4096))
    tc, tm = tl.kernel_times(ops, 0, dv, 1.0)
    nbytes = 2 * (1 * 4096 + 4096 * 4096) + 2 * 4096   # read x and W, write y (bf16)
    # a 33.6 MB kernel reaches B / (B + B_half) of the copy bandwidth (B_half = 2.47 MB, calibration.yaml)
    bw = h100.calibration["memory_bw_fraction"] * 3.35e12
    assert tm == pytest.approx((nbytes + 2.47e6) / bw)
    assert nbytes / tm / bw == pytest.approx(nbytes / (nbytes + 2.47e6))
    assert tc < tm / 100
    out = played(ops, n, dv)
    assert out[tl.ResultCol.MEMORY] == pytest.approx(tm) and out[tl.ResultCol.COMPUTE] == 0.0


# ------------------------------------------------------------------ host/GPU pipeline


def test_play_host_bound_by_hand():
    dv = toy_device()
    # kernels of 1 MB (1 us + 2 us), 5 MB (5 + 2 us) and a tiny GEMM (0.06 us + 2 us)
    ops, n = table(("mem", 1e6), ("mem", 5e6), ("gemm", 100, 100, 100))
    out = played(ops, n, dv)
    # host dispatches end at 10, 20, 40 us; the GPU runs 10-13, 20-27, 40-42.06 us
    assert out[tl.ResultCol.HOST] == pytest.approx(40 * US)
    assert out[tl.ResultCol.TIME] == pytest.approx((10 + 10 + 20) * US + 2.06 * US)
    assert out[tl.ResultCol.GPU_BUSY] == pytest.approx((3 + 7 + 2.06) * US)


def test_play_gpu_bound_by_hand():
    dv = toy_device()
    ops, n = table(("mem", 100e6), ("mem", 50e6), ("mem", 30e6))
    out = played(ops, n, dv)
    # first launch after 10 us, then the GPU never waits: 102 + 52 + 32 us of kernels
    assert out[tl.ResultCol.TIME] == pytest.approx((10 + 102 + 52 + 32) * US)
    assert out[tl.ResultCol.MEMORY] == pytest.approx((100 + 50 + 30) * US)
    assert out[tl.ResultCol.COMPUTE] == 0.0


def test_graph_mode_has_one_launch():
    dv = toy_device()
    ops, n = table(("mem", 1e6), ("mem", 5e6), ("gemm", 100, 100, 100))
    out = played(ops, n, dv, graph=True)
    assert out[tl.ResultCol.TIME] == pytest.approx((10 + 3 + 7 + 2.06) * US)


def test_counts_and_backward_dispatch():
    dv = toy_device()
    repeated, n1 = table(("mem", 1e6, 3.0))
    single, n3 = table(("mem", 1e6), ("mem", 1e6), ("mem", 1e6))
    assert played(repeated, n1, dv)[tl.ResultCol.TIME] == pytest.approx(played(single, n3, dv)[tl.ResultCol.TIME])
    # autograd launches backward ops at half the forward dispatch cost: 3 x 5 us + 3 us
    bwd, n = table(("mem", 1e6, 3.0, optab.PH_BWD))
    assert played(bwd, n, dv)[tl.ResultCol.TIME] == pytest.approx((15 + 3) * US)


def test_compute_bound_kernels_stretch_with_clock():
    dv = toy_device()
    ops, n = table(("gemm", 10000, 10000, 10000))     # 2e12 FLOP: 2 ms at 1 PFLOP/s
    assert played(ops, n, dv, clock=0.5)[tl.ResultCol.TIME] == pytest.approx((20 + 2 + 4000) * US)


# ------------------------------------------------------------------ power


def test_average_power_by_hand():
    dv = toy_device()
    out = tl.new_result()
    out[tl.ResultCol.TIME], out[tl.ResultCol.BUSY_C], out[tl.ResultCol.BUSY_M] = 10.0, 4.0, 3.0
    # idle 100 W throughout, compute units 700 W above idle for 4 s, memory 300 W above for 3 s
    assert tl.average_power(out, dv, 1.0) == pytest.approx(100 + (4 * 700 + 3 * 300) / 10)
    # at half clock the compute units draw (800 - 100) * 0.5^3 = 87.5 W above idle
    assert tl.average_power(out, dv, 0.5) == pytest.approx(100 + (4 * 87.5 + 3 * 300) / 10)


def test_overlapping_compute_and_memory_both_draw():
    # A 2 ms GEMM (2e12 FLOP at 1 PFLOP/s) moving 3 x 1e8 x 2 B = 0.6 GB at 1 TB/s (0.6 ms) plus
    # 20 us launch overhead: compute busy the whole 2 ms, memory 0.6 ms of it.
    dv = toy_device()
    ops, n = table(("gemm", 10000, 10000, 10000))
    out = played(ops, n, dv)
    t = out[tl.ResultCol.TIME]
    assert out[tl.ResultCol.BUSY_C] == pytest.approx(2e-3) and out[tl.ResultCol.BUSY_M] == pytest.approx(0.6e-3)
    assert tl.average_power(out, dv, 1.0) == pytest.approx(100 + (2e-3 * 700 + 0.6e-3 * 300) / t)


def test_lowering_the_clock_of_memory_bound_work_only_saves_once_it_stretches():
    # 1e9 B copy (1 ms at 1 TB/s, ~no FLOP): memory draws 400 W whatever the clock, so a cap of
    # 250 W is met by idling between kernels: the 10 x 1 ms of memory traffic, 300 W above idle,
    # spread at 150 W above idle, takes 20 ms.
    dv = toy_device()
    copies, n = table(("mem", 1e9, 10.0))
    _, (res,), power = tl.play_parts([(copies, n, 1.0)], dv, 250.0)
    assert power == pytest.approx(250.0)
    assert res[tl.ResultCol.TIME] == pytest.approx(20e-3, rel=1e-6)


def test_power_constants_match_measurements(bench, h100):
    power = {p["what"]: p for p in bench["power"]}
    idle = min(p["power_w_from_energy"] for p in bench["power"] if p["what"] == "idle")
    copy = power["copy_4gib_sustained"]["power_w_from_energy"]
    assert h100.spec.idle_power == pytest.approx(idle, rel=0.01)
    assert h100.memory_power_w() == pytest.approx(copy, rel=0.01)
    # The 8192^3 GEMM at TDP runs at clock 0.893 and moves 3 x 8192^2 x 2 B while it computes:
    # TDP = idle + (P - idle) * 0.893^3 + (copy power - idle) * memory time / compute time.
    cal = h100.calibration
    curve = cal["gemm"]["bf16"]
    rate = 989e12 * curve.peak_fraction / (1 + (curve.m0 + curve.n0 + curve.k0) / 8192) * 0.893
    share = (3 * 8192**2 * 2 / (cal["memory_bw_fraction"] * h100.spec.hbm_bw)) / (2 * 8192**3 / rate)
    assert 0.05 < share < 0.15
    expected = 123 + (700 - 123 - (copy - 123) * share) / 0.893**3
    assert h100.compute_power_w() == pytest.approx(expected, rel=0.01)


def test_sustained_copy_draws_measured_power(bench, h100):
    dv = h100.vector("bf16")
    ops, n = table(("mem", 2 * 4 * 2**30, 200.0))
    _, _, avg = tl.play_parts([(ops, n, 1.0)], dv, 700.0)
    measured = next(p for p in bench["power"] if p["what"].startswith("copy"))
    assert avg == pytest.approx(measured["power_w_from_energy"], rel=0.01)


def test_sustained_gemm_at_tdp_runs_at_measured_clock(bench, h100):
    sustained = next(p for p in bench["power"] if p["what"].startswith("gemm"))
    burst = next(r for r in bench["gemm"]
                 if r["dtype"] == "bfloat16" and r["m"] == r["n"] == r["k"] == 8192)
    ratio = sustained["tflops"] / burst["tflops"]          # 685 / 767
    assert ratio == pytest.approx(0.893, abs=1e-3)
    dv = h100.vector("bf16")
    ops, n = table(("gemm", 8192, 8192, 8192, 1000.0))
    clock, (res,), avg = tl.play_parts([(ops, n, 1.0)], dv, 700.0)
    assert clock == pytest.approx(ratio, abs=2e-3)
    assert avg <= 700.0 + 1e-9
    tflops = 1000 * 2 * 8192**3 / res[tl.ResultCol.TIME] / 1e12
    assert tflops == pytest.approx(sustained["tflops"], rel=0.03)


def test_play_parts_meets_a_cap(h100):
    dv = h100.vector("bf16")
    gemms, ng = table(("gemm", 8192, 8192, 8192, 10.0))
    copies, nc = table(("mem", 1e9, 10.0))
    parts = [(gemms, ng, 3.0), (copies, nc, 1.0)]
    clock1, res1, p1 = tl.play_parts(parts, dv, 10_000.0)
    assert clock1 == 1.0 and p1 > 500.0
    clock, res, p = tl.play_parts(parts, dv, 500.0)
    assert clock < 1.0
    assert 500.0 * 0.995 <= p <= 500.0
    assert res[0][tl.ResultCol.TIME] > res1[0][tl.ResultCol.TIME]
    assert res[1][tl.ResultCol.TIME] == pytest.approx(res1[1][tl.ResultCol.TIME])   # memory-bound: clock-free


def test_capped_clock_agrees_with_play_parts(h100):
    dv = h100.vector("bf16")
    ops, n = table(("gemm", 8192, 8192, 8192, 100.0))
    full = played(ops, n, dv)
    for cap in (650.0, 500.0, 300.0):
        clock, _, _ = tl.play_parts([(ops, n, 1.0)], dv, cap)
        r = tl.ResultCol
        c = tl.capped_clock(full[r.TIME], full[r.COMPUTE], full[r.BUSY_C], full[r.BUSY_M], dv, cap)
        assert c == pytest.approx(clock, rel=1e-6)
