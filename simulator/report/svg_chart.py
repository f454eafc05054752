"""Primitives of report.html's SVG charts, with no matplotlib: "nice" axis ticks, value-to-pixel
scales, decimation of long series, path data and escaped text.

Deterministic by construction: every coordinate is written rounded to ``DECIMALS`` places (0.1 px)
with the same formatting, so the same inputs give byte-identical SVG. Drawing is clamped to the
plot area instead of clipped (no ``clipPath``: an id would have to be unique across the page).

Decimation: a series with more points than the plot has pixel columns keeps, per pixel column,
only its lowest and its highest sample (and its first and last point), in time order, and is then
drawn through those points; a year of 5-minute samples (105,120) on a 650 px plot keeps at most
about 1,300. Below one sample per pixel column nothing is dropped and steps are drawn exactly.
"""

from __future__ import annotations

import html
import math

import numpy as np

DECIMALS = 1  # of a pixel, in every coordinate written
FONT_PX = 12  # tick labels and legend


def esc(text: object) -> str:
    """User text safe in SVG text and attributes (names in scenarios are user input)."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate as written: DECIMALS places, no trailing ".0", never "-0"."""
    text = f"{value:.{DECIMALS}f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """An estimate of ``text``'s width in pixels (a sans-serif font's average character is about
    0.6 of its size): margins and the legend are sized from it, nothing is measured."""
    return len(text) * 0.6 * font_px


MARGIN = 0.05  # of the data's span, beyond an axis end that follows the data (as matplotlib)
TICKS = 8  # at most this many intervals between ticks


def nice_step(span: float, target: int = TICKS, integer: bool = False) -> float:
    """The smallest 1-2-5 step (1, 2, 5, 10, 20, ...) that cuts ``span`` into at most ``target``
    intervals; at least 1 when ``integer``."""
    raw = span / target if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    return max(step, 1.0) if integer else step


def axis_range(lo: float | None, hi: float | None, data_lo: float, data_hi: float,
               integer: bool = False) -> tuple[float, float, np.ndarray, int]:
    """(lo, hi, ticks, decimals) of an axis: a fixed end stays; an end left to the data (None)
    is the data's extreme moved out by MARGIN of the data's span, then rounded out to the tick
    step. The ticks are the step's multiples inside."""
    low = lo if lo is not None else data_lo
    high = hi if hi is not None else data_hi
    if not (math.isfinite(low) and math.isfinite(high)):  # nothing to draw: a fixed end, else 0 to 1
        low = lo if lo is not None else 0.0
        high = hi if hi is not None else low + 1.0
    if high - low <= 1e-12 * max(1.0, abs(high)):  # a constant (or nothing above a fixed end)
        pad = abs(high) * 0.1 or 1.0
        low -= pad if lo is None else 0.0
        high = max(high + (pad if hi is None else 0.0), low + pad)
    margin = MARGIN * (high - low)  # data drawn along the frame would hide in it
    low, high = low - (margin if lo is None else 0.0), high + (margin if hi is None else 0.0)
    step = nice_step(high - low, integer=integer)
    if lo is None:
        low = math.floor(low / step + 1e-9) * step
    if hi is None:
        high = math.ceil(high / step - 1e-9) * step
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    ticks = np.arange(first, last + 1) * step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return low, high, ticks, decimals


class Scale:
    """Values in [lo, hi] to pixels in [p0, p1] (p1 < p0 for a y axis), clamped to that span."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float) -> None:
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, values: np.ndarray) -> np.ndarray:
        px = self.p0 + (np.asarray(values, dtype=float) - self.lo) * ((self.p1 - self.p0) / (self.hi - self.lo))
        return np.clip(px, min(self.p0, self.p1), max(self.p0, self.p1))

    def at(self, value: float) -> float:
        return float(self(np.array([value]))[0])


def keep_indices(px: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Indices to draw of a series at pixel columns ``px`` (module docstring): per column the
    lowest and highest finite value, the first and last finite point, and the first NaN of each
    gap (so a gap stays a gap); sorted, so time order is kept."""
    finite = np.flatnonzero(np.isfinite(values))
    if len(finite) == 0:
        return finite
    columns = np.floor(px[finite]).astype(np.int64)
    order = finite[np.lexsort((values[finite], columns))]
    sorted_columns = np.floor(px[order]).astype(np.int64)
    starts = np.flatnonzero(np.diff(sorted_columns, prepend=sorted_columns[0] - 1))
    ends = np.append(starts[1:], len(order)) - 1
    gaps = np.flatnonzero(~np.isfinite(values[1:]) & np.isfinite(values[:-1])) + 1
    return np.unique(np.concatenate((order[starts], order[ends], finite[[0, -1]], gaps)))


def step_vertices(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corners of a "steps-pre" line (y[i] covers (x[i - 1], x[i]]): (x0, y0), then for each
    i >= 1 (x[i - 1], y[i]) and (x[i], y[i])."""
    vx = np.concatenate((x[:1], np.column_stack((x[:-1], x[1:])).ravel()))
    vy = np.concatenate((y[:1], np.repeat(y[1:], 2)))
    return vx, vy


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.round(values, DECIMALS) + 0.0  # + 0.0: no -0


def _simplify(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rounded points without repeats and without points inside a straight horizontal or vertical
    run (the drawing is the same, the bytes fewer)."""
    x, y = _rounded(x), _rounded(y)
    if len(x) > 1:
        new = np.ones(len(x), dtype=bool)
        new[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
        x, y = x[new], y[new]
    if len(x) > 2:
        between_x = (x[1:-1] - x[:-2]) * (x[2:] - x[1:-1]) >= 0
        between_y = (y[1:-1] - y[:-2]) * (y[2:] - y[1:-1]) >= 0
        flat = (y[1:-1] == y[:-2]) & (y[1:-1] == y[2:]) & between_x
        upright = (x[1:-1] == x[:-2]) & (x[1:-1] == x[2:]) & between_y
        keep = np.ones(len(x), dtype=bool)
        keep[1:-1] = ~(flat | upright)
        x, y = x[keep], y[keep]
    return x, y


def _points(x: np.ndarray, y: np.ndarray) -> str:
    return " ".join(f"{num(a)} {num(b)}" for a, b in zip(x.tolist(), y.tolist(), strict=True))


def line_path(x: np.ndarray, y: np.ndarray) -> str:
    """Path data through pixel points, broken where a coordinate is NaN (a gap in the data)."""
    bad = ~(np.isfinite(x) & np.isfinite(y))
    parts = []
    for run in np.split(np.arange(len(x)), np.flatnonzero(np.diff(bad.astype(np.int8))) + 1):
        if len(run) and not bad[run[0]]:
            rx, ry = _simplify(x[run], y[run])
            parts.append("M" + _points(rx, ry))
    return "".join(parts)


def area_path(x: np.ndarray, top: np.ndarray, base: np.ndarray) -> str:
    """Path data of the closed band between two pixel lines over the same ``x``."""
    tx, ty = _simplify(x, top)
    bx, by = _simplify(x[::-1], base[::-1])
    return "M" + _points(tx, ty) + " " + _points(bx, by) + "Z"


def text(x: float, y: float, content: object, *, anchor: str = "start", css_class: str = "",
         size: float | None = None, rotate: bool = False, extra: str = "") -> str:
    """A <text> element with escaped content; ``rotate`` turns it to read upwards at (x, y)."""
    attrs = f' class="{css_class}"' if css_class else ""
    attrs += f' x="{num(x)}" y="{num(y)}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if size is not None:
        attrs += f' font-size="{num(size)}"'
    if rotate:
        attrs += f' transform="rotate(-90 {num(x)} {num(y)})"'
    return f"<text{attrs}{extra}>{esc(content)}</text>"


def svg(width: int, height: int, alt: str, body: list[str]) -> str:
    """The <svg> element: an image (role="img") named by ``alt`` (aria-label and <title>)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc(alt)}" font-family="system-ui, sans-serif" '
        f'font-size="{FONT_PX}"><title>{esc(alt)}</title>' + "".join(body) + "</svg>"
    )
