"""Trace replay at cluster scale (engine/scheduling/replay.py), and a replayed synthetic Philly
trace against the published Philly statistics (benchmarks/reference/traces/philly_check.md).

Run with ``pytest -m benchmark benchmarks/test_trace_speed.py -s``: CPU and wall times and the
scaling exponent are printed; targets are CPU-time ratios, not wall-clock asserts in unit tests.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from simulator.engine.record_sched import size_bucket
from simulator.engine.scheduling.pool import TracePool
from simulator.engine.scheduling.replay import Replay
from simulator.engine.trace.synth import PHILLY_VC_NODES, synthesize
from simulator.engine.trace.table import from_frame
from simulator.scenario.scheduling import EasyBackfill, FairShare, Fifo

pytestmark = pytest.mark.benchmark
DAY_S = 86400.0


def _replay(jobs: int, days: float, gpus: int, policy, seed: int = 1):
    table, problems = from_frame(synthesize("philly", days, seed, gpus=gpus, jobs=jobs), "bench")
    assert not problems
    pools = [TracePool(gpus // 8, 8, 4, 4, policy.placement == "topology")]
    cpu, wall = time.process_time(), time.perf_counter()
    result = Replay(table, pools, policy, days * DAY_S).run()
    return result, table, time.process_time() - cpu, time.perf_counter() - wall


def test_100k_jobs_30_days_16k_gpus_under_10s_cpu():
    result, _, cpu, wall = _replay(100_000, 30.0, 16_384, EasyBackfill(placement="topology"))
    print(f"\n100,000 jobs, 30 d, 16,384 GPUs (easy-backfill, topology): {cpu:.2f} s CPU, {wall:.2f} s wall, "
          f"utilisation {result.held_gpu_s / (result.total_gpus * result.span_s):.3f}")
    assert cpu < 10.0


def test_cost_grows_as_jobs_log_jobs():
    # the same load at every size: job rate per GPU fixed, the window grows with the job count
    cpus = []
    sizes = (1_000, 10_000, 100_000)
    for n in sizes:
        _, _, cpu, _ = _replay(n, 30.0 * n / 100_000, 16_384, EasyBackfill())
        cpus.append(cpu)
    exps = [math.log(cpus[i + 1] / cpus[i]) / math.log(sizes[i + 1] / sizes[i]) for i in range(2)]
    print("\nCPU s by jobs: " + ", ".join(f"{n:,}: {c:.3f}" for n, c in zip(sizes, cpus, strict=True))
          + f"; exponents 1k->10k {exps[0]:.2f}, 10k->100k {exps[1]:.2f}")
    assert exps[1] <= 1.1


# Published Philly numbers (benchmarks/reference/traces/philly_check.md, from stats.yaml):
SINGLE_GPU_SHARE = 0.82            # ATC'19 (secondary quote: ">82 %")
NODE_ACTIVITY = 0.739              # HeliosArtifact philly_node_sequence.csv: active / total nodes


def test_replayed_philly_trace_keeps_the_published_shape():
    days = 60.0
    table, _ = from_frame(synthesize("philly", days, 11), "philly")
    total = sum(PHILLY_VC_NODES.values())
    out = {}
    for name, policy in (("fifo", Fifo()), ("vc-fifo", FairShare(
            tenants={vc: {"share": n / total} for vc, n in PHILLY_VC_NODES.items()}, borrow=False))):
        r = Replay(table, [TracePool(420, 8, 4, 4, False)], policy, days * DAY_S).run()
        started = ~np.isnan(r.start_s)
        wait = r.start_s - table.submit_s
        bucket = size_bucket(table.gpus)
        nonzero = [float(np.median(wait[started & (bucket == i) & (wait > 0)]) / 60.0)
                   if np.any(started & (bucket == i) & (wait > 0)) else math.nan for i in range(4)]
        out[name] = (r.held_gpu_s / (r.total_gpus * r.span_s), nonzero)
        print(f"\n{name}: utilisation {out[name][0]:.3f}; median non-zero wait by size 1, 2-4, 5-8, >8 (min): "
              + ", ".join(f"{x:.1f}" for x in nonzero))
    share = float(np.mean(table.gpus == 1))
    print(f"single-GPU share {share:.3f} (published {SINGLE_GPU_SHARE})")
    assert share == pytest.approx(SINGLE_GPU_SHARE, rel=0.2)
    assert out["fifo"][0] == pytest.approx(NODE_ACTIVITY, rel=0.2)


def test_a_helios_scale_million_jobs_over_6_months_under_120s_cpu():
    table, _ = from_frame(synthesize("helios", 180.0, 1, jobs=1_000_000), "helios")
    cpu, wall = time.process_time(), time.perf_counter()
    result = Replay(table, [TracePool(512, 8, 4, 4, True)], EasyBackfill(placement="topology"), 180 * DAY_S).run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"\n1,000,000 Helios-like jobs, 180 d, 4,096 GPUs: {cpu:.1f} s CPU, {wall:.1f} s wall, utilisation "
          f"{result.held_gpu_s / (result.total_gpus * result.span_s):.3f}")
    assert cpu < 120.0
