"""A run and its counterfactuals: the same plan played again without the in-loop operation
policies (flexible jobs, demand response), so the report can say what each one saved in cost
and carbon and what it cost in throughput.

Attribution is sequential, in the order flexible, then demand response: the first is measured
against a run with neither, the second against a run with the first only; their savings add up
to the difference between the actual run and the run with neither. Every run starts its random
streams from the same state (the plan's seed sequences are copied, not re-spawned), so the
runs differ only by the policies. Supply assets (batteries, on-site generation, PPAs) need no
second run: engine/supply.py settles each step after the other on the same facility power.
"""

from __future__ import annotations

import copy
import dataclasses

from simulator.engine.operation import plan_operation
from simulator.engine.planning import RunPlan, plan_run
from simulator.engine.record import RunRecord
from simulator.engine.world import World
from simulator.scenario.load import LoadedScenario

IN_LOOP = ("flexible", "demand_response")


def _without(plan: RunPlan, off: tuple[str, ...]) -> RunPlan:
    """The plan with the named in-loop policies switched off (everything else as planned)."""
    sc = plan.loaded.scenario
    assert sc.operation is not None
    op = sc.operation.model_copy(update=dict.fromkeys(off))
    reduced = plan_operation(sc.model_copy(update={"operation": op}), plan.price_usd_per_j, plan.carbon_kg_per_j,
                             plan.loaded.base_dir)
    assert reduced is not None
    return dataclasses.replace(plan, operation=reduced, envelope_w=reduced.envelope_w,
                               streams=copy.deepcopy(plan.streams))


def run_with_baselines(loaded: LoadedScenario, progress=None) -> tuple[RunRecord, list[tuple[str, RunRecord]]]:
    """The run's record, and for each in-loop policy present (in order) the record of the run
    just before it was added: [(policy, record without it and the ones after it), ...]."""
    plan = plan_run(loaded)
    op = loaded.scenario.operation
    present = tuple(p for p in IN_LOOP if op is not None and getattr(op, p) is not None)
    if op is None or not present or not op.savings_baseline:
        return World(plan, progress_callback=progress).run(), []
    pristine = copy.deepcopy(plan.streams)
    record = World(dataclasses.replace(plan, streams=copy.deepcopy(pristine)), progress_callback=progress).run()
    plan = dataclasses.replace(plan, streams=pristine)
    baselines = [(policy, World(_without(plan, present[k:])).run()) for k, policy in enumerate(present)]
    return record, baselines
