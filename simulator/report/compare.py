"""Compare a run's headline numbers with a baseline, within tolerances, for CI regression gates.

A baseline is a JSON file of tracked metrics (a flat mapping of name -> number). A run is a
folder written by ``dcsim run`` (summary.json, costs.json) or such a baseline file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import InputError, Problem

# Metric -> (where it lives, default relative tolerance). Counters must match exactly.
TRACKED = {
    "facility_energy_j": ("summary", 1e-6),
    "it_energy_j": ("summary", 1e-6),
    "cooling_energy_j": ("summary", 1e-6),
    "pue_mean": ("summary", 1e-6),
    "peak_facility_power_w": ("summary", 1e-6),
    "energy_cost_usd": ("summary", 1e-6),
    "carbon_kg": ("summary", 1e-6),
    "gpu_utilization_mean": ("summary", 1e-6),
    "tokens_trained": ("summary", 1e-6),
    "jobs_finished": ("summary", 0.0),
    "events_processed": ("summary", 0.0),
    "failures": ("summary", 0.0),
    "requests_served": ("summary", 1e-6),
    "slo_attainment": ("summary", 1e-6),
    "total_usd": ("costs", 1e-6),
    "usd_per_gpu_hour": ("costs", 1e-6),
    "usd_per_mtoken": ("costs", 1e-6),
    "usd_per_mtoken_generated": ("costs", 1e-6),
}


@dataclass(frozen=True)
class Row:
    """One metric's comparison."""

    metric: str
    baseline: float | None
    current: float | None
    tolerance: float

    @property
    def change(self) -> float:
        if self.baseline is None or self.current is None:
            return math.nan
        if self.baseline == 0:
            return 0.0 if self.current == 0 else math.inf
        return self.current / self.baseline - 1.0

    @property
    def ok(self) -> bool:
        if self.baseline is None or self.current is None:
            return self.baseline is None and self.current is None
        if math.isnan(self.baseline) and math.isnan(self.current):
            return True
        return abs(self.current - self.baseline) <= self.tolerance * max(abs(self.baseline), 1e-300)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem("", f"file not found: {path}")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError([Problem("", f"{path} is not valid JSON: {err}")]) from None


def metrics_of(source: str | Path) -> dict[str, float | None]:
    """Tracked metrics from a run folder or a baseline JSON file."""
    path = Path(source)
    if path.is_dir():
        summary = _read_json(path / "summary.json")
        costs = _read_json(path / "costs.json")
        return {m: {"summary": summary, "costs": costs}[where].get(m) for m, (where, _) in TRACKED.items()}
    data = _read_json(path)
    if not isinstance(data, dict) or not all(isinstance(v, int | float | type(None)) for v in data.values()):
        raise InputError([Problem("", f"{path}: a baseline is a JSON mapping of metric names to numbers")])
    return {m: data.get(m) for m in TRACKED}


def compare(baseline: dict, current: dict, tolerances: dict[str, float] | None = None) -> list[Row]:
    """Every tracked metric, baseline vs current, with its tolerance (overrides by name)."""
    tolerances = tolerances or {}
    unknown = sorted(set(tolerances) - set(TRACKED))
    if unknown:
        raise InputError([Problem("--tol", f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(TRACKED)}")])
    return [Row(m, _num(baseline.get(m)), _num(current.get(m)), tolerances.get(m, TRACKED[m][1]))
            for m in TRACKED]


def _num(value) -> float | None:
    return None if value is None else float(value)


def write_baseline(metrics: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
