"""Sweep speed-up on a dask.distributed LocalCluster (off by default: `pytest -m benchmark`).

A 20-variant sweep (5 output lengths of a service, so every variant builds its own serving load
curve, x 4 training job sizes; the 5 variants of the largest job ask for more GPUs than the
cluster has and fail) runs
as ``dcsim sweep`` twice, each a fresh process: once with one worker, once on ``--dask local
--workers 2``. Reported: the wall time of each, their ratio (target >= 1.6 with two free cores),
and the CPU time each used (its process and children), so a busy machine shows as a low ratio at
equal CPU time. The two tables must be identical. Measured on the 2-core development machine
under a load of ~4.8: 24.2 s (16.0 s CPU) on one worker, 39.4 s (28.9 s CPU) on two: each
dask worker pays ~6 s of CPU to start (imports, Numba cache loads) and rebuilds the serving load
curve, so the target needs free cores (asserted only where there are).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

SCENARIO = """
name: sweep-bench
simulation: {horizon: 1d, sample_interval: 15min, seed: 1}
site: {power_envelope: 1MW, climate: temperate}
cluster:
  racks: [{name: r, node: dgx-h100, nodes_per_rack: 1, count: 3}]
workloads:
  training:
    - {name: j, model: gpt3-1.3b, tokens: 200B, global_batch: 96, micro_batch: 1, seq: 2048, gpus: 8, layout: auto}
  inference:
    - {name: chat, model: llama3-8b, replicas: 1, gpus_per_replica: 1, arrival_rate: 5 req/s,
       prompt_tokens: 1024, output_tokens: 256, slo: {ttft: 2s, tpot: 60ms}}
sweep:
  axes:
    workloads.inference[0].output_tokens: [128, 192, 256, 320, 384]
    workloads.training[0].gpus: [8, 16, 24, 32]
"""


def _sweep(args: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the command and its children, stdout) of one ``dcsim sweep``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "sweep", *args], capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 1, done.stderr  # some variants failed, the others ran
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), done.stdout


def test_dask_local_two_workers_speed_up(tmp_path: Path):
    pytest.importorskip("dask.distributed")
    path = tmp_path / "sweep.yaml"
    path.write_text(SCENARIO)
    warm = ["--axis", "workloads.inference[0].output_tokens=64", "--axis", "workloads.training[0].gpus=8"]
    subprocess.run([sys.executable, "-m", "simulator.cli", "sweep", str(path), "-o", str(tmp_path / "w"), *warm],
                   capture_output=True, check=True)  # Numba kernels compiled and cached before timing
    wall1, cpu1, one = _sweep([str(path), "-o", str(tmp_path / "one"), "-f", "csv"])
    wall2, cpu2, two = _sweep([str(path), "-o", str(tmp_path / "two"), "-f", "csv", "--dask", "local",
                               "--workers", "2"])
    assert one == two
    assert sum(line.split(",")[3] == "failed" for line in one.splitlines()[1:]) == 5
    ratio = wall1 / wall2
    print(f"\nsweep of 20 variants (5 infeasible): 1 worker {wall1:.1f} s wall, {cpu1:.1f} s CPU; "
          f"dask local 2 workers {wall2:.1f} s wall, {cpu2:.1f} s CPU; speed-up {ratio:.2f}x "
          f"(target >= 1.6; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    # Two workers can only be 1.6x faster with two cores to spare: on a shared, loaded machine the
    # ratio is reported (with the CPU time, which shows the workers' start-up cost) but not held.
    if (os.cpu_count() or 1) >= 4 and os.getloadavg()[0] < (os.cpu_count() or 1) - 2:
        assert ratio >= 1.6


def test_axis_checks_are_linear_in_the_values(tmp_path: Path):
    """20,000 bad values answer (the first 50 problems) in well under a second; 20,000 good ones
    (each parsed by its field's own type) in about as long as 10,000 take twice over."""
    from simulator import api
    from simulator.sweep.axes import MAX_PROBLEMS, check_axes

    path = tmp_path / "sweep.yaml"
    path.write_text(SCENARIO)
    loaded = api.load_scenario(path)
    start = time.perf_counter()
    problems = check_axes(loaded, {"site.power_envelope": [f"{i}XW" for i in range(20_000)]})
    bad_s = time.perf_counter() - start
    assert len(problems) == MAX_PROBLEMS + 1
    times = []
    for n in (10_000, 20_000):
        start = time.perf_counter()
        assert check_axes(loaded, {"site.power_envelope": [f"{i}kW" for i in range(1, n + 1)]}) == []
        times.append(time.perf_counter() - start)
    print(f"\naxis checks: 20,000 bad values {bad_s * 1e3:.0f} ms; 10,000 / 20,000 good values "
          f"{times[0] * 1e3:.0f} / {times[1] * 1e3:.0f} ms (ratio {times[1] / times[0]:.2f}, linear: 2)")
    assert bad_s < 0.5
    assert times[1] / times[0] < 3.0
