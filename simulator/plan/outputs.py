"""What ``dcsim plan`` writes: plan.json (the best plan, the Pareto front, why plans were
infeasible, the sensitivity of the best plan), trials.parquet (every trial) and plan.html."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd

from simulator.plan.figures import buildout_figure, demand_figures
from simulator.plan.search import PlanResult, Trial
from simulator.plan.sensitivity import Sensitivity
from simulator.report import svg_figures
from simulator.report.chart_spec import BLUE, GREY, RED, Axis, Bars, Chart, Figure, NoData, Panel, Series
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


def _svg(figure: Figure, alt: str) -> str:
    return f"<figure>{svg_figures.render(figure, alt)}</figure>"


def _trials_figure(result: PlanResult) -> Chart:
    o = result.spec.objectives[0]
    series = []
    for feasible, colour, label in ((True, BLUE, "feasible"), (False, RED, "infeasible")):
        pts = [(t.number, t.objectives[0]) for t in result.trials
               if t.feasible == feasible and t.objectives[0] is not None]
        if pts:
            series.append(Series("points", label, _floats(p[0] for p in pts), _floats(p[1] for p in pts), colour))
    return Chart(f"Every plan tried ({o.direction} {o.metric})", Axis("trial (number)", integer=True),
                 (Panel(tuple(series), Axis(o.metric)),), height_px=360)


def _pareto_figure(result: PlanResult) -> Chart:
    a, b = (o.metric for o in result.spec.objectives)
    series = []
    feasible = [t for t in result.trials if t.feasible]
    if feasible:
        series.append(Series("points", "feasible plans", _floats(t.objectives[0] for t in feasible),
                             _floats(t.objectives[1] for t in feasible), GREY))
    front = result.pareto()
    if front:
        x, y = _floats(t.objectives[0] for t in front), _floats(t.objectives[1] for t in front)
        series += [Series("line", "Pareto front", x, y, BLUE), Series("points", "", x, y, BLUE)]
    return Chart("Pareto front of the two objectives", Axis(a), (Panel(tuple(series), Axis(b)),), height_px=360)


def _sensitivity_figure(result: PlanResult, sensitivity: list[Sensitivity]) -> Bars | NoData:
    rows = [(f"{s.input} ({'raised' if s.change > 0 else 'lowered'})", 100.0 * s.relative, s.change > 0)
            for name in sorted({s.input for s in sensitivity}) for s in sensitivity
            if s.input == name and s.relative is not None]
    if not rows:
        return NoData("Sensitivity of the best plan")
    values = tuple(v for _, v, _ in rows)
    low, high = min(*values, 0.0), max(*values, 0.0)
    return Bars("Sensitivity of the best plan", labels=tuple(label for label, _, _ in rows), values=values,
                colours=tuple(RED if raised else BLUE for _, _, raised in rows),
                texts=tuple(f"{v:+.1f}%" for v in values),
                x=Axis(f"change of {result.spec.objectives[0].metric} (%)", 1.2 * low if low < 0 else 0.0,
                       1.2 * high if high > 0 else 1.0),
                y_label="input", legend=(("input lowered", BLUE), ("input raised", RED)),
                height_px=round(90 + 35 * len(rows)))


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
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "figure{margin:1em 0}figure svg{display:block;max-width:100%;height:auto}"
        "td{padding:2px 8px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(result.trials)} plans tried ({result.evaluations} distinct simulations), "
        f"{sum(t.feasible for t in result.trials)} feasible.</p>",
        "<h2>Best plan</h2>",
        f"<table>{rows}</table>" if rows else "<p>No feasible plan.</p>",
        _svg(_trials_figure(result), "Objective of every plan tried, feasible and infeasible, by trial."),
    ]
    if len(result.spec.objectives) == 2:
        parts.append(_svg(_pareto_figure(result), "Scatter of the two objectives with the Pareto front."))
    outcome = result.outcomes.get(best.key) if best is not None else None
    if outcome is not None and "error" not in outcome:
        timeline = buildout_figure(outcome)
        if timeline is not None:
            parts += ["<h2>Build-out of the best plan</h2>",
                      _svg(timeline, "Stacked bars of GPUs in service per rack group by month, and a line chart of "
                                     "the month's peak facility power against the contracted grid envelope.")]
        demand = demand_figures(outcome)
        if demand:
            parts.append("<h2>Demand and capacity per service</h2>")
            parts += [_svg(chart, "Line chart of a service's monthly mean request arrivals against its capacity, "
                                  "with the share of requests served within the SLO.") for chart in demand]
    if sensitivity:
        parts.append(_svg(_sensitivity_figure(result, sensitivity),
                          "Bars of the best plan's objective change for each input lowered or raised."))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def plan_files(result: PlanResult, sensitivity: list[Sensitivity], title: str) -> dict[str, object]:
    return {"plan.json": dumps(plan_json(result, sensitivity)), "trials.parquet": trials_frame(result),
            "plan.html": plan_html(result, sensitivity, title)}
