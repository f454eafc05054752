"""How the best plan's first objective moves when one input moves by ±s (20% by default): demand
(every service's request rate; a demand CSV's rates through its ``demand_scale``), its growth
(each growth law scaled; a CSV's shape is left as written), the electricity price, the price of
the servers (GPUs) and the node failure rate. Each is one more full simulation of the best plan."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from simulator.plan.evaluate import judge
from simulator.plan.search import RunBatch
from simulator.scenario.load import set_path
from simulator.scenario.plan import PlanSpec
from simulator.scenario.sites_load import LoadedSites, load_any


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
    loaded = load_any(copy.deepcopy(raw), base_dir=base_dir)
    parts = loaded.parts if isinstance(loaded, LoadedSites) else (loaded,)
    sc = loaded.scenario
    # (rate, growth, demand file, its scale) of each service as written: a service split over
    # sites is its parts' sum, its demand file scaled as the document writes it
    split = loaded.services()
    services = [(sum(p.arrival_rate for p in split[entry["name"]]), split[entry["name"]][0].growth,
                 entry.get("demand_csv"), float(entry.get("demand_scale", 1.0)))
                for entry in raw["workloads"]["inference"]] if split else []
    if services:
        changed = copy.deepcopy(raw)
        for i, (rate, _, csv, scale) in enumerate(services):
            if csv is not None:      # the file's rates, scaled as a whole
                set_path(changed, f"workloads.inference[{i}].demand_scale", scale * factor)
            else:
                set_path(changed, f"workloads.inference[{i}].arrival_rate", rate * factor)
        out["demand"] = changed
        if any(growth for _, growth, _, _ in services):
            changed = copy.deepcopy(raw)
            for i, (_, growth, _, _) in enumerate(services):
                if growth:
                    set_path(changed, f"workloads.inference[{i}].growth", growth * factor)
            out["demand growth"] = changed
    changed = copy.deepcopy(raw)
    for k, part in enumerate(parts):      # every site's price
        where = f"sites[{k}]" if isinstance(loaded, LoadedSites) else "site"
        set_path(changed, f"{where}.electricity.price", part.scenario.site.electricity.price * factor)
    out["electricity price"] = changed
    changed = copy.deepcopy(raw)
    for group in (g for part in parts for g in part.scenario.cluster.racks):
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
