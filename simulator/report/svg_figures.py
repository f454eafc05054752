"""report.html's (and plan.html's) figures as inline SVG, drawn from figure descriptions
(report/chart_spec.py, made by report/figure_data.py and plan/figures.py) with the primitives of
report/svg_chart.py; nothing here imports matplotlib.

Layout, in pixels of a 960 px wide image: the title over the plot, the left axis' tick labels and
its label (with its unit) left of the plot, a right axis' right of it, the time axis under the
last panel, and the legend right of everything (it never covers data). Margins are sized from the
text they hold (svg_chart.text_width), so drawing is string formatting only. An axis end the
description leaves to the data is moved out by 5% of the data's span and rounded out to its tick
step (1-2-5 steps), so the top of a stacked power area sits at
``top + height * (1 - peak / axis_top)`` with ``axis_top`` the highest tick. A stack of areas is
painted top layer first, each filled down to the stack's floor.
"""

from __future__ import annotations

import numpy as np

from simulator.report import chart_spec as spec
from simulator.report import svg_chart as sc

TITLE_PX = 15
TOP_PX = 40  # the title's band above the plot
BOTTOM_PX = 48  # the time axis' tick labels and label under the plot
GAP_PX = 14  # between stacked panels
LEGEND_ROW_PX = 18
GRID, FRAME, MUTED = "#e3e3e3", "#444444", "#666666"
_DASH = {"": "", "dashed": ' stroke-dasharray="6 3"', "dotted": ' stroke-dasharray="1.5 2.5"'}


def _title(title: str, centre: float) -> str:
    return sc.text(centre, 24, title, anchor="middle", css_class="title", size=TITLE_PX)


def _no_data(figure: spec.NoData, alt: str) -> str:
    width, height = spec.WIDTH_PX, figure.height_px
    body = [_title(figure.title, width / 2),
            sc.text(width / 2, height / 2 + 20, "no data", anchor="middle", css_class="nodata", size=16,
                    extra=f' fill="{MUTED}"')]
    return sc.svg(width, height, alt, body)


def _extent(values: list[np.ndarray]) -> tuple[float, float]:
    """The finite minimum and maximum over ``values`` (NaN, NaN when there is none)."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if len(v)]
    if not finite:
        return float("nan"), float("nan")
    return min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)


def _y_values(series: tuple[spec.Series, ...], right: bool) -> list[np.ndarray]:
    out = []
    for s in series:
        if s.right == right:
            out += [s.y] + ([s.base] if s.base is not None else [])
    return out


def _stroke(s: spec.Series) -> str:
    opacity = f' stroke-opacity="{s.alpha:g}"' if s.alpha < 1 else ""
    return f' fill="none" stroke="{s.colour}" stroke-width="{s.width:g}"{_DASH[s.dash]}{opacity}'


def _series(s: spec.Series, xs: sc.Scale, ys: sc.Scale, columns: float, keep: np.ndarray | None,
            floor: np.ndarray | None = None) -> str:
    """One series as SVG: decimated when it has more points than the plot has pixel columns
    (``keep``, shared by a stack of areas so the layers stay stacked). An area is filled down to
    ``floor`` (its stack's base) when given: a stack drawn top layer first, each layer painted
    over the one above, needs no layer's lower edge (half the bytes)."""
    x, y = s.x, s.y
    if s.kind == "points":
        return "".join(f'<circle class="points" cx="{sc.num(cx)}" cy="{sc.num(cy)}" r="3.5" fill="{s.colour}"/>'
                       for cx, cy in zip(xs(x).tolist(), ys(y).tolist(), strict=True) if np.isfinite(cx + cy))
    if s.kind == "bar":
        base = np.zeros_like(y) if s.base is None else s.base
        half = spec.BAR_WIDTH / 2
        return "".join(
            f'<rect class="bar" x="{sc.num(xs.at(cx - half))}" y="{sc.num(min(top, low))}" '
            f'width="{sc.num(xs.at(cx + half) - xs.at(cx - half))}" height="{sc.num(abs(low - top))}" '
            f'fill="{s.colour}"/>'
            for cx, top, low in zip(x.tolist(), ys(y).tolist(), ys(base).tolist(), strict=True)
            if np.isfinite(cx + top + low) and top != low)
    if s.kind == "area":
        own_base = np.zeros_like(y) if s.base is None else s.base
        if np.array_equal(y, own_base):
            return ""  # a layer with nothing in it
        base = own_base if floor is None else floor
        if keep is not None:
            px, top, bottom = xs(x[keep]), ys(y[keep]), ys(base[keep])
        else:
            px, top = sc.step_vertices(xs(x), ys(y))
            bottom = sc.step_vertices(xs(x), ys(base))[1]
        return f'<path class="area" d="{sc.area_path(px, top, bottom)}" fill="{s.colour}"/>'
    if len(x) > columns:
        kept = sc.keep_indices(xs(x), y)
        px, py = xs(x[kept]), ys(y[kept])
    elif s.kind == "step":
        px, py = sc.step_vertices(xs(x), ys(y))
    else:
        px, py = xs(x), ys(y)
    path = sc.line_path(px, py)
    return f'<path class="{s.kind}" d="{path}"{_stroke(s)}/>' if path else ""  # nothing finite: nothing drawn


def _grid(xs: sc.Scale | None, x_ticks: np.ndarray, ys: sc.Scale | None, y_ticks: np.ndarray,
          left: float, right: float, top: float, bottom: float) -> str:
    lines = [f"M{sc.num(xs.at(v))} {sc.num(top)}V{sc.num(bottom)}" for v in x_ticks] if xs else []
    lines += [f"M{sc.num(left)} {sc.num(ys.at(v))}H{sc.num(right)}" for v in y_ticks] if ys else []
    return f'<path class="grid" d="{"".join(lines)}" stroke="{GRID}"/>' if lines else ""


def _frame(left: float, top: float, right: float, bottom: float) -> str:
    return (f'<rect class="plot" x="{sc.num(left)}" y="{sc.num(top)}" width="{sc.num(right - left)}" '
            f'height="{sc.num(bottom - top)}" fill="none" stroke="{FRAME}"/>')


def _swatch(s: spec.Series | tuple[str, str], x: float, y: float) -> str:
    """A legend entry's mark: a filled box for an area or a bar, a dot for points, else the line."""
    if isinstance(s, tuple) or s.kind in ("area", "bar"):
        colour = s[1] if isinstance(s, tuple) else s.colour
        return f'<rect x="{sc.num(x + 2)}" y="{sc.num(y - 5)}" width="20" height="10" fill="{colour}"/>'
    if s.kind == "points":
        return f'<circle cx="{sc.num(x + 12)}" cy="{sc.num(y)}" r="3.5" fill="{s.colour}"/>'
    return f'<path d="M{sc.num(x)} {sc.num(y)}H{sc.num(x + 24)}"{_stroke(s)}/>'


def _legend(entries: list, x: float, top: float) -> list[str]:
    out = []
    for row, entry in enumerate(entries):
        y = top + 8 + row * LEGEND_ROW_PX
        label = entry[0] if isinstance(entry, tuple) else entry.label
        out += [_swatch(entry, x, y), sc.text(x + 30, y + 4, label, css_class="legend")]
    return out


def _legend_width(labels: list[str]) -> float:
    return 16 + 30 + max(sc.text_width(label) for label in labels) if labels else 0.0


def _tick_labels(axis: spec.Axis, ticks: np.ndarray, decimals: int) -> list[str]:
    return [spec.tick_text(float(v), axis.fmt, decimals) for v in ticks]


def _x_axis(axis: spec.Axis, series: list[spec.Series], plot_px: float) -> tuple[float, float, np.ndarray, list[str]]:
    """(lo, hi, ticks, tick labels) of the x axis; named categories sit at 0, 1, 2, ..., every
    k-th one labelled when all of them would not fit side by side."""
    if axis.categories:
        count = len(axis.categories)
        every = max(1, int(np.ceil(count * (max(sc.text_width(c) for c in axis.categories) + 12) / plot_px)))
        ticks = np.arange(0, count, every)
        return -0.5, count - 0.5, ticks, [axis.categories[i] for i in ticks]
    lo, hi, ticks, decimals = sc.axis_range(axis.lo, axis.hi, *_extent([s.x for s in series]), axis.integer)
    return lo, hi, ticks, _tick_labels(axis, ticks, decimals)


def _chart(chart: spec.Chart, alt: str) -> str:
    width, height = spec.WIDTH_PX, chart.height_px
    everything = [s for p in chart.panels for s in p.series]
    left_axes = [sc.axis_range(p.y.lo, p.y.hi, *_extent(_y_values(p.series, False)), p.y.integer)
                 for p in chart.panels]
    right_axes = [sc.axis_range(p.y2.lo, p.y2.hi, *_extent(_y_values(p.series, True)), p.y2.integer)
                  if p.y2 else None for p in chart.panels]
    left_text = [_tick_labels(p.y, r[2], r[3]) for p, r in zip(chart.panels, left_axes, strict=True)]
    right_text = [_tick_labels(p.y2, r[2], r[3]) if p.y2 and r else [] for p, r in
                  zip(chart.panels, right_axes, strict=True)]
    left = 40 + max(sc.text_width(t) for labels in left_text for t in labels)
    right_axis = 40 + max((sc.text_width(t) for labels in right_text for t in labels), default=0.0)
    right_axis = right_axis if any(right_text) else 0.0
    entries = [s for s in everything if s.label] if chart.legend else []
    right = width - 12 - right_axis - _legend_width([s.label for s in entries])
    panel_px = (height - TOP_PX - BOTTOM_PX - GAP_PX * (len(chart.panels) - 1)) / len(chart.panels)
    x_lo, x_hi, x_ticks, x_text = _x_axis(chart.x, everything, right - left)
    xs = sc.Scale(x_lo, x_hi, left, right)
    body = [_title(chart.title, (left + right) / 2)]
    bottom = float(TOP_PX)
    for i, panel in enumerate(chart.panels):
        top = TOP_PX + i * (panel_px + GAP_PX)
        bottom = top + panel_px
        y_lo, y_hi, y_ticks, _ = left_axes[i]
        ys = sc.Scale(y_lo, y_hi, bottom, top)
        body.append(_grid(xs, x_ticks, ys, y_ticks, left, right, top, bottom))
        scales = {False: ys}
        second = right_axes[i]
        if second is not None:
            scales[True] = sc.Scale(second[0], second[1], bottom, top)
        areas = [s for s in panel.series if s.kind == "area"]  # one stack, bottom layer first
        keep = sc.keep_indices(xs(areas[-1].x), areas[-1].y) if areas and len(areas[-1].x) > right - left else None
        floor = areas[0].base if areas else None
        body += [_series(s, xs, ys, right - left, keep, floor) for s in reversed(areas)]
        body += [_series(s, xs, scales[s.right], right - left, None) for s in panel.series if s.kind != "area"]
        body.append(_frame(left, top, right, bottom))
        body += [sc.text(left - 6, ys.at(v) + 4, t, anchor="end", css_class="ytick")
                 for v, t in zip(y_ticks, left_text[i], strict=True)]
        body.append(sc.text(16, (top + bottom) / 2, panel.y.label, anchor="middle", css_class="ylabel", rotate=True))
        if panel.y2 is not None and second is not None:
            body += [sc.text(right + 6, scales[True].at(v) + 4, t, css_class="y2tick")
                     for v, t in zip(second[2], right_text[i], strict=True)]
            body.append(sc.text(right + right_axis - 10, (top + bottom) / 2, panel.y2.label, anchor="middle",
                                css_class="y2label", rotate=True))
    body += [sc.text(xs.at(v), bottom + 16, t, anchor="middle", css_class="xtick")
             for v, t in zip(x_ticks, x_text, strict=True)]
    body.append(sc.text((left + right) / 2, bottom + 38, chart.x.label, anchor="middle", css_class="xlabel"))
    body += _legend(entries, right + right_axis + 16, TOP_PX)
    return sc.svg(width, height, alt, body)


def _bars(bars: spec.Bars, alt: str) -> str:
    width, height = spec.WIDTH_PX, bars.height_px
    lo, hi, ticks, decimals = sc.axis_range(bars.x.lo, bars.x.hi, min(*bars.values, 0.0), max(*bars.values, 0.0))
    most = int((0.39 * width - 48) / sc.text_width("x"))  # the item names keep the plot >= 60% wide
    labels = [spec.short(label, most) for label in bars.labels]
    left = 48 + max(sc.text_width(label) for label in labels)
    right = width - 12 - _legend_width([label for label, _ in bars.legend])
    top, bottom = float(TOP_PX), float(height - BOTTOM_PX)
    xs = sc.Scale(lo, hi, left, right)
    band = (bottom - top) / len(labels)
    body = [_title(bars.title, (left + right) / 2), _grid(xs, ticks, None, ticks[:0], left, right, top, bottom)]
    zero = xs.at(0.0)
    for i, (label, value, colour, note) in enumerate(zip(labels, bars.values, bars.colours, bars.texts,
                                                         strict=True)):
        end, middle = xs.at(value), top + band * (i + 0.5)
        body.append(f'<rect class="bar" x="{sc.num(min(zero, end))}" y="{sc.num(middle - 0.35 * band)}" '
                    f'width="{sc.num(abs(end - zero))}" height="{sc.num(0.7 * band)}" fill="{colour}"/>')
        # after the bar's end; a negative bar's text after the zero line, clear of the item names
        body.append(sc.text(max(end, zero) + 4, middle + 4, note, css_class="value", size=11))
        body.append(sc.text(left - 6, middle + 4, label, anchor="end", css_class="category"))
    body.append(_frame(left, top, right, bottom))
    body += [sc.text(xs.at(v), bottom + 16, t, anchor="middle", css_class="xtick")
             for v, t in zip(ticks, _tick_labels(bars.x, ticks, decimals), strict=True)]
    body.append(sc.text((left + right) / 2, bottom + 38, bars.x.label, anchor="middle", css_class="xlabel"))
    body.append(sc.text(16, (top + bottom) / 2, bars.y_label, anchor="middle", css_class="ylabel", rotate=True))
    body += _legend(list(bars.legend), right + 16, TOP_PX)
    return sc.svg(width, height, alt, body)


def render(figure: spec.Figure, alt: str) -> str:
    """A figure_data description as one <svg> element, named by ``alt`` for screen readers."""
    if isinstance(figure, spec.NoData):
        return _no_data(figure, alt)
    if isinstance(figure, spec.Bars):
        return _bars(figure, alt)
    return _chart(figure, alt)
