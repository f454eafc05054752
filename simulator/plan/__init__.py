"""``dcsim plan``: search the decisions of a scenario's ``plan:`` block for the plan with the best
objectives that meets every constraint, each candidate a full simulation; then the best plan's
sensitivity to demand, electricity price, server price and failure rate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.plan.candidates import candidate_raw, check_plan
from simulator.plan.executors import executor
from simulator.plan.search import PlanResult, search_plans
from simulator.plan.sensitivity import Sensitivity, sensitivities
from simulator.scenario.load import LoadedScenario
from simulator.scenario.sites_load import LoadedSites


@dataclass(frozen=True)
class PlanRun:
    """A finished plan search and the best plan's sensitivities."""

    result: PlanResult
    sensitivity: list[Sensitivity]


def run_plan(loaded: LoadedScenario | LoadedSites, workers: int = 1, dask: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> PlanRun:
    spec = check_plan(loaded)
    base_dir = str(loaded.base_dir)
    with executor(base_dir, loaded.source, workers, dask) as run_batch:
        result = search_plans(loaded, spec, run_batch, progress)
        best = result.best()
        sens: list[Sensitivity] = []
        if best is not None and best.objectives[0] is not None:
            sens = sensitivities(candidate_raw(loaded, spec, best.values), base_dir, spec,
                                 float(best.objectives[0]), run_batch)
    return PlanRun(result, sens)


__all__ = ["PlanResult", "PlanRun", "run_plan"]
