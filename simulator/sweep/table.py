"""Variants and their results -> one tidy table: the axis values (as written), the status (and
error) of each variant, and the headline metrics that apply to the workloads present (training
columns only when a variant trains, serving columns only when one serves). With replications
(``--seeds N``) each metric is the mean over the seeds and ``<metric>_std`` its sample standard
deviation. Numbers stay in SI in the frame (sweep.parquet, sweep.json, CSV); ``display`` writes
them for people with their units (domain.units.human)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulator.report.metrics import BY_NAME, METRICS, Metric
from simulator.sweep.grid import Variant

# The columns a person reads first, in order (the frame holds every relevant metric).
HEADLINE = ("tokens_trained", "jobs_finished", "usd_per_mtoken", "slo_attainment_min", "requests_served",
            "requests_abandoned", "usd_per_mtoken_generated", "total_usd", "peak_facility_power_w", "pue_mean",
            "capped_fraction", "warnings")


def axis_text(value: object) -> str:
    """An axis value as the planner wrote it (never cut)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _relevant(metric: Metric, training: bool, serving: bool) -> bool:
    return (not metric.training or training) and (not metric.serving or serving)


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def workloads_present(results: Sequence[dict], training: bool, serving: bool) -> tuple[bool, bool]:
    """(any variant trains, any variant serves): from the results, or the scenario when none ran."""
    ran = [r["summary"] for r in results if "summary" in r]
    if not ran:
        return training, serving
    return (any(_number(s.get("jobs_total")) > 0 for s in ran),
            any(_number(s.get("services_total")) > 0 for s in ran))


def sweep_frame(variants: Sequence[Variant], results: Sequence[dict], axes: dict[str, list],
                training: bool = True, serving: bool = True) -> pd.DataFrame:
    """One row per grid point (replications folded into mean and spread)."""
    training, serving = workloads_present(results, training, serving)
    metrics = [m for m in METRICS if _relevant(m, training, serving)]
    seeds = max((v.replicate for v in variants), default=0) + 1
    groups: dict[int, list[tuple[Variant, dict]]] = {}
    for variant, result in zip(variants, results, strict=True):
        groups.setdefault(variant.index, []).append((variant, result))
    rows = []
    for index, members in groups.items():
        variant = members[0][0]
        row: dict = {"variant": index}
        row.update({path: axis_text(variant.values.get(path)) for path in axes})
        errors = [r["error"] for _, r in members if "error" in r]
        row["status"] = "failed" if errors else "ok"
        row["error"] = errors[0] if errors else ""
        if seeds > 1:
            row["replicates"] = len(members)
        for spec in metrics:
            values = np.array([np.nan if "error" in r else _number(spec.value(r["summary"], r["costs"]))
                               for _, r in members])
            row[spec.name] = float(values.mean()) if not errors else math.nan
            if seeds > 1:
                row[f"{spec.name}_std"] = float(values.std(ddof=1)) if not errors else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def shown_metrics(frame: pd.DataFrame) -> list[Metric]:
    """The headline metrics present in the frame, in reading order."""
    return [BY_NAME[name] for name in HEADLINE if name in frame.columns]


def _cell(spec: Metric, row: dict) -> str:
    mean = row.get(spec.name)
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    text = spec.show(mean)
    spread = row.get(f"{spec.name}_std")
    if spread is not None and not (isinstance(spread, float) and math.isnan(spread)):
        text += " ± " + (f"{100 * spread:.1f} pt" if spec.kind == "fraction" else spec.show(spread))
    return text


def display(frame: pd.DataFrame, axes: dict[str, list]) -> tuple[list[str], list[list[str]], list[bool]]:
    """(columns, rows of cell strings, numeric flags) for the terminal, Markdown and HTML: the
    axis values whole, the headline metrics with units, the status with any error in full."""
    metrics = shown_metrics(frame)
    columns = ["#", *axes, *(m.label for m in metrics), "status"]
    numeric = [True, *(False for _ in axes), *(True for _ in metrics), False]
    rows = []
    for row in frame.to_dict("records"):
        status = "ok" if row["status"] == "ok" else f"failed: {row['error']}"
        rows.append([str(row["variant"]), *(str(row[a]) for a in axes), *(_cell(m, row) for m in metrics), status])
    return columns, rows, numeric
