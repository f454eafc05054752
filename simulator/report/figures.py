"""The report's figures, one function per figure, each returning a matplotlib ``Figure``.

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot, so nothing global
(backend, open-figure registry, rcParams) is touched and they are freed like any other object.
Sizes and dpi are fixed (960 px wide) and ``png_bytes`` strips the metadata that would change
between matplotlib versions, so the same inputs give the same PNG bytes. An input too small to
plot (no rows, one sample, no jobs) gives a figure that says "no data" instead of an error.

Time-series rows hold the mean over the interval that *ends* at ``t_s`` (docs/outputs.md), so
power and the other interval means are drawn as steps that cover (t_s - interval, t_s].
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.report.fmt import finite, fmt_usd

WIDTH_IN = 9.6  # 960 px at DPI: fits a 1000 px page
DPI = 100

_POWER_PARTS = (
    ("accelerator_power_w", "accelerators"),
    ("host_power_w", "hosts"),
    ("server_fan_power_w", "server fans"),
    ("support_power_w", "storage and support"),
    ("network_power_w", "networks"),
    ("losses_power_w", "power-chain losses"),
    ("cooling_power_w", "cooling"),
    ("other_power_w", "other facility"),
)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, identical for identical figures (no software/time metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(height_in: float = 4.0) -> Figure:
    return Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)


# Margins in inches from the text they hold (characters at the fonts' average width), not
# matplotlib's constrained layout, which measures every tick label: a third of the drawing.
_LABEL_CHAR_IN = 0.066  # a tick label's character (10 pt)
_SMALL_CHAR_IN = 0.065  # a legend's character ("small", 8.3 pt)
_LEGEND_EXTRA_IN = 0.65  # a legend's handle, padding and frame


def _place(fig: Figure, *, left_in: float = 0.85, right_in: float = 0.2, bottom_in: float = 0.55,
           top_in: float = 0.4, legend: list[str] | None = None, handles: list | None = None) -> None:
    """Fix the axes' position from margins in inches, with a legend of ``legend`` labels (and
    ``handles``) to the right of the plot, where it cannot cover the data; the plot keeps at
    least 60% of the width (a long label is then cut at the figure's edge)."""
    width, height = fig.get_size_inches()
    legend_in = _LEGEND_EXTRA_IN + _SMALL_CHAR_IN * max(len(label) for label in legend) if legend else 0.0
    left_in = max(min(left_in, 0.39 * width - right_in - legend_in), 0.3)
    right, top = 1.0 - (right_in + legend_in) / width, 1.0 - top_in / height
    fig.subplots_adjust(left=left_in / width, right=right, bottom=bottom_in / height, top=top, hspace=0.15)
    if legend:
        fig.legend(handles or [], legend, loc="upper left", bbox_to_anchor=(1.0 - (legend_in - 0.05) / width, top),
                   fontsize="small")


def no_data(title: str) -> Figure:
    """A small figure with ``title`` that says there is nothing to plot."""
    fig = _figure(1.6)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=14, color="0.4", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats; NaN where the column is absent, so a partial frame still plots."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _time_scale(span_s: float) -> tuple[float, str]:
    """Seconds per axis unit and the axis label: days from one day up, hours below."""
    return (86400.0, "time (days)") if span_s >= 86400.0 else (3600.0, "time (hours)")


def _steps_x(t_s: np.ndarray) -> np.ndarray:
    """Sample times with the start of the first interval prepended, for step='pre' drawing."""
    first = t_s[1] - t_s[0] if len(t_s) > 1 else 0.0
    return np.concatenate(([max(0.0, t_s[0] - first)], t_s))


def _steps_y(values: np.ndarray) -> np.ndarray:
    return np.concatenate((values[:1], values))


def _power_scale(peak_w: float) -> tuple[float, str]:
    for factor, unit in ((1e9, "GW"), (1e6, "MW"), (1e3, "kW")):
        if peak_w >= factor:
            return factor, unit
    return 1.0, "W"


def _legend_outside(fig: Figure, ax: Axes, **margins: float) -> None:
    """A legend of every axes' lines to the right of the plot (``_place``)."""
    handles, labels = ax.get_legend_handles_labels()
    for other in fig.axes:
        if other is not ax:
            more = other.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
    _place(fig, legend=labels or None, handles=handles, **margins)


MAX_LABEL = 30  # characters of a job name in a legend: a long name must not squeeze the plot


def _label(text: object, limit: int | None = None) -> str:
    """User text made safe as a matplotlib label: no mathtext, not hidden by a leading '_', and
    cut to ``limit`` characters with an ellipsis (the tables show names in full)."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    label = text.replace("$", r"\$")
    return " " + label if label.startswith("_") else label


def _sorted_timeseries(timeseries: pd.DataFrame) -> pd.DataFrame | None:
    """Rows ordered by time, or None when fewer than two samples (nothing to draw over time)."""
    if "t_s" not in timeseries.columns or len(timeseries) < 2:
        return None
    return timeseries.sort_values("t_s", kind="stable")


def power_stack(timeseries: pd.DataFrame) -> Figure:
    """Facility power by component, stacked, over time, with the site's power envelope."""
    title = "Facility power by component"
    ts = _sorted_timeseries(timeseries)
    if ts is None:
        return no_data(title)
    t = _column(ts, "t_s")
    parts = [np.nan_to_num(_column(ts, col)) for col, _ in _POWER_PARTS]
    envelope = _column(ts, "power_envelope_w")
    peak = float(np.nanmax([np.sum(parts, axis=0).max(), np.nanmax(envelope, initial=0.0)]))
    scale, unit = _power_scale(peak)
    t_scale, t_label = _time_scale(t[-1] - t[0])
    x = _steps_x(t) / t_scale
    fig = _figure()
    ax = fig.add_subplot()
    bottom = np.zeros(len(x))
    for values, (_, name) in zip(parts, _POWER_PARTS, strict=True):
        top = bottom + _steps_y(values) / scale
        ax.fill_between(x, bottom, top, step="pre", label=name, linewidth=0)
        bottom = top
    if np.isfinite(envelope).any():
        ax.plot(
            x,
            _steps_y(envelope) / scale,
            drawstyle="steps-pre",
            color="black",
            linestyle="--",
            linewidth=1.2,
            label="power envelope",
        )
    ax.set(title=title, xlabel=t_label, ylabel=f"power ({unit})", xlim=(x[0], x[-1]))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    _legend_outside(fig, ax)
    return fig


def pue_and_temperature(timeseries: pd.DataFrame) -> Figure:
    """PUE (left axis) and outdoor temperature (right axis) over time."""
    title = "PUE and outdoor temperature"
    ts = _sorted_timeseries(timeseries)
    if ts is None:
        return no_data(title)
    t = _column(ts, "t_s")
    t_scale, t_label = _time_scale(t[-1] - t[0])
    x = _steps_x(t) / t_scale
    fig = _figure()
    ax = fig.add_subplot()
    pue = _steps_y(_column(ts, "pue"))
    ax.plot(x, pue, drawstyle="steps-pre", color="tab:blue", label="PUE")
    ax.set(title=title, xlabel=t_label, ylabel="PUE (facility / IT power)", xlim=(x[0], x[-1]))
    ax.grid(alpha=0.3)
    temperature = ax.twinx()
    temperature.plot(
        t / t_scale,
        _column(ts, "ambient_c"),
        color="tab:red",
        linewidth=1,
        label="outdoor temperature",
    )
    temperature.set_ylabel("outdoor temperature (°C)")
    _legend_outside(fig, ax, right_in=0.8)
    return fig


def utilisation(timeseries: pd.DataFrame) -> Figure:
    """GPU utilisation and clock fraction (top) and running / queued jobs (bottom) over time."""
    title = "Accelerator utilisation and scheduler queue"
    ts = _sorted_timeseries(timeseries)
    if ts is None:
        return no_data(title)
    t = _column(ts, "t_s")
    t_scale, t_label = _time_scale(t[-1] - t[0])
    x = _steps_x(t) / t_scale
    fig = _figure(5.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    series = (
        ("gpu_utilization", "GPU utilisation", "tab:blue"),
        ("clock_fraction", "GPU clock", "tab:orange"),
    )
    for col, name, colour in series:
        top.plot(
            x, _steps_y(_column(ts, col)) * 100, drawstyle="steps-pre", color=colour, label=name
        )
    top.set(title=title, ylabel="share of full (%)", ylim=(0, 105))
    series = (
        ("running_jobs", "running jobs", "tab:green"),
        ("queued_jobs", "queued jobs", "tab:purple"),
    )
    for col, name, colour in series:
        bottom.plot(x, _steps_y(_column(ts, col)), drawstyle="steps-pre", color=colour, label=name)
    bottom.set(xlabel=t_label, ylabel="training jobs (count)", xlim=(x[0], x[-1]))
    bottom.set_ylim(bottom=0)
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))  # no "0.4 jobs" ticks
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    _legend_outside(fig, top)
    return fig


def _count_scale(peak: float, what: str) -> tuple[float, str]:
    """Divisor and unit for counts of ``what``: "millions of requests" from a million up."""
    for factor, name in ((1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if peak >= factor:
            return factor, f"{name} of {what}"
    return 1.0, what


# Arrivals wide and pale underneath, so a service keeping up (served on top of it) shows both.
_REQUEST_SERIES = (
    ("requests_arrived", "arriving", "tab:blue", {"linewidth": 4.0, "alpha": 0.35}),
    ("requests_served", "served", "tab:green", {"linewidth": 1.5}),
    ("requests_slo_met", "served within SLO", "black", {"linewidth": 1.0, "linestyle": ":"}),
)


def requests_over_time(timeseries: pd.DataFrame) -> Figure:
    """Inference requests per second arriving, served and served within SLO (left axis: each
    interval's count over its length), and the backlog queued at each interval's end (right axis)."""
    title = "Inference requests"
    ts = _sorted_timeseries(timeseries)
    if ts is None or "requests_arrived" not in ts.columns:
        return no_data(title)
    t = _column(ts, "t_s")
    t_scale, t_label = _time_scale(t[-1] - t[0])
    edges = _steps_x(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        interval = np.where(np.diff(edges) > 0, np.diff(edges), np.nan)
    x = edges / t_scale
    fig = _figure()
    ax = fig.add_subplot()
    peak = 0.0
    for col, name, colour, style in _REQUEST_SERIES:
        if col in ts.columns:
            rate = _column(ts, col) / interval
            peak = max(peak, float(np.nanmax(rate, initial=0.0)))
            ax.plot(x, _steps_y(rate), drawstyle="steps-pre", color=colour, label=name, **style)
    ax.set(title=title, xlabel=t_label, ylabel="request rate (requests/s)", xlim=(x[0], x[-1]))
    ax.set_ylim(0, max(1.1 * peak, 1.0))  # headroom: a steady rate is not drawn along the frame
    ax.grid(alpha=0.3)
    queued = np.nan_to_num(_column(ts, "requests_backlog"))
    at = t
    if edges[0] == 0.0:  # the run starts with every queue empty
        at, queued = edges, np.concatenate(([0.0], queued))
    scale, unit = _count_scale(float(queued.max()), "requests")
    backlog = ax.twinx()
    backlog.plot(at / t_scale, queued / scale, color="tab:red", linewidth=1, label="backlog at interval end")
    backlog.set_ylabel(f"backlog ({unit})")
    backlog.set_ylim(0, max(1.05 * float(queued.max()) / scale, 1.0))  # an empty queue sits on the axis
    _legend_outside(fig, ax, right_in=0.8)
    return fig


def _token_scale(peak: float) -> tuple[float, str]:
    for factor, unit in ((1e12, "trillions"), (1e9, "billions"), (1e6, "millions")):
        if peak >= factor:
            return factor, unit
    return 1.0, "tokens"


MAX_LEGEND_JOBS = 12


def job_progress(jobs: pd.DataFrame, progress: pd.DataFrame, horizon_s: float | None = None) -> Figure:
    """Tokens trained over time, one line per job, with each finished job's end marked; the time
    axis spans ``horizon_s`` when given (as the site figures do), else the last sample."""
    title = "Training progress"
    if len(jobs) == 0 or len(progress) == 0 or "job" not in progress.columns:
        return no_data(title)
    prog = progress.sort_values(["job", "t_s"], kind="stable")
    ends = jobs[np.isfinite(_column(jobs, "end_s"))] if "end_s" in jobs.columns else jobs[:0]
    times = np.concatenate((_column(prog, "t_s"), _column(ends, "end_s")))
    tokens = np.concatenate((_column(prog, "tokens_done"), _column(ends, "tokens_done")))
    span = horizon_s if horizon_s else float(np.nanmax(times, initial=0.0))
    t_scale, t_label = _time_scale(span)
    y_scale, y_unit = _token_scale(float(np.nanmax(tokens, initial=0.0)))
    fig = _figure()
    ax = fig.add_subplot()
    colours: dict[str, object] = {}
    names = [str(n) for n in dict.fromkeys(jobs["job"])] if "job" in jobs.columns else []
    by_job = {str(name): rows for name, rows in prog.groupby("job", sort=False)}
    for name in names + [n for n in by_job if n not in names]:
        rows = by_job.get(name)
        if rows is None:
            continue
        (line,) = ax.plot(
            _column(rows, "t_s") / t_scale,
            _column(rows, "tokens_done") / y_scale,
            label=_label(name, MAX_LABEL),
        )
        colours[name] = line.get_color()
    for end in ends.to_dict("records"):
        ax.plot(
            end["end_s"] / t_scale,
            end.get("tokens_done", np.nan) / y_scale,
            "o",
            color=colours.get(str(end["job"]), "black"),
            markersize=5,
        )
    if len(ends):
        ax.plot([], [], "o", color="0.3", label="finished")
    count = f"{len(by_job)} job" + ("" if len(by_job) == 1 else "s")
    ax.set(title=f"{title} ({count})", xlabel=t_label, ylabel=f"tokens trained ({y_unit})")
    ax.set_xlim(left=0, right=span / t_scale if horizon_s else None)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if len(by_job) <= MAX_LEGEND_JOBS:
        _legend_outside(fig, ax)
    else:
        _place(fig)
    return fig


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
        return no_data(title)
    fig = _figure(0.9 + 0.35 * len(items))
    ax = fig.add_subplot()
    labels = [_label(label) for label, _, _ in items]
    values = [usd for _, usd, _ in items]
    colours = ["tab:blue" if capex else "tab:orange" for _, _, capex in items]
    bars = ax.barh(labels, values, color=colours)
    ax.bar_label(bars, labels=[fmt_usd(v) for v in values], padding=3, fontsize="small")
    ax.invert_yaxis()
    high, low = max(*values, 0.0), min(*values, 0.0)
    ax.set_xlim(low * 1.2, high * 1.2 if high > 0 else 1.0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: "$0" if x == 0 else fmt_usd(x)))
    total = finite(costs.get("total_usd"))
    if total is not None:
        title += f" (total {fmt_usd(total)})"
    ax.set(title=title, xlabel="cost over the span (USD)", ylabel="cost item")
    ax.grid(axis="x", alpha=0.3)
    legend = [
        Patch(color="tab:blue", label="capex, amortised"),
        Patch(color="tab:orange", label="opex"),
    ]
    # The item names take the left margin; the legend sits in one row under the axis label.
    _place(fig, left_in=0.65 + _LABEL_CHAR_IN * max(len(label) for label in labels), top_in=0.35, bottom_in=0.85)
    fig.legend(handles=legend, loc="lower right", bbox_to_anchor=(0.98, 0.01), ncols=2, fontsize="small")
    return fig
