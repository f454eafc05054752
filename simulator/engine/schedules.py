"""What a dated scenario's schedules mean hour by hour, computed once before the run: when each
rack group is in service, the grid envelope in force each hour, prices and carbon along their
yearly trends, the calendar months of the run, and services' monthly demand from a CSV.

Rack groups in service: from ``available_from`` (default t=0) until ``retire_at`` (default never).
Only groups in service draw power (engine/site_power.py ``installed``); the networks, support
servers and the facility are built for the whole cluster on day one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.scenario.calendar import month_edges, offset_s, trend_factor
from simulator.scenario.phased import read_monthly_demand
from simulator.scenario.schema import Scenario

HOUR_S = 3600.0


@dataclass(frozen=True)
class Calendar:
    """A run's schedules: each group's (delivery, retirement) in seconds after t=0 (retirement
    inf when never), the month labels and edges, the envelope per hour."""

    phases: tuple[tuple[float, float], ...]
    month_labels: tuple[str, ...]
    month_edges_s: tuple[float, ...]
    envelope_w: np.ndarray

    @property
    def phased(self) -> bool:
        """Some group arrives after t=0 or retires."""
        return any(a > 0 or math.isfinite(r) for a, r in self.phases)

    def installed(self, t_s: float) -> np.ndarray:
        """1.0 for each group in service at ``t_s``, else 0.0."""
        return np.array([1.0 if a <= t_s < r else 0.0 for a, r in self.phases])

    def changes(self, horizon_s: float) -> list[float]:
        """The moments within (0, horizon) at which a group arrives or retires, in order."""
        moments = {t for pair in self.phases for t in pair if 0 < t < horizon_s}
        return sorted(moments)

    def month_of(self, t_s: float) -> int:
        """Index of the calendar month holding ``t_s``."""
        edges = self.month_edges_s
        return max(min(int(np.searchsorted(edges, t_s, side="right")) - 1, len(edges) - 2), 0)


def build_calendar(scenario: Scenario, hours: int) -> Calendar:
    """Resolve every moment of the scenario against its start date (checked at load time)."""
    start = scenario.simulation.start
    phases = []
    for rack in scenario.cluster.racks:
        arrive = offset_s(rack.available_from, start) if rack.available_from is not None else 0.0
        retire = offset_s(rack.retire_at, start) if rack.retire_at is not None else math.inf
        phases.append((max(float(arrive or 0.0), 0.0), math.inf if retire is None else float(retire)))
    labels, edges = month_edges(start, scenario.simulation.horizon)
    return Calendar(tuple(phases), tuple(labels), tuple(edges), envelope_hours(scenario, hours))


def envelope_hours(scenario: Scenario, hours: int) -> np.ndarray:
    """The grid envelope in force each hour: the scalar envelope, or the schedule's step whose
    start the hour has reached (the first step's power before it)."""
    site = scenario.site
    if not site.power_schedule:
        return np.full(hours, float(site.power_envelope))
    start = scenario.simulation.start
    out = np.full(hours, float(site.power_schedule[0].power))
    for step in site.power_schedule[1:]:
        seconds = offset_s(step.start, start) or 0.0
        first = min(max(math.ceil(seconds / HOUR_S - 1e-9), 0), hours)
        out[first:] = float(step.power)
    return out


def trended(per_hour: np.ndarray, trend_per_year: float) -> np.ndarray:
    """An hourly series along a compound yearly trend from t=0 (unchanged when 0)."""
    if not trend_per_year:
        return per_hour
    return per_hour * trend_factor(trend_per_year, np.arange(len(per_hour)) * HOUR_S)


def monthly_demand(scenario: Scenario, base_dir: Path) -> dict[int, np.ndarray]:
    """Service index -> request rate per calendar month of the run (requests/s) for the services
    given a demand CSV, times their ``demand_scale``; the file's last rate holds past its end."""
    labels, _ = month_edges(scenario.simulation.start, scenario.simulation.horizon)
    out = {}
    for i, svc in enumerate(scenario.workloads.inference):
        if svc.demand_csv is None:
            continue
        rates = read_monthly_demand(Path(base_dir), svc.demand_csv, f"workloads.inference[{i}].demand_csv")
        months = max(len(labels), 1)
        table = np.array([rates[min(m, len(rates) - 1)] for m in range(months)]) * svc.demand_scale
        out[i] = table
    return out
