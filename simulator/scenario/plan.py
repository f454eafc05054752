"""The ``plan:`` block of a scenario (``dcsim plan``): the decisions a planner leaves open, what to
minimise, which constraints a plan must meet, and how to search.

A decision is a YAML path of the scenario and the values it may take (how many racks of which
node, the cooling type, the contracted power, ...); every candidate plan is the scenario with one
value per decision, simulated in full by ``dcsim run``'s engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from simulator.domain.quantities import Frozen, Seconds
from simulator.domain.validation import require_unique

# Headline numbers a plan may minimise, maximise or bound: (where, unit) — keys of summary.json
# or costs.json.
PLAN_METRICS: dict[str, str] = {
    "total_usd": "costs", "usd_per_gpu_hour": "costs", "usd_per_mtoken": "costs",
    "usd_per_mtoken_generated": "costs",
    "facility_energy_j": "summary", "it_energy_j": "summary", "energy_cost_usd": "summary",
    "carbon_kg": "summary", "pue_mean": "summary", "peak_facility_power_w": "summary",
    "peak_envelope_fraction": "summary", "gpu_utilization_mean": "summary", "tokens_trained": "summary",
    "jobs_finished": "summary", "requests_served": "summary", "slo_attainment": "summary",
    "tokens_generated": "summary", "goodput_mean": "summary", "gpus": "summary",
}
MetricName = Literal[
    "total_usd", "usd_per_gpu_hour", "usd_per_mtoken", "usd_per_mtoken_generated", "facility_energy_j",
    "it_energy_j", "energy_cost_usd", "carbon_kg", "pue_mean", "peak_facility_power_w", "peak_envelope_fraction",
    "gpu_utilization_mean", "tokens_trained", "jobs_finished", "requests_served", "slo_attainment",
    "tokens_generated", "goodput_mean", "gpus",
]

MAX_DECISIONS = 32
MAX_VALUES = 1000
MAX_TRIALS = 10_000

Value = str | int | float | bool


class Decision(Frozen):
    """One open choice: a YAML path of the scenario and the values it may take."""

    path: str = Field(min_length=1, max_length=500, description="YAML path, e.g. cluster.racks[0].count.")
    values: list[Value] = Field(min_length=1, max_length=MAX_VALUES, description="The values it may take.")
    name: str | None = Field(None, max_length=100, description="A short label (default: the path).")

    @property
    def label(self) -> str:
        return self.name or self.path

    @field_validator("values", mode="before")
    @classmethod
    def _dates_as_text(cls, values: object) -> object:
        """YAML dates (a delivery date, say) are kept as their ISO text."""
        if isinstance(values, list):
            return [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        return values

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[Value]) -> list[Value]:
        seen = [repr(v) for v in values]
        if len(set(seen)) != len(seen):
            raise ValueError("values must be distinct")
        return values


def _objective_shorthand(value):
    """``total_usd`` is shorthand for ``{metric: total_usd, direction: minimize}``."""
    return {"metric": value} if isinstance(value, str) else value


class Objective(Frozen):
    """A headline number to minimise or maximise."""

    metric: MetricName = Field(description="A summary.json or costs.json number, e.g. total_usd.")
    direction: Literal["minimize", "maximize"] = "minimize"


class Bound(Frozen):
    """A headline number kept within bounds."""

    metric: MetricName
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some_bound(self):
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class PlanConstraints(Frozen):
    """What every acceptable plan must meet; a plan that breaks one is reported with its name."""

    within_envelope: bool = Field(True, description="Peak facility power within the power envelope.")
    finish_by: dict[str, Annotated[Seconds, Field(gt=0)]] = Field(
        default_factory=dict, description="Training job name -> when it must have finished, e.g. {pretrain: 60d}.")
    min_slo_attainment: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="Service name (or '*' for all) -> least share of its served requests "
                                          "within its SLO; in a dated run, in every month.")
    metrics: list[Bound] = Field(default_factory=list, max_length=50, description="Bounds on headline numbers.")


class PlanSearch(Frozen):
    """How candidate plans are chosen: Optuna's TPE (one objective) or NSGA-II (two), random
    sampling, or every combination (grid); ``batch`` plans are evaluated per round, whatever the
    number of workers, so the same seed gives the same trials on one worker or many."""

    sampler: Literal["auto", "tpe", "nsga2", "random", "grid"] = "auto"
    trials: int = Field(100, ge=1, le=MAX_TRIALS, description="Plans evaluated (full simulations).")
    batch: int = Field(4, ge=1, le=256, description="Plans proposed per round.")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class PlanSpec(Frozen):
    """Decisions, objectives (one, or two for a Pareto front), constraints and the search."""

    decisions: list[Decision] = Field(min_length=1, max_length=MAX_DECISIONS)
    objectives: list[Annotated[Objective, BeforeValidator(_objective_shorthand)]] = Field(
        default_factory=lambda: [Objective(metric="total_usd")], min_length=1, max_length=2)
    constraints: PlanConstraints = Field(default_factory=PlanConstraints)
    search: PlanSearch = Field(default_factory=PlanSearch)
    sensitivity: float = Field(0.2, ge=0, le=0.9, description="Relative change of each sensitivity input.")

    @field_validator("decisions")
    @classmethod
    def _distinct_paths(cls, decisions: list[Decision]) -> list[Decision]:
        require_unique((d.label for d in decisions), "decisions must be distinct")
        return decisions
