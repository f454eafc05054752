"""sweep.html: the sweep's table and, for each axis, its headline metrics plotted against the
axis values (one line per combination of the other axes when there are few, their mean when
there are many; error bars: the spread over replications). A single self-contained file."""

from __future__ import annotations

import base64
import html
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulator.report import figures
from simulator.report.metrics import Metric
from simulator.sweep.table import axis_text, display, shown_metrics

MAX_LINES = 6  # more combinations of the other axes than this: plot their mean instead
MAX_PANELS = 8


def _png(fig: Figure, alt: str) -> str:
    data = base64.b64encode(figures.png_bytes(fig)).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></figure>'


def _series(frame: pd.DataFrame, axis: str, values: list[str], others: list[str], spec: Metric):
    """(label, y, yerr) lines of ``spec`` over the values of ``axis``."""
    groups = frame.groupby(others, sort=False) if others else [((), frame)]
    lines = []
    for key, part in groups:
        by_value = part.set_index(axis)
        y = np.array([float(by_value[spec.name].get(v, math.nan)) if v in by_value.index else math.nan
                      for v in values])
        std_col = f"{spec.name}_std"
        err = None
        if std_col in part.columns:
            err = np.array([float(by_value[std_col].get(v, math.nan)) if v in by_value.index else math.nan
                            for v in values])
        keys = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{o}={k}" for o, k in zip(others, keys, strict=True)) or spec.label
        lines.append((label, y, err))
    if len(lines) > MAX_LINES:
        stacked = np.vstack([y for _, y, _ in lines])
        with np.errstate(all="ignore"):
            mean = np.nanmean(np.where(np.isfinite(stacked), stacked, np.nan), axis=0)
        lines = [(f"mean over {len(lines)} combinations of the other axes", mean, None)]
    return lines


def axis_figure(frame: pd.DataFrame, axes: dict[str, list], axis: str) -> Figure:
    """The headline metrics (one panel each) against the values of ``axis``."""
    metrics = shown_metrics(frame)[:MAX_PANELS]
    values = list(dict.fromkeys(axis_text(v) for v in axes[axis]))
    others = [a for a in axes if a != axis]
    cols = 2
    rows = max(1, math.ceil(len(metrics) / cols))
    fig = Figure(figsize=(figures.WIDTH_IN, 2.6 * rows + 0.6), dpi=figures.DPI, layout="constrained")
    x = np.arange(len(values))
    for k, spec in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, k + 1)
        for label, y, err in _series(frame, axis, values, others, spec):
            ax.errorbar(x, y, yerr=err, marker="o", ms=4, capsize=3, label=label)
        ax.set_title(spec.label, fontsize=9)
        ax.set_xticks(x, values, rotation=30 if max(len(v) for v in values) > 8 else 0, fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos, s=spec: s.show(v)))
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3)
        if others and k == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"headline metrics against {axis}", fontsize=10)
    return fig


def sweep_html(frame: pd.DataFrame, axes: dict[str, list], title: str) -> str:
    columns, rows, numeric = display(frame, axes)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(
        f"<td{' class=n' if n else ''}>{html.escape(c)}</td>" for c, n in zip(row, numeric, strict=True)) + "</tr>"
        for row in rows)
    failed = int((frame["status"] != "ok").sum())
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        "td.n{text-align:right}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(frame)} variant(s), {failed} failed.</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
    ]
    if (frame["status"] == "ok").any():
        for axis in axes:
            parts.append(f"<h2>{html.escape(axis)}</h2>")
            parts.append(_png(axis_figure(frame, axes, axis),
                              f"Headline metrics of every variant plotted against {axis}."))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
