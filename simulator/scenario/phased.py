"""Scenario parts that change over the horizon: rack groups delivered and retired on dates, a
site power envelope given as a schedule, and a service's demand from a CSV of monthly request
rates; and the checks that need the run's start date or the scenario's folder.

The engine side (what each means hour by hour) is engine/schedules.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from simulator.domain.csvfile import load_csv_profile
from simulator.domain.quantities import Frozen, PositiveWatts
from simulator.errors import InputError, Problem
from simulator.scenario.calendar import When, describe, resolve_moment

MAX_REQUESTS_PER_S = 1e9
MAX_SCHEDULE_STEPS = 200


class Phased(Frozen):
    """When a rack group is delivered (its nodes join the pool, its capex is booked) and when it
    is retired (its nodes leave the pool; work on them is requeued as after a failure)."""

    available_from: When | None = Field(
        None, description="Delivery: a date (2027-06-01, 2028-Q1) or an offset ('180d'); default t=0.")
    retire_at: When | None = Field(
        None, description="Decommissioning: a date or an offset after the start; default never.")


class EnvelopeStep(Frozen):
    """From a moment on, the grid connection allows ``power``."""

    start: When = Field(alias="from", description="When this step begins: a date, quarter or offset.")
    power: PositiveWatts = Field(description="Grid connection limit from then on, e.g. '60MW'.")


_STEPS = TypeAdapter(list[EnvelopeStep])


class ScheduledEnvelope(Frozen):
    """``site.power_envelope`` as one power or a schedule ``[{from: 2027-01-01, power: 20MW}, ...]``:
    a schedule is kept in ``power_schedule`` (declared by the site) and ``power_envelope`` becomes
    its highest step (the contracted connection the plant is sized for). Before the first step the
    first step's power holds."""

    @model_validator(mode="before")
    @classmethod
    def _schedule(cls, data: object) -> object:
        if not isinstance(data, dict) or not isinstance(data.get("power_envelope"), list):
            return data
        steps = data["power_envelope"]
        try:
            parsed = _STEPS.validate_python(steps)
        except ValidationError as err:              # named as written: power_envelope[i].key
            raise ValueError("; ".join(
                "power_envelope" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
                + ": " + str(e["msg"]).removeprefix("Value error, ") for e in err.errors())) from None
        if not parsed:
            raise ValueError("power_envelope: a schedule needs at least one step {from: DATE, power: POWER}")
        return {**data, "power_envelope": max(step.power for step in parsed), "power_schedule": steps}


class DemandSource(Frozen):
    """A service's request rate month by month from a CSV file instead of a growth law."""

    demand_csv: str | None = Field(
        None, min_length=1, max_length=4096,
        description="CSV with a 'rate' column of mean requests per second, one row per calendar month from the "
                    "start (an optional 'month' column is ignored); the last month's rate holds after the file "
                    "ends. Replaces arrival_rate (which may then be left out) and growth; the daily profile "
                    "still applies.")
    demand_scale: float = Field(
        1.0, gt=0, le=1000,
        description="Multiplies every rate of demand_csv (a what-if on the file's demand, e.g. 1.2 = 20% more; "
                    "`dcsim plan`'s demand sensitivity moves it); with replicas_by_site each site's part "
                    "takes its share of it.")

    @model_validator(mode="before")
    @classmethod
    def _rate_from_file(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("demand_csv") is not None:
            if data.get("growth") not in (None, 0, 0.0):
                raise ValueError("give either growth or demand_csv, not both")
            if data.get("arrival_rate") is None:
                return {**data, "arrival_rate": 0.0}      # the planner sets the file's peak
        return data


def read_monthly_demand(folder: Path, rel: str, yaml_path: str) -> list[float]:
    """The monthly request rates (per second) of a demand CSV; InputError naming ``yaml_path``."""
    full = str(folder / rel)
    try:
        rates = load_csv_profile(folder / rel, "rate", value_range=(0.0, MAX_REQUESTS_PER_S), unit="requests/s")
    except InputError as err:
        raise InputError([Problem(yaml_path, f"{rel}{p.path[len(full):]}: {p.message}"
                                  if p.path.startswith(full) else f"{rel}: {p.message}")
                          for p in err.problems]) from None
    return [float(r) for r in rates]


def phase_problems(scenario, folder: Path, check_file) -> list[Problem]:
    """Dates without a start date, retirement before delivery, envelope steps out of order once
    resolved, and unreadable demand files: one problem each, at the key that holds it."""
    start: dt.datetime | None = scenario.simulation.start
    problems: list[Problem] = []

    def resolve(when, path: str) -> float | None:
        try:
            return resolve_moment(when, start)
        except ValueError as err:
            problems.append(Problem(path, str(err)))
            return None

    for i, rack in enumerate(scenario.cluster.racks):
        path = f"cluster.racks[{i}]"
        arrive = resolve(rack.available_from, f"{path}.available_from") if rack.available_from is not None else 0.0
        retire = resolve(rack.retire_at, f"{path}.retire_at") if rack.retire_at is not None else None
        if arrive is not None and retire is not None and retire <= arrive:
            problems.append(Problem(f"{path}.retire_at", f"retirement ({describe(rack.retire_at)}) must come after "
                                    f"delivery (available_from: {describe(rack.available_from or 0.0)})"))
    steps = scenario.site.power_schedule or []
    last = None
    for i, step in enumerate(steps):
        seconds = resolve(step.start, f"site.power_envelope[{i}].from")
        if seconds is not None and last is not None and seconds <= last:
            problems.append(Problem(f"site.power_envelope[{i}].from", f"steps must be in increasing date order: "
                                    f"{describe(step.start)} is not after the step before it"))
        last = seconds if seconds is not None else last
    for i, svc in enumerate(scenario.workloads.inference):
        if svc.demand_csv is None:
            continue
        path = f"workloads.inference[{i}].demand_csv"
        found = check_file(folder, svc.demand_csv, path)
        if not found:
            try:
                read_monthly_demand(folder, svc.demand_csv, path)
            except InputError as err:
                found = list(err.problems)
        problems += found
    return problems
