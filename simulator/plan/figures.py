"""plan.html figures of the best plan's own run (a dated scenario): the build-out timeline (GPUs
in service per rack group, and the month's peak facility power against the envelope in force),
and each service's demand against its capacity per month. Both read the outcome the plan
search kept (summary.json ``monthly`` and costs.json ``capex_schedule``)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from simulator.report import figures

DAY_S = 86400.0


def _months(outcome: dict) -> list[dict]:
    return list(outcome.get("summary", {}).get("monthly") or [])


def buildout_figure(outcome: dict) -> Figure | None:
    """Top: GPUs in service per rack group at each month's end, stacked. Bottom: the month's peak
    facility power and the envelope in force (MW), per site where there are several. None for an
    undated run."""
    months = _months(outcome)
    if not months:
        return None
    labels = [m["month"] for m in months]
    ends = [m["end_s"] - 1e-6 for m in months]
    groups = outcome.get("costs", {}).get("capex_schedule") or []
    fig = Figure(figsize=(figures.WIDTH_IN, 5.6), dpi=figures.DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(labels))
    base = np.zeros(len(labels))
    for g in groups:
        retire = g["retire_s"] if g["retire_s"] is not None else math.inf
        gpus = np.array([g["gpus"] if g["at_s"] <= t < retire else 0 for t in ends], dtype=float)
        top.bar(x, gpus, bottom=base, width=0.9, label=f"{g['group']} (from day {g['at_s'] / DAY_S:.0f})")
        base += gpus
    top.set_ylabel("GPUs in service")
    top.set_title("Build-out: what is in service when")
    if groups:
        top.legend(loc="upper left", fontsize=8)
    sites = {name: s for name, s in (outcome.get("summary", {}).get("sites") or {}).items()
             if s.get("monthly_peak_facility_power_w")}
    if sites:      # several sites: each its own power against its own contract
        for k, (name, site) in enumerate(sites.items()):
            color = f"C{k}"
            bottom.plot(x, np.array(site["monthly_peak_facility_power_w"]) / 1e6, "o-", ms=3, color=color,
                        label=f"{name}: peak facility power")
            bottom.step(x, np.array(site["monthly_power_envelope_w"]) / 1e6, where="mid", color=color,
                        linestyle="--", label=f"{name}: envelope (contracted)")
    else:
        bottom.plot(x, [m["peak_facility_power_w"] / 1e6 for m in months], "o-", ms=3, label="peak facility power")
        bottom.step(x, [m["power_envelope_w"] / 1e6 for m in months], where="mid", color="tab:red",
                    label="grid envelope (contracted)")
    bottom.set_ylabel("MW")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    step = max(len(labels) // 12, 1)
    bottom.set_xticks(x[::step], labels[::step], rotation=45, fontsize=8)
    return fig


def demand_figure(outcome: dict) -> Figure | None:
    """Per service: mean arrival rate per month against its capacity, and the share of its
    requests within the SLO. None without services or months."""
    months = _months(outcome)
    names = sorted(months[0]["arrival_rate_per_s"]) if months else []
    if not names:
        return None
    fig = Figure(figsize=(figures.WIDTH_IN, 2.6 * len(names)), dpi=figures.DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    x = np.arange(len(months))
    for ax, name in zip(axes, names, strict=True):
        ax.plot(x, [m["arrival_rate_per_s"][name] for m in months], "o-", ms=3, label="demand (mean arrivals)")
        ax.plot(x, [m["capacity_per_s"][name] for m in months], "--", color="tab:green", label="capacity")
        ax.set_ylabel("requests/s")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{name}: demand vs capacity per month")
        slo = ax.twinx()
        slo.plot(x, [np.nan if m["slo_attainment"][name] is None else 100 * m["slo_attainment"][name]
                     for m in months], ":", color="tab:red", label="within SLO (%)")
        slo.set_ylim(0, 105)
        slo.set_ylabel("within SLO (%)")
        ax.legend(loc="upper left", fontsize=8)
        slo.legend(loc="lower right", fontsize=8)
    step = max(len(months) // 12, 1)
    axes[-1].set_xticks(x[::step], [m["month"] for m in months][::step], rotation=45, fontsize=8)
    return fig
