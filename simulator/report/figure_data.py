"""What each report figure shows, drawn by neither renderer: the one owner of the figures' data.

Each function turns run outputs (frames, costs.json) into a small frozen description
(report/chart_spec.py) — a ``Chart`` of time-series panels, a ``Bars`` chart, or ``NoData`` —
with the columns picked, the scales chosen (W -> kW -> MW -> GW, time in hours or days, counts in
thousands or millions), the axis labels with their units, the stacking order and the colours. Two
renderers draw these:
report/figures.py with matplotlib (the notebook API's ``Result.plot_*`` Figures, plan.html and
the sweep report share its helpers) and report/svg_figures.py as inline SVG for report.html,
which then needs no matplotlib. An input too small to plot (no rows, one sample, no jobs) gives
``NoData``.

Time-series rows hold the mean over the interval that *ends* at ``t_s`` (docs/outputs.md), so
power and the other interval means are "step" series: ``x`` holds the n + 1 interval edges (the
first interval's start prepended) and ``y`` the n values with the first repeated in front (the
"steps-pre" convention: y[i] covers (x[i - 1], x[i]]). "line" series join samples as points.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simulator.report.chart_spec import (
    BLACK,
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PALETTE,
    PURPLE,
    RED,
    Axis,
    Bars,
    Chart,
    Figure,
    NoData,
    Panel,
    Series,
    short,
)
from simulator.report.fmt import finite, fmt_usd

POWER_PARTS = (
    ("accelerator_power_w", "accelerators"),
    ("host_power_w", "hosts"),
    ("server_fan_power_w", "server fans"),
    ("support_power_w", "storage and support"),
    ("network_power_w", "networks"),
    ("losses_power_w", "power-chain losses"),
    ("cooling_power_w", "cooling"),
    ("other_power_w", "other facility"),
)


def column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats; NaN where the column is absent, so a partial frame still plots."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _scale(peak: float, steps: tuple[tuple[float, str], ...], base: str) -> tuple[float, str]:
    """The first (factor, name) of ``steps`` that ``peak`` reaches, else (1, ``base``)."""
    for factor, name in steps:
        if peak >= factor:
            return factor, name
    return 1.0, base


def time_scale(span_s: float) -> tuple[float, str]:
    """Seconds per axis unit and the axis label: days from one day up, hours below."""
    return (86400.0, "time (days)") if span_s >= 86400.0 else (3600.0, "time (hours)")


def power_scale(peak_w: float) -> tuple[float, str]:
    return _scale(peak_w, ((1e9, "GW"), (1e6, "MW"), (1e3, "kW")), "W")


def count_scale(peak: float, what: str) -> tuple[float, str]:
    """Divisor and unit for counts of ``what``: "millions of requests" from a million up."""
    factor, name = _scale(peak, ((1e9, "billions"), (1e6, "millions"), (1e3, "thousands")), "")
    return factor, f"{name} of {what}" if name else what


def token_scale(peak: float) -> tuple[float, str]:
    return _scale(peak, ((1e12, "trillions"), (1e9, "billions"), (1e6, "millions")), "tokens")


def steps_x(t_s: np.ndarray) -> np.ndarray:
    """Sample times with the start of the first interval prepended (the step convention)."""
    first = t_s[1] - t_s[0] if len(t_s) > 1 else 0.0
    return np.concatenate(([max(0.0, t_s[0] - first)], t_s))


def steps_y(values: np.ndarray) -> np.ndarray:
    return np.concatenate((values[:1], values))


def sorted_timeseries(timeseries: pd.DataFrame) -> pd.DataFrame | None:
    """Rows ordered by time, or None when fewer than two samples (nothing to draw over time)."""
    if "t_s" not in timeseries.columns or len(timeseries) < 2:
        return None
    return timeseries.sort_values("t_s", kind="stable")


def _over_time(timeseries: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, float, str, np.ndarray] | None:
    """The rows by time, their times, seconds per axis unit, the time axis' label and the step
    edges in axis units; None when there are fewer than two samples."""
    ts = sorted_timeseries(timeseries)
    if ts is None:
        return None
    t = column(ts, "t_s")
    t_scale, t_label = time_scale(t[-1] - t[0])
    return ts, t, t_scale, t_label, steps_x(t) / t_scale


def power_stack(timeseries: pd.DataFrame) -> Figure:
    """Facility power by component, stacked in POWER_PARTS order, with the site's envelope."""
    over_time = _over_time(timeseries)
    if over_time is None:
        return NoData("Facility power by component")
    ts, _, _, t_label, x = over_time
    parts = [np.nan_to_num(column(ts, col)) for col, _ in POWER_PARTS]
    envelope = column(ts, "power_envelope_w")
    peak = float(np.nanmax([np.sum(parts, axis=0).max(), np.nanmax(envelope, initial=0.0)]))
    scale, unit = power_scale(peak)
    series = []
    bottom = np.zeros(len(x))
    for values, (_, name), colour in zip(parts, POWER_PARTS, PALETTE, strict=False):
        top = bottom + steps_y(values) / scale
        series.append(Series("area", name, x, top, colour, base=bottom, width=0.0))
        bottom = top
    if np.isfinite(envelope).any():
        series.append(Series("step", "power envelope", x, steps_y(envelope) / scale, BLACK,
                             width=1.2, dash="dashed"))
    panel = Panel(tuple(series), Axis(f"power ({unit})", lo=0.0))
    return Chart("Facility power by component", Axis(t_label, x[0], x[-1]), (panel,))


def pue_and_temperature(timeseries: pd.DataFrame) -> Figure:
    """PUE (left axis, steps) and outdoor temperature (right axis, samples) over time."""
    title = "PUE and outdoor temperature"
    over_time = _over_time(timeseries)
    if over_time is None:
        return NoData(title)
    ts, t, t_scale, t_label, x = over_time
    series = (
        Series("step", "PUE", x, steps_y(column(ts, "pue")), BLUE),
        Series("line", "outdoor temperature", t / t_scale, column(ts, "ambient_c"), RED, width=1.0, right=True),
    )
    panel = Panel(series, Axis("PUE (facility / IT power)"), Axis("outdoor temperature (°C)"))
    return Chart(title, Axis(t_label, x[0], x[-1]), (panel,))


def utilisation(timeseries: pd.DataFrame) -> Figure:
    """GPU utilisation and clock fraction (top) and running / queued jobs (bottom) over time."""
    title = "Accelerator utilisation and scheduler queue"
    over_time = _over_time(timeseries)
    if over_time is None:
        return NoData(title)
    ts, _, _, t_label, x = over_time
    shares = tuple(Series("step", name, x, steps_y(column(ts, col)) * 100, colour)
                   for col, name, colour in (("gpu_utilization", "GPU utilisation", BLUE),
                                             ("clock_fraction", "GPU clock", ORANGE)))
    counts = tuple(Series("step", name, x, steps_y(column(ts, col)), colour)
                   for col, name, colour in (("running_jobs", "running jobs", GREEN),
                                             ("queued_jobs", "queued jobs", PURPLE)))
    panels = (Panel(shares, Axis("share of full (%)", 0.0, 105.0)),
              Panel(counts, Axis("training jobs (count)", lo=0.0, integer=True)))  # no "0.4 jobs"
    return Chart(title, Axis(t_label, x[0], x[-1]), panels, height_px=500)


# Arrivals wide and pale underneath, so a service keeping up (served on top of it) shows both.
_REQUEST_SERIES = (
    ("requests_arrived", "arriving", BLUE, {"width": 4.0, "alpha": 0.35}),
    ("requests_served", "served", GREEN, {"width": 1.5}),
    ("requests_slo_met", "served within SLO", BLACK, {"width": 1.0, "dash": "dotted"}),
)


def requests_over_time(timeseries: pd.DataFrame) -> Figure:
    """Inference requests per second arriving, served and served within SLO (left axis: each
    interval's count over its length), and the backlog queued at each interval's end (right axis)."""
    title = "Inference requests"
    over_time = _over_time(timeseries)
    if over_time is None or "requests_arrived" not in over_time[0].columns:
        return NoData(title)
    ts, t, t_scale, t_label, x = over_time
    edges = steps_x(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        interval = np.where(np.diff(edges) > 0, np.diff(edges), np.nan)
    series, peak = [], 0.0
    for col, name, colour, style in _REQUEST_SERIES:
        if col in ts.columns:
            rate = column(ts, col) / interval
            peak = max(peak, float(np.nanmax(rate, initial=0.0)))
            series.append(Series("step", name, x, steps_y(rate), colour, **style))
    queued, at = np.nan_to_num(column(ts, "requests_backlog")), t
    if edges[0] == 0.0:  # the run starts with every queue empty
        at, queued = edges, np.concatenate(([0.0], queued))
    scale, unit = count_scale(float(queued.max()), "requests")
    series.append(Series("line", "backlog at interval end", at / t_scale, queued / scale, RED, width=1.0, right=True))
    # headroom: a steady rate is not drawn along the frame; an empty queue sits on the axis
    panel = Panel(tuple(series), Axis("request rate (requests/s)", 0.0, max(1.1 * peak, 1.0)),
                  Axis(f"backlog ({unit})", 0.0, max(1.05 * float(queued.max()) / scale, 1.0)))
    return Chart(title, Axis(t_label, x[0], x[-1]), (panel,))


MAX_LEGEND_JOBS = 12


def job_progress(jobs: pd.DataFrame, progress: pd.DataFrame, horizon_s: float | None = None) -> Figure:
    """Tokens trained over time, one line per job (in the jobs table's order), with each finished
    job's end marked; the time axis spans ``horizon_s`` when given, else the last sample."""
    title = "Training progress"
    if len(jobs) == 0 or len(progress) == 0 or "job" not in progress.columns:
        return NoData(title)
    prog = progress.sort_values(["job", "t_s"], kind="stable")
    ends = jobs[np.isfinite(column(jobs, "end_s"))] if "end_s" in jobs.columns else jobs[:0]
    times = np.concatenate((column(prog, "t_s"), column(ends, "end_s")))
    tokens = np.concatenate((column(prog, "tokens_done"), column(ends, "tokens_done")))
    span = horizon_s if horizon_s else float(np.nanmax(times, initial=0.0))
    t_scale, t_label = time_scale(span)
    y_scale, y_unit = token_scale(float(np.nanmax(tokens, initial=0.0)))
    names = [str(n) for n in dict.fromkeys(jobs["job"])] if "job" in jobs.columns else []
    by_job = {str(name): rows for name, rows in prog.groupby("job", sort=False)}
    series: list[Series] = []
    colours: dict[str, str] = {}
    for name in [n for n in names if n in by_job] + [n for n in by_job if n not in names]:
        colours[name] = PALETTE[len(colours) % len(PALETTE)]
        rows = by_job[name]
        series.append(Series("line", short(name), column(rows, "t_s") / t_scale,
                             column(rows, "tokens_done") / y_scale, colours[name]))
    for end in ends.to_dict("records"):
        series.append(Series("points", "", np.array([end["end_s"] / t_scale]),
                             np.array([end.get("tokens_done", np.nan) / y_scale]),
                             colours.get(str(end["job"]), BLACK)))
    if len(ends):
        series.append(Series("points", "finished", np.array([]), np.array([]), GREY))
    count = f"{len(by_job)} job" + ("" if len(by_job) == 1 else "s")
    x_axis = Axis(t_label, 0.0, span / t_scale if horizon_s else None)
    return Chart(f"{title} ({count})", x_axis, (Panel(tuple(series), Axis(f"tokens trained ({y_unit})", lo=0.0)),),
                 legend=len(by_job) <= MAX_LEGEND_JOBS)


def _cost_items(costs: Mapping[str, object]) -> list[tuple[str, float, bool]]:
    """(label, USD, is_capex) for amortised capex and opex items, totals left out."""
    items = []
    for key, capex, prefix in (("amortised_usd", True, "capex"), ("opex_usd", False, "opex")):
        section = costs.get(key)
        if not isinstance(section, Mapping):
            continue
        for name, value in section.items():
            usd = finite(value)
            if name != "total" and usd is not None:
                items.append((f"{prefix}: {name}", usd, capex))
    return items


def cost_breakdown(costs: Mapping[str, object]) -> Figure:
    """Amortised capex and opex over the horizon by item, as horizontal bars in USD."""
    title = "Cost over the simulated span"
    items = _cost_items(costs)
    if not items:
        return NoData(title)
    values = tuple(usd for _, usd, _ in items)
    high, low = max(*values, 0.0), min(*values, 0.0)
    total = finite(costs.get("total_usd"))
    if total is not None:
        title += f" (total {fmt_usd(total)})"
    return Bars(
        title,
        labels=tuple(label for label, _, _ in items),
        values=values,
        colours=tuple(BLUE if capex else ORANGE for _, _, capex in items),
        texts=tuple(fmt_usd(v) for v in values),
        x=Axis("cost over the span (USD)", low * 1.2, high * 1.2 if high > 0 else 1.0, fmt="usd"),
        y_label="cost item",
        legend=(("capex, amortised", BLUE), ("opex", ORANGE)),
        height_px=round(90 + 35 * len(items)),
    )
