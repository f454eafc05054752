"""Speed and memory benchmarks (off by default; run with `make bench` or `pytest -m benchmark`).

Targets are reported as ratios measured in one run, never as wall-clock asserts in unit tests:
- engine: 30 simulated days of a 16,384-GPU site with 5-minute samples; simulated seconds per
  wall second at 1k and 16k GPUs, and their ratio (cost independent of GPU count);
- engine peak memory (tracemalloc) for the 16k-GPU month;
- a 16k-GPU month with inference services at two request rates (cost per sample, not per request);
- layout search: layouts evaluated per second on one core;
- estimate: wall time of `dcsim estimate train` and `dcsim estimate serve` (one configuration, a
  5-point closed-loop curve) including interpreter start.
Deterministic counters (events processed) are asserted so a change in work is caught.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from simulator import api

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parent.parent


def site(gpus: int, days: int = 30) -> dict:
    """A site of DGX H100 racks (4 nodes each) running four GPT-3-class jobs back to back."""
    racks = gpus // 32
    jobs = []
    per_job = gpus // 4
    for i in range(4):
        jobs.append({"name": f"job{i}", "model": "llama3-70b", "tokens": "2T", "global_batch": 2048,
                     "micro_batch": 1, "seq": 4096, "gpus": per_job, "start": f"{i * days / 8}d",
                     "precision": "bf16-mixed", "layout": {"tp": 8, "pp": 4}})
    return {
        "name": f"bench-{gpus}",
        "simulation": {"horizon": f"{days}d", "sample_interval": "5min", "seed": 1},
        "site": {"power_envelope": f"{gpus * 2.0}kW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "h100", "node": "dgx-h100", "nodes_per_rack": 4, "count": racks}]},
        "workloads": {"training": jobs},
    }


def timed_run(gpus: int) -> tuple[float, dict]:
    loaded = api.load_scenario(site(gpus))
    start = time.perf_counter()
    result = api.simulate(loaded)
    return time.perf_counter() - start, result.summary


def test_engine_cost_is_independent_of_gpu_count():
    api.simulate(api.load_scenario(site(1024, days=1)))  # warm the Numba cache
    wall_1k, s1k = timed_run(1024)
    wall_16k, s16k = timed_run(16384)
    rate_1k = s1k["horizon_s"] / wall_1k
    rate_16k = s16k["horizon_s"] / wall_16k
    print(f"\n1k GPUs: {wall_1k:.2f} s wall, {rate_1k:,.0f} simulated s per wall s, "
          f"{s1k['events_processed']} events")
    print(f"16k GPUs: {wall_16k:.2f} s wall, {rate_16k:,.0f} simulated s per wall s, "
          f"{s16k['events_processed']} events")
    print(f"ratio 16k/1k wall time: {wall_16k / wall_1k:.2f} (target ~1); 16k month target < 5 s")
    # The work (events: samples plus a few per job change) must not grow with the GPU count.
    samples = s1k["horizon_s"] / s1k["sample_interval_s"]
    for s in (s1k, s16k):
        assert samples <= s["events_processed"] <= samples + 50 * s["jobs_total"]


def test_serving_site_cost_is_per_sample_not_per_request():
    """Inference services are aggregated per sample interval: a month of a 16k-GPU site with
    services at 10x the request rate costs the same events and about the same wall time."""
    def with_services(rate: float) -> dict:
        sc = site(16384)
        sc["workloads"]["training"] = sc["workloads"]["training"][:2]
        sc["workloads"]["inference"] = [
            {"name": "chat", "model": "llama3-70b", "replicas": 512, "gpus_per_replica": 4,
             "arrival_rate": f"{rate}/s", "daily_profile": "diurnal", "prompt_tokens": 2048,
             "output_tokens": 512, "max_batch": 64},
            {"name": "code", "model": "llama3-8b", "replicas": 2048, "arrival_rate": f"{10 * rate}/s",
             "prompt_tokens": 4096, "output_tokens": 128, "max_batch": 32}]
        return sc

    walls, events = [], []
    for rate in (100.0, 1000.0):
        loaded = api.load_scenario(with_services(rate))
        start = time.perf_counter()
        result = api.simulate(loaded)
        walls.append(time.perf_counter() - start)
        events.append(result.summary_dict["events_processed"])
        served = result.summary_dict["requests_served"]
        print(f"\n16k GPUs, 2 services at {rate:g} and {10 * rate:g} req/s, 30 d / 5 min: {walls[-1]:.2f} s "
              f"wall, {result.summary_dict['horizon_s'] / walls[-1]:,.0f} simulated s per wall s, "
              f"{served:,.0f} requests served, {events[-1]} events")
    print(f"ratio of wall times at 10x the requests: {walls[1] / walls[0]:.2f} (target ~1)")
    assert events[0] == events[1]


def test_engine_peak_memory():
    tracemalloc.start()
    timed_run(16384)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\npeak traced memory of a 16k-GPU month: {peak / 2**20:.1f} MiB (target < 500 MB)")
    assert peak < 500e6


def test_layout_search_rate():
    import numpy as np

    from simulator.costmodel.comm import CommModel
    from simulator.costmodel.device import DeviceModel
    from simulator.costmodel.precision import Recipe
    from simulator.costmodel.search import prepare_search, search_layouts
    from simulator.domain.catalog import shipped_catalog

    catalog = shipped_catalog()
    model = catalog.models.get("gpt3-175b")
    device = DeviceModel.from_name("h100-sxm")
    comm = CommModel.for_node(catalog.nodes.get("dgx-h100"), device.spec)
    args = (model, device, 4096, 2048, 2048, Recipe("bf16-mixed", "selective", "adamw-fused"), comm)
    search_layouts(*args)  # warm the Numba cache
    start = time.perf_counter()
    found = search_layouts(*args)
    wall = time.perf_counter() - start
    print(f"\nlayout search, 4096 GPUs: {found.evaluated} candidates, {found.feasible} fit, "
          f"{wall * 1e3:.1f} ms end to end (enumeration, stage costs, kernel, ranking)")
    inputs = prepare_search(*args)
    many = np.tile(inputs.layouts, (max(1_000_000 // len(inputs.layouts), 1), 1))
    start, cpu_start = time.perf_counter(), time.process_time()
    out = inputs.evaluate(many)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"layout kernel: {len(many):,} layouts in {wall:.3f} s = {len(many) / wall:,.0f} layouts/s "
          f"on one core, {len(many) / cpu:,.0f} per CPU second (target >= 1,000,000/s)")
    assert np.isfinite(out).all()
    assert found.best is not None


def test_estimate_cli_wall_time():
    cmd = [sys.executable, "-m", "simulator.cli", "estimate", "train", "--model", "gpt3-1.3b",
           "--accelerator", "h100-sxm", "--micro-batch", "4", "--seq", "2048", "--format", "json"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)  # warm the cache
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - start
    print(f"\ndcsim estimate train: {wall:.2f} s wall including interpreter start (target < 1.5 s)")


def _timed_cli(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``dcsim`` command in a fresh interpreter, after a warm-up run."""
    import resource

    cmd = [sys.executable, "-m", "simulator.cli", *args]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_estimate_serve_wall_time():
    """One configuration (maximum throughput) and a 5-point closed-loop curve, each including
    interpreter start; CPU time is printed beside wall time (a loaded machine stretches wall)."""
    base = ["estimate", "serve", "--model", "llama3-70b", "--accelerator", "h100-sxm", "--tp", "2",
            "--prompt", "5000", "--output-tokens", "500", "--precision", "fp8", "--kv-precision", "fp8",
            "--format", "json"]
    one_wall, one_cpu = _timed_cli(base)
    curve_wall, curve_cpu = _timed_cli([*base, "--concurrency", "1,5,25,50,100"])
    print(f"\ndcsim estimate serve, one configuration: {one_wall:.2f} s wall, {one_cpu:.2f} s CPU (target < 1.5 s)")
    print(f"dcsim estimate serve, 5-point concurrency curve: {curve_wall:.2f} s wall, {curve_cpu:.2f} s CPU "
          f"(target < 3 s); curve / one: {curve_wall / one_wall:.2f}")


def test_month_with_hourly_operation_policies(tmp_path):
    """16k GPUs for a month with every hourly policy on: flexible jobs paused in the day's four
    dearest hours (checkpoint and restore), a demand-response cap three afternoons a week, a
    battery arbitraging the price and on-site solar. Target <= 1 s of wall time per simulated
    month (the engine run; the report's counterfactual run for the savings is timed apart)."""
    gpus = 16384
    (tmp_path / "dr.csv").write_text("hour,cap_kw\n" + "".join(
        f"{h},{gpus * 1.6 if (h // 24) % 7 in (1, 3, 5) and 14 <= h % 24 < 17 else 1e9}\n" for h in range(168)))
    sc = site(gpus)
    sc["site"]["electricity"] = {"price": "$0.08/kWh", "price_profile": {"type": "time-of-use"}}
    sc["operation"] = {"flexible": {"jobs": "all", "top_hours": 4},
                       "demand_response": {"path": "dr.csv"},
                       "battery": {"capacity": "20MWh", "power": "5MW"},
                       "onsite": [{"capacity": "10MW", "profile": "solar"}],
                       "savings_baseline": False}
    loaded = api.load_scenario(sc, base_dir=tmp_path)
    warm = {**sc, "simulation": {**sc["simulation"], "horizon": "1d"},
            "workloads": {"training": sc["workloads"]["training"][:1]}}
    api.simulate(api.load_scenario(warm, base_dir=tmp_path))     # the Numba cache
    start = time.perf_counter()
    cpu = time.process_time()
    result = api.simulate(loaded)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    months = result.summary_dict["horizon_s"] / (30 * 86400.0)
    pauses = result.summary_dict["operation"]["policies"]["flexible"]["pauses"]
    print(f"\n16k GPUs, a month with hourly operation policies: {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{wall / months:.2f} s per simulated month (target <= 1; ratio {wall / months:.2f}), "
          f"{pauses} policy pauses, {result.summary_dict['events_processed']} events")
    with_baseline = api.load_scenario({**sc, "operation": {**sc["operation"], "savings_baseline": True}},
                                      base_dir=tmp_path)
    start = time.perf_counter()
    api.simulate(with_baseline)
    print(f"the same with the counterfactual run for the savings report: {time.perf_counter() - start:.2f} s wall")
    assert pauses > 0
