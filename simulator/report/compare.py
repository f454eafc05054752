"""Compare a run's headline numbers with a baseline: the CI regression gate.

Each metric has a rule (report/metrics.py): a direction (higher or lower is better, or equal for
numbers that describe the scenario itself) and a relative and an absolute tolerance. A change
within tolerance is ``ok``; beyond it, a move in the good direction is ``improved`` (passes), in
the bad direction a ``REGRESSION`` (fails), and any move of an ``equal`` metric is ``CHANGED``
(fails: the runs are of different scenarios). A metric the baseline holds but the run lacks is
``MISSING`` (fails); one the baseline does not hold is ``new`` (not compared).

A baseline is a JSON mapping of metric name -> number (or null for a value the run did not
have), read through domain/json_io.py (the one JSON reader) and checked against the metric table: unknown names,
booleans, NaN, infinities and overflowing numbers are bad input (exit 2), never compared. A run
is a folder written by ``dcsim run`` (summary.json and costs.json, each checked the same way).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from simulator.domain.json_io import MAX_JSON_BYTES, is_number, located, read_json
from simulator.errors import InputError, Problem
from simulator.report.metrics import BY_NAME, METRICS, Metric

BASELINE_MAX_BYTES = 1 * 2**20
Verdict = str  # "ok", "improved", "new", "REGRESSION", "CHANGED", "MISSING"
FAILING = ("REGRESSION", "CHANGED", "MISSING")


@dataclass(frozen=True)
class Rule:
    """A metric's tolerances for one comparison (defaults from the metric table, or --tol)."""

    rel: float
    abs: float


@dataclass(frozen=True)
class Row:
    """One metric's comparison."""

    metric: str
    baseline: float | None
    current: float | None
    rule: Rule
    in_baseline: bool = True

    @property
    def spec(self) -> Metric:
        return BY_NAME[self.metric]

    @property
    def tolerance(self) -> float:
        """The relative tolerance (kept for callers of the first version)."""
        return self.rule.rel

    @property
    def change(self) -> float | None:
        """current / baseline - 1 (None when either is missing or the baseline is 0)."""
        if self.baseline is None or self.current is None or self.baseline == 0:
            return None
        return self.current / self.baseline - 1.0

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def within(self) -> bool:
        delta = self.delta
        if delta is None:
            return self.baseline is None and self.current is None
        assert self.baseline is not None
        return abs(delta) <= max(self.rule.abs, self.rule.rel * abs(self.baseline))

    @property
    def verdict(self) -> Verdict:
        if not self.in_baseline:
            return "new"
        if self.baseline is not None and self.current is None:
            return "MISSING"
        if self.baseline is None:
            return "ok" if self.current is None or self.spec.better != "equal" else "CHANGED"
        if self.within:
            return "ok"
        delta = self.delta
        assert delta is not None
        better = self.spec.better
        if better == "equal":
            return "CHANGED"
        return "improved" if (delta > 0) == (better == "higher") else "REGRESSION"

    @property
    def ok(self) -> bool:
        return self.verdict not in FAILING

    def to_dict(self) -> dict:
        spec = self.spec
        return {"metric": self.metric, "baseline": self.baseline, "current": self.current,
                "change": self.change, "delta": self.delta, "better": spec.better, "rel_tolerance": self.rule.rel,
                "abs_tolerance": self.rule.abs, "verdict": self.verdict, "ok": self.ok}


# ----------------------------------------------------------------------------- reading
def _check_values(data: Mapping[str, object], where: str, names: list[str]) -> list[Problem]:
    """Each named metric present in ``data`` must be a finite number or null."""
    problems = []
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if name == "warnings" and where.endswith("summary.json"):
            if not isinstance(value, list):
                problems.append(Problem(f"{where}: {name}", "must be a list", value))
            continue
        if value is not None and not is_number(value):
            problems.append(Problem(f"{where}: {name}", "must be a number or null", value))
    return problems


def _mapping(path: Path, max_bytes: int | None = None) -> dict:
    try:
        data = read_json(path, max_bytes or MAX_JSON_BYTES)
    except InputError as err:
        raise InputError(located(err)) from None
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "null"
        raise InputError([Problem(str(path), f"must be a JSON mapping (an object), not a {found}")])
    return data


def read_run(folder: Path) -> dict[str, object]:
    """Tracked metrics of a run folder (summary.json + costs.json), each checked."""
    problems: list[Problem] = []
    parts: dict[str, dict] = {}
    for where in ("summary", "costs"):
        try:
            parts[where] = _mapping(folder / f"{where}.json")
        except InputError as err:
            problems += err.problems
            continue
        names = [m.name for m in METRICS if m.where == where]
        problems += _check_values(parts[where], str(folder / f"{where}.json"), names)
    if problems:
        raise InputError(problems)
    summary, costs = parts["summary"], parts["costs"]
    out: dict[str, object] = {}
    for metric in METRICS:
        data = summary if metric.where == "summary" else costs
        if metric.name in data:
            out[metric.name] = metric.value(summary, costs)
    if isinstance(summary.get("scenario"), str):
        out["__scenario__"] = summary["scenario"]
    return out


def read_baseline(path: Path) -> dict[str, object]:
    """A baseline file: a mapping of known metric names to finite numbers or null."""
    data = _mapping(path, BASELINE_MAX_BYTES)
    where = str(path)
    problems = [Problem(f"{where}: {key}", f"not a metric dcsim knows (known: {', '.join(BY_NAME)})")
                for key in list(data)[:20] if key not in BY_NAME]
    problems += [Problem(f"{where}: {key}", "must be a number or null", value)
                 for key, value in data.items() if key in BY_NAME and value is not None and not is_number(value)]
    if not problems and not data:
        problems.append(Problem(where, "holds no metric; write one with `dcsim compare BASELINE RUN --update`"))
    if problems:
        raise InputError(problems)
    return dict(data)


def metrics_of(source: str | Path) -> dict[str, object]:
    """Metrics of a run folder or a baseline JSON file (keys: metric names; a run folder also
    gives its scenario name under ``__scenario__``)."""
    path = Path(source)
    if path.is_dir():
        if not (path / "summary.json").exists():
            raise InputError([Problem(str(path), "is a folder without summary.json: not a run folder "
                                                 "written by `dcsim run`")])
        return read_run(path)
    return read_baseline(path)


# ----------------------------------------------------------------------------- comparing
def parse_tolerance(text: str) -> tuple[str, Rule]:
    """'pue_mean=0.02' or 'pue_mean=2%' (relative), 'slo_attainment=abs:0.02' (absolute),
    'total_usd=1%,abs:100' (both)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not spec.strip():
        raise InputError([Problem("--tol", f"expected METRIC=REL, METRIC=N% or METRIC=abs:N, got {text!r}")])
    if name not in BY_NAME:
        raise InputError([Problem("--tol", f"unknown metric {name!r}; known: {', '.join(BY_NAME)}")])
    rel = absolute = 0.0
    for part in spec.split(","):
        part = part.strip()
        try:
            if part.startswith("abs:"):
                absolute = float(part[4:])
                bad = not absolute >= 0 or absolute == float("inf")
            elif part.endswith("%"):
                rel = float(part[:-1]) / 100.0
                bad = not rel >= 0 or rel == float("inf")
            else:
                rel = float(part)
                bad = not rel >= 0 or rel == float("inf")
        except ValueError:
            bad = True
        if bad:
            raise InputError([Problem("--tol", f"tolerance must be a finite number >= 0 (REL, N% or abs:N), "
                                               f"got {text!r}")])
    return name, Rule(rel, absolute)


def compare(baseline: Mapping[str, object], current: Mapping[str, object],
            tolerances: Mapping[str, Rule | float] | None = None) -> list[Row]:
    """Every known metric, baseline vs current, with its rule (``tolerances`` override by name:
    a Rule, or a float as a relative tolerance)."""
    overrides = dict(tolerances or {})
    unknown = sorted(set(overrides) - set(BY_NAME))
    if unknown:
        raise InputError([Problem("--tol", f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")])
    rows = []
    for metric in METRICS:
        rule = overrides.get(metric.name, Rule(metric.rel, metric.abs))
        if not isinstance(rule, Rule):
            rule = Rule(float(rule), 0.0)
        in_base = metric.name in baseline
        if not in_base and metric.name not in current:
            continue
        rows.append(Row(metric.name, _num(baseline.get(metric.name)), _num(current.get(metric.name)), rule, in_base))
    return rows


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and is_number(value) else None


def write_baseline(metrics: Mapping[str, object], path: str | Path) -> Path:
    """Write ``metrics`` (a run's) as a baseline file, atomically; a folder, or a file inside a
    missing folder, is bad input."""
    target = Path(path)
    if target.is_dir():
        raise InputError([Problem(str(target), "is a folder; --update writes one baseline file (give its path)")])
    if not target.parent.is_dir():
        raise InputError([Problem(str(target), f"cannot write: folder {target.parent} does not exist")])
    data = {k: v for k, v in metrics.items() if k in BY_NAME}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as err:
        raise InputError([Problem(str(target), f"cannot write: {err.strerror or err}")]) from None
    return target
