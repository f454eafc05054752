"""Candidate plans: the scenario with one value per decision, and the checks that every decision
and constraint of a ``plan:`` block is sound before the first candidate runs.

Each decision value is applied alone to the base scenario and checked, in time linear in the
number of values: the schema (a bad unit, a negative count, a key that does not exist) and the
catalog names it gives (an unknown node) are the plan's input errors, named with their decision;
what may depend on the other decisions (more GPUs than this rack count holds, a model that fits
no layout) is left to the candidate, which then fails its 'runs' constraint. Constraints must
name jobs and services that exist.
"""

from __future__ import annotations

import copy

from simulator.domain.validation import validate_model
from simulator.errors import InputError, Problem, ScenarioError
from simulator.scenario.load import LoadedScenario, set_path
from simulator.scenario.plan import PlanSpec, Value
from simulator.scenario.schema import Scenario
from simulator.scenario.sites_load import LoadedSites, load_any

Loaded = LoadedScenario | LoadedSites


def candidate_raw(loaded: Loaded, spec: PlanSpec, values: dict[str, Value]) -> dict:
    """The base scenario (as written) with each decision's value set; the plan block removed."""
    raw = copy.deepcopy(loaded.raw)
    raw.pop("plan", None)
    raw.pop("sweep", None)
    for decision in spec.decisions:
        set_path(raw, decision.path, values[decision.label])
    return raw


def _schema_problem(raw: dict, path: str) -> bool:
    """Whether the scenario fails its schema (not a cross-check) at ``path``."""
    try:
        validate_model(Scenario, raw)
    except InputError as err:
        return any(p.path == path for p in err.problems)
    return False


def _under(path: str, prefix: str) -> bool:
    """Whether YAML ``path`` is ``prefix`` or inside it."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def plan_problems(loaded: Loaded, spec: PlanSpec) -> list[Problem]:
    """Every problem of the plan block: decision paths and values, constraint names."""
    problems: list[Problem] = []
    base = copy.deepcopy(loaded.raw)
    base.pop("plan", None)
    for i, decision in enumerate(spec.decisions):
        where = f"plan.decisions[{i}]"
        for k, value in enumerate(decision.values):
            raw = copy.deepcopy(base)
            try:
                set_path(raw, decision.path, value)
                load_any(raw, base_dir=loaded.base_dir, source=loaded.source)
            except ScenarioError as err:
                own = [p for p in err.problems if not p.path or (_under(p.path, decision.path) and (
                    p.message.startswith("unknown ") or _schema_problem(raw, p.path)))]
                problems += [Problem(f"{where}.values[{k}]", f"{decision.path} = {value!r}: "
                                     + (p.format() if p.path else p.message)) for p in own[:3]]
                if len(problems) > 50:
                    return problems
    jobs = {j.name for j in loaded.training_jobs()}
    services = set(loaded.services())
    for name in spec.constraints.finish_by:
        if name not in jobs:
            problems.append(Problem(f"plan.constraints.finish_by.{name}",
                                    f"no training job named '{name}' (known: {', '.join(sorted(jobs)) or 'none'})"))
    for name in spec.constraints.min_slo_attainment:
        if name not in services and name != "*":
            known = ", ".join(sorted(services)) or "none"
            problems.append(Problem(f"plan.constraints.min_slo_attainment.{name}",
                                    f"no inference service named '{name}' (known: {known}; '*' for every service)"))
    return problems


def check_plan(loaded: Loaded) -> PlanSpec:
    """The scenario's plan block, checked in full; InputError listing every problem."""
    spec = loaded.scenario.plan
    if spec is None:
        raise InputError([Problem("plan", "the scenario has no plan block: add plan.decisions (YAML paths and "
                                          "the values each may take) and plan.objectives")], loaded.source)
    problems = plan_problems(loaded, spec)
    if problems:
        raise InputError(problems, loaded.source)
    return spec
