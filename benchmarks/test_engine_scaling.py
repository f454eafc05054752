"""The engine's cost against the work it is given (issue 15), measured as CPU time of the event
loop (planning apart) in one run and printed as ratios:

- job-count scaling: 10, 100 and 1,000 hand-written jobs on a capped 4,096-GPU site
  (benchmarks/scale_scenarios.py); the exponent of CPU time against jobs (target <= 1.1 from
  100 to 1,000; 1.18 on this scenario before the power bookkeeping was made incremental, 1.31
  in the issue's measurement);
- the 100,000-GPU busy year: 500 jobs, node failures and two inference services, 5-minute
  samples (target < 60 s CPU).
Counters (events processed, power-model calls) are printed beside the times, so a change in
work shows apart from a change in speed.
"""

from __future__ import annotations

import math
import time

import pytest

from benchmarks.scale_scenarios import busy_year, many_jobs
from simulator import api
from simulator.engine.planning import plan_run
from simulator.engine.world import World

pytestmark = pytest.mark.benchmark


def loop_cpu(scenario: dict) -> tuple[float, float, World]:
    """(CPU s, wall s, world) of the event loop alone, planning done before."""
    world = World(plan_run(api.load_scenario(scenario)))
    cpu, wall = time.process_time(), time.perf_counter()
    world.run()
    return time.process_time() - cpu, time.perf_counter() - wall, world


def test_job_count_scaling():
    loop_cpu(many_jobs(10, days=1))                       # the Numba cache and the imports
    cpu = {}
    for n in (10, 100, 1000):
        cpu[n], wall, world = loop_cpu(many_jobs(n))
        print(f"\n{n:5d} jobs: {cpu[n]:7.2f} s CPU, {wall:7.2f} s wall in the loop, "
              f"{world.env.events_processed} events, {world.updates} updates, "
              f"{world.power.memo.calls} power-model calls, {world.power.evaluations} site evaluations", end="")
    lo = math.log(cpu[100] / cpu[10]) / math.log(10)
    hi = math.log(cpu[1000] / cpu[100]) / math.log(10)
    print(f"\nscaling exponent 10->100: {lo:.2f}, 100->1000: {hi:.2f} (target <= 1.1; 1.18 before)")
    assert hi < 1.5


def test_busy_year_100k_gpus():
    cpu, wall, world = loop_cpu(busy_year())
    print(f"\n100k GPUs, 500 jobs, failures, 2 services, a year of 5-min samples: {cpu:.1f} s CPU, "
          f"{wall:.1f} s wall in the loop, {world.env.events_processed} events (target < 60 s CPU)")
    assert cpu < 3 * 60.0


README_LAYOUTS_PER_S = 1.2e6     # the low end of the README's 1.2-1.8 M layouts/s when issue 15 was filed


def test_layout_kernel_rate_in_cpu_time():
    """The layout-evaluation kernel in layouts per CPU second (a loaded machine stretches wall
    time, test_speed.py prints that), against the README's figure."""
    import numpy as np

    from simulator.costmodel.comm import CommModel
    from simulator.costmodel.device import DeviceModel
    from simulator.costmodel.precision import Recipe
    from simulator.costmodel.search import prepare_search
    from simulator.domain.catalog import shipped_catalog

    catalog = shipped_catalog()
    device = DeviceModel.from_name("h100-sxm")
    comm = CommModel.for_node(catalog.nodes.get("dgx-h100"), device.spec)
    inputs = prepare_search(catalog.models.get("gpt3-175b"), device, 4096, 2048, 2048,
                            Recipe("bf16-mixed", "selective", "adamw-fused"), comm)
    many = np.tile(inputs.layouts, (max(1_000_000 // len(inputs.layouts), 1), 1))
    inputs.evaluate(many[:1000])                           # the Numba cache
    cpu, wall = time.process_time(), time.perf_counter()
    out = inputs.evaluate(many)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rate = len(many) / cpu
    print(f"\nlayout kernel: {len(many):,} layouts in {cpu:.2f} s CPU ({wall:.2f} s wall) = {rate:,.0f} layouts "
          f"per CPU second; ratio to the README's {README_LAYOUTS_PER_S:,.0f}/s: {rate / README_LAYOUTS_PER_S:.2f} "
          "(target >= 1)")
    assert np.isfinite(out).all()
    assert rate > README_LAYOUTS_PER_S / 4
