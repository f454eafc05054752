"""Does ``dcsim plan``'s search find the optimum of the shipped 3-year problem? (off by default:
``pytest -m benchmark``).

Every plan of scenarios/plan-3y.yaml's grid (7 decisions, 648 plans) is simulated once, on the
local process pool; the shipped TPE search is then replayed against those outcomes with ten
seeds (the shipped seed and nine more), so each search sees exactly the numbers a live search
would (each evaluation is a deterministic full run) and the ten searches cost no simulation.
Reported: the exhaustive optimum, and per seed the best feasible plan at the search's trial
budget, its gap to the optimum, the distinct evaluations it took, and the first evaluation
within 2% (target: within 2% in under 300 evaluations).

``DCSIM_PLAN_SAMPLE`` (default: the shipped 6 h) sets the sample interval of the copy searched:
a coarser one (e.g. 1d) keeps the same horizon, deliveries, deadlines and decisions and makes
the 648 runs affordable on two cores; ``DCSIM_PLAN_FIX`` (comma-separated decision names) keeps
those decisions at the scenario's own values for a smaller grid. The report says which was used.

Measured (2 shared cores, Dec 2026), the shipped two-site problem at its own 6 h samples, no
decision fixed: 648 plans simulated in 986 s on 2 workers (1.52 s each), 96 feasible; the
optimum, 509.14 M USD (H100 x 160 racks, liquid; B200 from 2028-01-01 x 136 racks, liquid; 48
chat-70b replicas), found exactly by all ten seeds at the shipped budget (120 trials: 83-96
distinct evaluations); within 2% after 10-39 evaluations.
Earlier, on the one-site version of the problem at 1 d samples with the two cooling decisions
fixed (162 plans): the optimum was found exactly by all ten seeds in 68-74 evaluations.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import pytest

from simulator import api
from simulator.plan import run_plan
from simulator.plan.candidates import candidate_raw, check_plan
from simulator.plan.search import PlanResult, grid_size, search_plans

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


def _raw_key(raw: dict) -> str:
    return json.dumps(raw, sort_keys=True, default=str)


def replay(loaded, spec, outcomes: dict[str, dict]) -> PlanResult:
    """The search ``spec`` asks for, with every candidate's outcome read from ``outcomes``."""
    return search_plans(loaded, spec, lambda raws: [outcomes[_raw_key(r)] for r in raws])


def first_within(result: PlanResult, optimum: float, tolerance: float) -> int | None:
    """Distinct evaluations made when the best feasible plan so far first came within
    ``tolerance`` of ``optimum`` (None: never)."""
    seen: set[str] = set()
    for trial in result.trials:
        seen.add(trial.key)
        if trial.feasible and trial.objectives[0] is not None and \
                float(trial.objectives[0]) <= optimum * (1.0 + tolerance):
            return len(seen)
    return None


@pytest.mark.timeout(7200)      # 648 full runs: tens of minutes on two cores
def test_plan_search_reaches_the_exhaustive_optimum():
    loaded = api.load_scenario(ROOT / "scenarios" / "plan-3y.yaml")
    sample = os.environ.get("DCSIM_PLAN_SAMPLE")
    if sample:
        loaded = loaded.with_changes({"simulation.sample_interval": sample})
    drop = [n for n in os.environ.get("DCSIM_PLAN_FIX", "").split(",") if n]
    if drop:        # these decisions keep the scenario's own values (a smaller grid)
        loaded = loaded.with_changes({"plan.decisions": [d for d in loaded.to_dict()["plan"]["decisions"]
                                                         if d["name"] not in drop]})
    loaded = loaded.with_changes({"plan.sensitivity": 0.0})
    spec = check_plan(loaded)
    size = grid_size(spec)
    assert len(spec.decisions) >= 6 - len(drop) and spec.search.trials <= 300
    workers = max(1, min(os.cpu_count() or 1, 16))
    wall = time.perf_counter()
    grid_loaded = loaded.with_changes({"plan.search": {"sampler": "grid", "trials": size, "batch": 16}})
    grid = run_plan(grid_loaded, workers=workers,
                    progress=lambda done, total: print(f"{done}/{total}", file=sys.stderr, flush=True)).result
    wall = time.perf_counter() - wall
    assert grid.evaluations == size
    optimum = grid.best()
    assert optimum is not None and optimum.objectives[0] is not None
    best_usd = float(optimum.objectives[0])
    feasible = sum(t.feasible for t in grid.trials)
    print(f"\nsample interval {sample or '6h (shipped)'}, decisions fixed at the scenario's values: "
          f"{drop or 'none'}; {size} plans simulated in {wall:.0f} s on {workers} "
          f"workers ({wall / size:.2f} s each), {feasible} feasible; optimum {best_usd:,.0f} USD at "
          f"{optimum.values}")
    # Every grid plan's outcome, keyed by the scenario it simulates.
    outcomes = {_raw_key(candidate_raw(loaded, spec, t.values)): grid.outcomes[t.key] for t in grid.trials}
    gaps = []
    for seed in SEEDS:
        searched = loaded.with_changes({"plan.search.seed": seed})
        result = replay(searched, check_plan(searched), outcomes)
        best = result.best()
        gap = float(best.objectives[0]) / best_usd - 1.0 if best is not None else math.inf
        gaps.append(gap)
        print(f"seed {seed:2d}: {len(result.trials)} trials, {result.evaluations} evaluations, best gap {gap:.2%}, "
              f"within 2% after {first_within(result, best_usd, 0.02)} evaluations")
        assert result.evaluations <= 300
    print(f"gap over {len(SEEDS)} seeds: median {sorted(gaps)[len(gaps) // 2]:.2%}, worst {max(gaps):.2%} "
          f"(target <= 2%)")
    assert max(gaps) <= 0.02
