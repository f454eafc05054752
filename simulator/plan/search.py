"""Searching the decisions for the best plan with Optuna (TPE for one objective, NSGA-II for a
Pareto front of two, random, or grid), every candidate a full simulation.

Candidates are proposed ``batch`` at a time (TPE with a constant liar, so a batch spreads out),
evaluated by whatever executor ``run_batch`` wraps (this process, a local pool, a Dask cluster)
and told back in order: the same seed and batch give the same trials on one worker or many. A
candidate proposed again is read from the evaluations already made, not simulated twice.
Constraints reach the samplers as the trial's Optuna constraint (the number broken; feasible at 0).
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna

from simulator.plan.candidates import candidate_raw
from simulator.plan.evaluate import judge
from simulator.scenario.load import LoadedScenario
from simulator.scenario.plan import PlanSpec, Value
from simulator.scenario.sites_load import LoadedSites

RunBatch = Callable[[list[dict]], list[dict]]


@dataclass(frozen=True)
class Trial:
    """One candidate plan as tried: its decision values, objectives and broken constraints."""

    number: int
    values: dict[str, Value]
    objectives: tuple[float | None, ...]
    broken: tuple[str, ...]
    key: str

    @property
    def feasible(self) -> bool:
        return not self.broken


@dataclass
class PlanResult:
    """Every trial, the distinct simulations behind them, and the best plans."""

    spec: PlanSpec
    trials: list[Trial] = field(default_factory=list)
    outcomes: dict[str, dict] = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        """Distinct candidates simulated."""
        return len(self.outcomes)

    def _signed(self, trial: Trial) -> tuple[float, ...]:
        """Objectives as numbers to minimise."""
        return tuple(float(v) * (1.0 if o.direction == "minimize" else -1.0)  # type: ignore[arg-type]
                     for v, o in zip(trial.objectives, self.spec.objectives, strict=True))

    def pareto(self) -> list[Trial]:
        """The feasible trials no other feasible trial beats on every objective (first of equals)."""
        feasible = [t for t in self.trials if t.feasible]
        front: list[Trial] = []
        seen: set[str] = set()
        for t in feasible:
            if t.key in seen:
                continue
            mine = self._signed(t)
            dominated = any(all(a <= b for a, b in zip(self._signed(o), mine, strict=True))
                            and self._signed(o) != mine for o in feasible)
            if not dominated:
                front.append(t)
                seen.add(t.key)
        return sorted(front, key=self._signed)

    def best(self) -> Trial | None:
        """The feasible trial with the best first objective (ties: the earliest)."""
        feasible = [t for t in self.trials if t.feasible]
        return min(feasible, key=lambda t: (self._signed(t)[0], t.number)) if feasible else None


def values_key(values: dict[str, Value]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def make_sampler(spec: PlanSpec) -> optuna.samplers.BaseSampler:
    search = spec.search
    kind = search.sampler
    if kind == "auto":
        kind = "tpe" if len(spec.objectives) == 1 else "nsga2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if kind == "tpe":
            return optuna.samplers.TPESampler(seed=search.seed, constant_liar=True,
                                              n_startup_trials=min(10, max(search.trials // 5, 2)))
        if kind == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=search.seed, population_size=max(search.batch, 8))
        return optuna.samplers.RandomSampler(seed=search.seed)


class _Proposer:
    """Candidate values ``batch`` at a time and their results told back: Optuna's study, or
    every combination in order for a grid."""

    def __init__(self, spec: PlanSpec):
        self.spec = spec
        self.grid = itertools.product(*(d.values for d in spec.decisions)) if spec.search.sampler == "grid" else None
        self.study = None if self.grid is not None else optuna.create_study(
            directions=[o.direction for o in spec.objectives], sampler=make_sampler(spec))
        self.dists: dict[str, optuna.distributions.BaseDistribution] = {
            d.label: optuna.distributions.CategoricalDistribution(list(d.values)) for d in spec.decisions}

    def ask(self, n: int) -> list[tuple[optuna.trial.Trial | None, dict[str, Value]]]:
        labels = [d.label for d in self.spec.decisions]
        if self.grid is not None:
            return [(None, dict(zip(labels, combo, strict=True))) for combo in itertools.islice(self.grid, n)]
        assert self.study is not None
        asked = [self.study.ask(self.dists) for _ in range(n)]
        return [(t, {label: t.params[label] for label in labels}) for t in asked]

    def tell(self, trial: optuna.trial.Trial | None, objectives: list[float | None], broken: list[str]) -> None:
        if trial is None or self.study is None:
            return
        trial.set_constraint("broken", float(len(broken)))
        told = [v for v in objectives if v is not None]
        if len(told) < len(objectives):
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, told)


def grid_size(spec: PlanSpec) -> int:
    return math.prod(len(d.values) for d in spec.decisions)


def search_plans(loaded: LoadedScenario | LoadedSites, spec: PlanSpec, run_batch: RunBatch,
                 progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """Propose, simulate and rank candidate plans until ``spec.search.trials`` are done (a grid
    search stops at its last combination)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    total = spec.search.trials
    if spec.search.sampler == "grid":
        total = min(total, grid_size(spec))
    proposer = _Proposer(spec)
    result = PlanResult(spec)
    while len(result.trials) < total:
        asked = proposer.ask(min(spec.search.batch, total - len(result.trials)))
        if not asked:
            break
        keys = [values_key(values) for _, values in asked]
        chosen = dict(zip(keys, (values for _, values in asked), strict=True))
        fresh = list(dict.fromkeys(k for k in keys if k not in result.outcomes))
        raws = [candidate_raw(loaded, spec, chosen[k]) for k in fresh]
        for key, outcome in zip(fresh, run_batch(raws), strict=True):
            result.outcomes[key] = outcome
        for (trial, values), key in zip(asked, keys, strict=True):
            objectives, broken = judge(result.outcomes[key], spec)
            proposer.tell(trial, objectives, broken)
            result.trials.append(Trial(len(result.trials), values, tuple(objectives), tuple(broken), key))
        if progress is not None:
            progress(len(result.trials), total)
    return result
