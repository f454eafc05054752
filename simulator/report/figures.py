"""The report's figures drawn with matplotlib, each returning a ``Figure`` (the notebook API's
``Result.plot_*``); what they show comes from report/figure_data.py, which report.html's SVG
figures (report/svg_figures.py) draw too.

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot, so nothing global
(backend, open-figure registry, rcParams) is touched and they are freed like any other object.
Sizes and dpi are fixed (960 px wide) and ``png_bytes`` strips the metadata that would change
between matplotlib versions, so the same inputs give the same PNG bytes. The sweep report uses
``png_bytes``, ``WIDTH_IN`` and ``DPI`` for its own figures.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.report import chart_spec as spec
from simulator.report import figure_data as data

DPI = 100
WIDTH_IN = spec.WIDTH_PX / DPI  # 960 px at DPI: fits a 1000 px page


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, identical for identical figures (no software/time metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(height_px: int) -> Figure:
    return Figure(figsize=(WIDTH_IN, height_px / DPI), dpi=DPI)


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
    fig = _figure(spec.NoData(title).height_px)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=14, color="0.4", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _label(text: object) -> str:
    """User text made safe as a matplotlib label: no mathtext, not hidden by a leading '_'."""
    label = str(text).replace("$", r"\$")
    return " " + label if label.startswith("_") else label


_LINESTYLE = {"": "-", "dashed": "--", "dotted": ":"}


def _draw_series(ax: Axes, s: spec.Series) -> None:
    label = _label(s.label) if s.label else None
    if s.kind == "area":
        base = 0.0 if s.base is None else s.base
        ax.fill_between(s.x, base, s.y, step="pre", label=label, linewidth=0, color=s.colour)
    elif s.kind == "bar":
        base = 0.0 if s.base is None else s.base
        ax.bar(s.x, s.y - base, bottom=base, width=spec.BAR_WIDTH, color=s.colour, label=label)
    elif s.kind == "points":
        ax.plot(s.x, s.y, "o", color=s.colour, markersize=5, label=label)
    else:
        ax.plot(s.x, s.y, drawstyle="steps-pre" if s.kind == "step" else "default", color=s.colour,
                linewidth=s.width, linestyle=_LINESTYLE[s.dash], alpha=s.alpha, label=label)


def _limits(ax: Axes, axis: spec.Axis, which: str = "y") -> None:
    setter = ax.set_ylim if which == "y" else ax.set_xlim
    if axis.lo is not None or axis.hi is not None:
        setter(axis.lo, axis.hi)  # None: that end follows the data
    if axis.integer:
        (ax.yaxis if which == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))


def _draw_chart(chart: spec.Chart) -> Figure:
    fig = _figure(chart.height_px)
    axes = fig.subplots(len(chart.panels), 1, sharex=True, squeeze=False)[:, 0]
    twins = []
    for ax, panel in zip(axes, chart.panels, strict=True):
        for s in panel.series:
            if not s.right:
                _draw_series(ax, s)
        ax.set_ylabel(panel.y.label)
        _limits(ax, panel.y)
        ax.grid(alpha=0.3)
        if panel.y2 is not None:
            twin = ax.twinx()
            twins.append(twin)
            for s in panel.series:
                if s.right:
                    _draw_series(twin, s)
            twin.set_ylabel(panel.y2.label)
            _limits(twin, panel.y2)
    axes[0].set_title(chart.title)
    axes[-1].set_xlabel(chart.x.label)
    if chart.x.categories:
        every = max(len(chart.x.categories) // 12, 1)
        axes[-1].set_xticks(range(0, len(chart.x.categories), every), chart.x.categories[::every])
    else:
        _limits(axes[-1], chart.x, "x")
    right_in = 0.8 if twins else 0.2  # room for the right axis' ticks and label
    if not chart.legend:
        _place(fig, right_in=right_in)
        return fig
    handles: list = []
    labels: list[str] = []
    for ax in [*axes, *twins]:
        more = ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    _place(fig, right_in=right_in, legend=labels or None, handles=handles)
    return fig


def _draw_bars(bars: spec.Bars) -> Figure:
    fig = _figure(bars.height_px)
    ax = fig.add_subplot()
    labels = [_label(label) for label in bars.labels]
    drawn = ax.barh(labels, bars.values, color=bars.colours)
    ax.bar_label(drawn, labels=list(bars.texts), padding=3, fontsize="small")
    ax.invert_yaxis()
    _limits(ax, bars.x, "x")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: spec.tick_text(x, bars.x.fmt, 0)))
    ax.set(title=bars.title, xlabel=bars.x.label, ylabel=bars.y_label)
    ax.grid(axis="x", alpha=0.3)
    legend = [Patch(color=colour, label=label) for label, colour in bars.legend]
    # The item names take the left margin; the legend sits in one row under the axis label.
    _place(fig, left_in=0.65 + _LABEL_CHAR_IN * max(len(label) for label in labels), top_in=0.35, bottom_in=0.85)
    fig.legend(handles=legend, loc="lower right", bbox_to_anchor=(0.98, 0.01), ncols=2, fontsize="small")
    return fig


def draw(figure: spec.Figure) -> Figure:
    """A figure_data description drawn with matplotlib."""
    if isinstance(figure, spec.NoData):
        return no_data(figure.title)
    if isinstance(figure, spec.Bars):
        return _draw_bars(figure)
    return _draw_chart(figure)


def power_stack(timeseries: pd.DataFrame) -> Figure:
    """Facility power by component, stacked, over time, with the site's power envelope."""
    return draw(data.power_stack(timeseries))


def pue_and_temperature(timeseries: pd.DataFrame) -> Figure:
    """PUE (left axis) and outdoor temperature (right axis) over time."""
    return draw(data.pue_and_temperature(timeseries))


def utilisation(timeseries: pd.DataFrame) -> Figure:
    """GPU utilisation and clock fraction (top) and running / queued jobs (bottom) over time."""
    return draw(data.utilisation(timeseries))


def requests_over_time(timeseries: pd.DataFrame) -> Figure:
    """Inference requests per second arriving, served and within SLO, and the backlog, over time."""
    return draw(data.requests_over_time(timeseries))


def job_progress(jobs: pd.DataFrame, progress: pd.DataFrame, horizon_s: float | None = None) -> Figure:
    """Tokens trained over time, one line per job, with each finished job's end marked."""
    return draw(data.job_progress(jobs, progress, horizon_s))


def cost_breakdown(costs: Mapping[str, object]) -> Figure:
    """Amortised capex and opex over the horizon by item, as horizontal bars in USD."""
    return draw(data.cost_breakdown(costs))
