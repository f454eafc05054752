"""What ``dcsim plan`` writes: plan.json (the best plan, the Pareto front, why plans were
infeasible, the sensitivity of the best plan), trials.parquet (every trial) and plan.html."""

from __future__ import annotations

import base64
import html
from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simulator.plan.figures import buildout_figure, demand_figure
from simulator.plan.search import PlanResult, Trial
from simulator.plan.sensitivity import Sensitivity
from simulator.report import figures
from simulator.report.writer import dumps


def _trial_json(result: PlanResult, trial: Trial) -> dict:
    return {"trial": trial.number, "decisions": trial.values,
            "objectives": dict(zip([o.metric for o in result.spec.objectives], trial.objectives, strict=True))}


def plan_json(result: PlanResult, sensitivity: list[Sensitivity]) -> dict:
    best = result.best()
    out: dict = {
        "objectives": [o.model_dump() for o in result.spec.objectives],
        "trials": len(result.trials),
        "evaluations": result.evaluations,
        "feasible_trials": sum(t.feasible for t in result.trials),
        "infeasible_by_constraint": dict(sorted(Counter(b for t in result.trials for b in t.broken).items())),
        "best": None,
        "pareto": [_trial_json(result, t) for t in result.pareto()],
        "sensitivity": [asdict(s) for s in sensitivity],
    }
    if best is not None:
        outcome = result.outcomes[best.key]
        out["best"] = {**_trial_json(result, best), "summary": outcome["summary"], "costs": outcome["costs"]}
    return out


def trials_frame(result: PlanResult) -> pd.DataFrame:
    """One row per trial: its decision values (as text), objectives, feasibility, broken constraints."""
    rows = []
    for t in result.trials:
        row: dict = {"trial": t.number}
        row.update({label: str(value) for label, value in t.values.items()})
        for o, value in zip(result.spec.objectives, t.objectives, strict=True):
            row[o.metric] = np.nan if value is None else float(value)
        row["feasible"] = t.feasible
        row["broken"] = ",".join(t.broken)
        rows.append(row)
    return pd.DataFrame(rows)


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _png(fig: Figure, alt: str) -> str:
    data = base64.b64encode(figures.png_bytes(fig)).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></figure>'


def _trials_figure(result: PlanResult) -> Figure:
    fig = Figure(figsize=(figures.WIDTH_IN, 3.6), dpi=figures.DPI, layout="constrained")
    ax = fig.add_subplot()
    o = result.spec.objectives[0]
    for feasible, colour, label in ((True, "tab:blue", "feasible"), (False, "tab:red", "infeasible")):
        pts = [(t.number, t.objectives[0]) for t in result.trials
               if t.feasible == feasible and t.objectives[0] is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o", ms=3, color=colour, label=label)
    ax.set_xlabel("trial")
    ax.set_ylabel(o.metric)
    ax.set_title(f"Every plan tried ({o.direction} {o.metric})")
    ax.legend(loc="best", fontsize=8)
    return fig


def _pareto_figure(result: PlanResult) -> Figure:
    fig = Figure(figsize=(figures.WIDTH_IN, 3.6), dpi=figures.DPI, layout="constrained")
    ax = fig.add_subplot()
    a, b = (o.metric for o in result.spec.objectives)
    feasible = [t for t in result.trials if t.feasible]
    if feasible:
        ax.plot(_floats(t.objectives[0] for t in feasible), _floats(t.objectives[1] for t in feasible), "o", ms=3,
                color="0.6", label="feasible plans")
    front = result.pareto()
    if front:
        ax.plot(_floats(t.objectives[0] for t in front), _floats(t.objectives[1] for t in front), "o-",
                color="tab:blue", label="Pareto front")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("Pareto front of the two objectives")
    ax.legend(loc="best", fontsize=8)
    return fig


def _sensitivity_figure(result: PlanResult, sensitivity: list[Sensitivity]) -> Figure:
    fig = Figure(figsize=(figures.WIDTH_IN, 2.8), dpi=figures.DPI, layout="constrained")
    ax = fig.add_subplot()
    names = sorted({s.input for s in sensitivity})
    for i, name in enumerate(names):
        for s in sensitivity:
            if s.input == name and s.relative is not None:
                ax.barh(i, 100.0 * s.relative, color="tab:red" if s.change > 0 else "tab:blue")
    ax.set_yticks(range(len(names)), names)
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel(f"change of {result.spec.objectives[0].metric} (%)")
    ax.set_title("Sensitivity of the best plan (blue: input lowered, red: raised)")
    return fig


def plan_html(result: PlanResult, sensitivity: list[Sensitivity], title: str) -> str:
    best = result.best()
    rows = ""
    if best is not None:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in best.values.items())
        rows += "".join(f"<tr><td>{html.escape(o.metric)}</td><td>{v:,.6g}</td></tr>"
                        for o, v in zip(result.spec.objectives, best.objectives, strict=True) if v is not None)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
        "td{padding:2px 8px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(result.trials)} plans tried ({result.evaluations} distinct simulations), "
        f"{sum(t.feasible for t in result.trials)} feasible.</p>",
        "<h2>Best plan</h2>",
        f"<table>{rows}</table>" if rows else "<p>No feasible plan.</p>",
        _png(_trials_figure(result), "Objective of every plan tried, feasible and infeasible, by trial."),
    ]
    if len(result.spec.objectives) == 2:
        parts.append(_png(_pareto_figure(result), "Scatter of the two objectives with the Pareto front."))
    outcome = result.outcomes.get(best.key) if best is not None else None
    if outcome is not None and "error" not in outcome:
        timeline = buildout_figure(outcome)
        if timeline is not None:
            parts += ["<h2>Build-out of the best plan</h2>",
                      _png(timeline, "Stacked bars of GPUs in service per rack group by month, and a line chart of "
                                     "the month's peak facility power against the contracted grid envelope.")]
        demand = demand_figure(outcome)
        if demand is not None:
            parts += ["<h2>Demand and capacity per service</h2>",
                      _png(demand, "Line charts per service of monthly mean request arrivals against capacity, "
                                   "with the share of requests served within the SLO.")]
    if sensitivity:
        parts.append(_png(_sensitivity_figure(result, sensitivity),
                          "Bars of the best plan's objective change for each input lowered or raised."))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def plan_files(result: PlanResult, sensitivity: list[Sensitivity], title: str) -> dict[str, object]:
    return {"plan.json": dumps(plan_json(result, sensitivity)), "trials.parquet": trials_frame(result),
            "plan.html": plan_html(result, sensitivity, title)}
