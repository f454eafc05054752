"""Speed of a multi-site run (off by default; `pytest -m benchmark`): scenarios/two-sites.yaml
against its two sites run alone as single-site scenarios. A multi-site run is those runs plus
a split before and a merge after (simulator/scenario/sites.py, simulator/report/sites.py), so
its CPU time over theirs should stay near 1; reported as that ratio, never asserted as a time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from simulator import api

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parent.parent


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def test_two_sites_cost_what_their_parts_cost():
    loaded = api.load_scenario(ROOT / "scenarios" / "two-sites.yaml")
    api.simulate(loaded)                                   # warm caches (Numba, cost-model tables)
    together = min(_cpu(lambda: api.simulate(loaded)) for _ in range(3))
    alone = min(sum(_cpu(lambda part=part: api.simulate(part)) for part in loaded.parts) for _ in range(3))
    print(f"\ntwo-sites.yaml: {together:.2f} s CPU as one multi-site run, {alone:.2f} s for its two sites "
          f"alone; ratio {together / alone:.3f} (target near 1: the split and merge cost little)")
    assert together / alone < 1.5
