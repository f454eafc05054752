"""plan.html figures of the best plan's own run (a dated scenario): the build-out timeline (GPUs
in service per rack group, and the month's peak facility power against the envelope in force),
and each service's demand against its capacity per month. Both read the outcome the plan
search kept (summary.json ``monthly`` and costs.json ``capex_schedule``) and return figure
descriptions (report/chart_spec.py) that plan.html draws as SVG (report/svg_figures.py)."""

from __future__ import annotations

import math

import numpy as np

from simulator.report.chart_spec import BLUE, GREEN, PALETTE, RED, Axis, Chart, Panel, Series

DAY_S = 86400.0


def _months(outcome: dict) -> list[dict]:
    return list(outcome.get("summary", {}).get("monthly") or [])


def _line_with_dots(label: str, x: np.ndarray, y: np.ndarray, colour: str, **style) -> list[Series]:
    return [Series("line", label, x, y, colour, **style), Series("points", "", x, y, colour)]


def buildout_figure(outcome: dict) -> Chart | None:
    """Top: GPUs in service per rack group at each month's end, stacked. Bottom: the month's peak
    facility power and the envelope in force (MW), per site where there are several. None for an
    undated run."""
    months = _months(outcome)
    if not months:
        return None
    ends = [m["end_s"] - 1e-6 for m in months]
    x = np.arange(len(months), dtype=float)
    base = np.zeros(len(months))
    bars = []
    for i, g in enumerate(outcome.get("costs", {}).get("capex_schedule") or []):
        retire = g["retire_s"] if g["retire_s"] is not None else math.inf
        gpus = np.array([g["gpus"] if g["at_s"] <= t < retire else 0 for t in ends], dtype=float)
        label = f"{g['group']} (from day {g['at_s'] / DAY_S:.0f})"
        bars.append(Series("bar", label, x, base + gpus, PALETTE[i % len(PALETTE)], base=base.copy()))
        base += gpus
    edges = np.arange(len(months) + 1) - 0.5  # each month's envelope across its whole column
    sites = {name: s for name, s in (outcome.get("summary", {}).get("sites") or {}).items()
             if s.get("monthly_peak_facility_power_w")}
    if sites:      # several sites: each its own power against its own contract
        power = []
        for k, (name, site) in enumerate(sites.items()):
            colour = PALETTE[k % len(PALETTE)]
            envelope = np.array(site["monthly_power_envelope_w"]) / 1e6
            power += [*_line_with_dots(f"{name}: peak facility power", x,
                                       np.array(site["monthly_peak_facility_power_w"]) / 1e6, colour),
                      Series("step", f"{name}: envelope (contracted)", edges,
                             np.concatenate((envelope[:1], envelope)), colour, dash="dashed")]
    else:
        peak = np.array([m["peak_facility_power_w"] / 1e6 for m in months])
        envelope = np.array([m["power_envelope_w"] / 1e6 for m in months])
        power = [*_line_with_dots("peak facility power", x, peak, BLUE),
                 Series("step", "grid envelope (contracted)", edges, np.concatenate((envelope[:1], envelope)), RED)]
    panels = (Panel(tuple(bars), Axis("GPUs in service (count)", lo=0.0, integer=True)),
              Panel(tuple(power), Axis("power (MW)", lo=0.0)))
    months_axis = Axis("month", categories=tuple(m["month"] for m in months))
    return Chart("Build-out: what is in service when", months_axis, panels, height_px=560)


def demand_figures(outcome: dict) -> list[Chart]:
    """Per service: mean arrival rate per month against its capacity, and the share of its
    requests within the SLO (right axis). Empty without services or months."""
    months = _months(outcome)
    names = sorted(months[0]["arrival_rate_per_s"]) if months else []
    x = np.arange(len(months), dtype=float)
    months_axis = Axis("month", categories=tuple(m["month"] for m in months))
    charts = []
    for name in names:
        slo = np.array([np.nan if m["slo_attainment"][name] is None else 100 * m["slo_attainment"][name]
                        for m in months])
        series = (*_line_with_dots("demand (mean arrivals)", x, np.array([m["arrival_rate_per_s"][name]
                                                                         for m in months]), BLUE),
                  Series("line", "capacity", x, np.array([m["capacity_per_s"][name] for m in months]), GREEN,
                         dash="dashed"),
                  Series("line", "within SLO", x, slo, RED, dash="dotted", right=True))
        panel = Panel(series, Axis("request rate (requests/s)", lo=0.0), Axis("within SLO (%)", 0.0, 105.0))
        charts.append(Chart(f"{name}: demand vs capacity per month", months_axis, (panel,), height_px=280))
    return charts
