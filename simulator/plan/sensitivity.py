"""How the best plan's first objective moves when one input moves by ±s (20% by default): demand
(every service's request rate; a demand CSV's rates through its ``demand_scale``), its growth
(each growth law scaled; a CSV's shape is left as written), the electricity price, the price of
the servers (GPUs) and the node failure rate. Each is one more full simulation of the best plan."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from simulator.plan.evaluate import judge
from simulator.plan.search import RunBatch
from simulator.scenario.load import load_scenario, set_path
from simulator.scenario.plan import PlanSpec


@dataclass(frozen=True)
class Sensitivity:
    """One input moved by ``change`` (a relative change), and the first objective it gave."""

    input: str
    change: float
    objective: float | None
    relative: float | None           # objective / best plan's objective - 1


def _perturbations(raw: dict, base_dir: str, factor: float) -> dict[str, dict]:
    """Each input scaled by ``factor`` in a copy of ``raw`` (SI numbers written back)."""
    out: dict[str, dict] = {}
    loaded = load_scenario(copy.deepcopy(raw), base_dir=base_dir)
    sc = loaded.scenario
    if sc.workloads.inference:
        changed = copy.deepcopy(raw)
        for i, svc in enumerate(sc.workloads.inference):
            if svc.demand_csv is not None:      # the file's rates, scaled as a whole
                set_path(changed, f"workloads.inference[{i}].demand_scale", svc.demand_scale * factor)
            else:
                set_path(changed, f"workloads.inference[{i}].arrival_rate", svc.arrival_rate * factor)
        out["demand"] = changed
        if any(svc.growth for svc in sc.workloads.inference):
            changed = copy.deepcopy(raw)
            for i, svc in enumerate(sc.workloads.inference):
                if svc.growth:
                    set_path(changed, f"workloads.inference[{i}].growth", svc.growth * factor)
            out["demand growth"] = changed
    changed = copy.deepcopy(raw)
    set_path(changed, "site.electricity.price", sc.site.electricity.price * factor)
    out["electricity price"] = changed
    changed = copy.deepcopy(raw)
    for group in sc.cluster.racks:
        node = loaded.catalog.nodes.get(group.node)
        price = sc.costs.price_overrides.get(node.name, node.price)
        set_path(changed, f"costs.price_overrides.{node.name}", price * factor)
    out["server (GPU) price"] = changed
    if sc.failures is not None and sc.failures.enabled:
        changed = copy.deepcopy(raw)
        f = sc.failures
        if f.by_cause:          # every class's rate scaled; a fleet written out as its classes
            classes = f.classes if f.classes is not None else loaded.catalog.fleets.get(str(f.fleet)).classes
            changed["failures"].pop("fleet", None)
            changed["failures"]["classes"] = [
                {"name": c.name, "rate": c.rate * factor, "scope": c.scope,
                 **{k: getattr(c, k) for k in ("restart_time", "repair_time") if getattr(c, k) is not None}}
                for c in classes]
        else:
            set_path(changed, "failures.node_mtbf", f.node_mtbf / factor)
        out["failure rate"] = changed
    return out


def sensitivities(raw: dict, base_dir: str, spec: PlanSpec, best_objective: float,
                  run_batch: RunBatch) -> list[Sensitivity]:
    """The best plan's first objective with each input at (1 - s) and (1 + s)."""
    s = spec.sensitivity
    if s <= 0:
        return []
    cases: list[tuple[str, float, dict]] = []
    for change in (-s, s):
        for name, changed in _perturbations(raw, base_dir, 1.0 + change).items():
            cases.append((name, change, changed))
    outcomes = run_batch([c[2] for c in cases])
    out = []
    for (name, change, _), outcome in zip(cases, outcomes, strict=True):
        value = judge(outcome, spec)[0][0]
        rel = value / best_objective - 1.0 if value is not None and best_objective else None
        out.append(Sensitivity(name, change, value, rel))
    return sorted(out, key=lambda x: (x.input, x.change))
