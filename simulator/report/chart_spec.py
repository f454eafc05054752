"""The small frozen descriptions a report figure is drawn from (report/figure_data.py makes them,
report/figures.py draws them with matplotlib and report/svg_figures.py as SVG): series, axes with
labels and limits, panels, bar charts, "no data", and the colours and tick texts both renderers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.report.fmt import fmt_usd

WIDTH_PX = 960  # fits a 1000 px page

# matplotlib's default colour cycle ("tab10"), named here so both renderers agree on colours.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
BLUE, ORANGE, GREEN, RED, PURPLE = PALETTE[:5]
BLACK, GREY = "#000000", "#4d4d4d"
BAR_WIDTH = 0.9  # of the distance between two categories


@dataclass(frozen=True)
class Series:
    """One drawn series: ``kind`` is "step" (interval means, report/figure_data.py), "area" (a step
    band between ``base`` and ``y``, stacked by the caller), "line", "points" (markers) or "bar"
    (a vertical bar BAR_WIDTH wide at each x, from ``base`` to ``y``). An empty ``label`` keeps it
    out of the legend; ``right`` puts it on the panel's right axis."""

    kind: str
    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    base: np.ndarray | None = None
    width: float = 1.5
    dash: str = ""  # "", "dashed" or "dotted"
    alpha: float = 1.0
    right: bool = False


@dataclass(frozen=True)
class Axis:
    """An axis label (with its unit) and limits; a limit of None follows the data. ``integer``:
    ticks only at whole numbers (counts). ``fmt``: "num" or "usd" (tick_text). ``categories``:
    named positions 0, 1, 2, ... (months, say) instead of numbers; the limits are then ignored."""

    label: str
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    fmt: str = "num"
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Panel:
    """One plot area: its series, left axis and, for series with ``right``, a right axis."""

    series: tuple[Series, ...]
    y: Axis
    y2: Axis | None = None


@dataclass(frozen=True)
class Chart:
    """Panels stacked top to bottom over one shared time axis, with a title over the first and a
    legend (every labelled series) right of the plot when ``legend``."""

    title: str
    x: Axis
    panels: tuple[Panel, ...]
    height_px: int = 400
    legend: bool = True


@dataclass(frozen=True)
class Bars:
    """Horizontal bars, first item on top, with a text after each bar and a legend of colours."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    colours: tuple[str, ...]
    texts: tuple[str, ...]
    x: Axis
    y_label: str
    legend: tuple[tuple[str, str], ...] = field(default=())
    height_px: int = 400


@dataclass(frozen=True)
class NoData:
    title: str
    height_px: int = 160


Figure = Chart | Bars | NoData


def tick_text(value: float, fmt: str, decimals: int) -> str:
    """A tick label: "usd" as fmt_usd ("$0" at zero), else the number with ``decimals``."""
    if fmt == "usd":
        return "$0" if value == 0 else fmt_usd(value)
    text = f"{value:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


MAX_LABEL = 30  # characters of a job name in a legend: a long name must not squeeze the plot


def short(text: object, limit: int = MAX_LABEL) -> str:
    """User text cut to ``limit`` characters with an ellipsis (the tables show names in full)."""
    text = str(text)
    return text[: limit - 1] + "…" if len(text) > limit else text
