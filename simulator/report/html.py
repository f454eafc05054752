"""The single-file HTML report: headline, cost and job tables and the figures as inline PNGs.

The page has no external references (CSS inline, images as base64 ``data:`` URLs) so it can be
mailed or archived as one file, and it is deterministic: the same inputs give the same bytes.
Every piece of text that comes from the inputs (scenario, job and model names) is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from importlib import resources
from string import Template

import pandas as pd
from matplotlib.figure import Figure

from simulator.report import figures
from simulator.report.fmt import fmt_duration, fmt_text
from simulator.report.tables import Table, cost_table, headline_table, jobs_table

ALT_TEXT = {
    "power": (
        "Stacked area chart of facility power over time by component (accelerators, hosts, "
        "network, power-chain losses, cooling, other), with the site power envelope as a "
        "dashed line."
    ),
    "pue": (
        "Line chart of PUE (left axis) and outdoor temperature in degrees Celsius (right axis) "
        "over time."
    ),
    "utilisation": (
        "Two line charts over time: GPU utilisation and GPU clock as percentages, and the "
        "number of running and queued training jobs."
    ),
    "progress": (
        "Line chart of tokens trained over time, one line per training job, with dots where "
        "jobs finished."
    ),
    "costs": (
        "Horizontal bar chart of amortised capital cost and operating cost over the simulated "
        "span by item, in US dollars."
    ),
}


def _template() -> Template:
    text = resources.files("simulator.report").joinpath("templates/report.html")
    return Template(text.read_text(encoding="utf-8"))


def _table_html(table: Table, css_class: str) -> str:
    """A Table as an HTML table; every cell is escaped."""

    def cell(tag: str, text: str, numeric: bool) -> str:
        attr = ' class="num"' if numeric else ""
        return f"<{tag}{attr}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", c, n) for c, n in zip(table.columns, table.numeric, strict=True))
    body = "\n".join(
        "<tr>"
        + "".join(cell("td", v, n) for v, n in zip(row, table.numeric, strict=True))
        + "</tr>"
        for row in table.rows
    )
    out = f'<table class="{css_class}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
    out += "</tbody>\n</table>"
    if table.note:
        out += f'\n<p class="note">{html.escape(table.note)}</p>'
    return out


def _figure_html(fig: Figure, alt: str) -> str:
    """A figure as an <img> with a base64 PNG data URL and its alt text."""
    data = base64.b64encode(figures.png_bytes(fig)).decode("ascii")
    title = fig.axes[0].get_title() if fig.axes else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


def render_html(
    summary: Mapping[str, object],
    costs: Mapping[str, object],
    timeseries: pd.DataFrame,
    jobs: pd.DataFrame,
    progress: pd.DataFrame,
    title: str,
) -> str:
    """The whole report as one self-contained HTML page (a str; write it as UTF-8)."""
    meta = (
        f"Scenario {fmt_text(summary.get('scenario'))}, seed {fmt_text(summary.get('seed'))}, "
        f"simulated span {fmt_duration(summary.get('horizon_s'))}."
    )
    site = [
        _figure_html(figures.power_stack(timeseries), ALT_TEXT["power"]),
        _figure_html(figures.pue_and_temperature(timeseries), ALT_TEXT["pue"]),
        _figure_html(figures.utilisation(timeseries), ALT_TEXT["utilisation"]),
    ]
    return _template().substitute(
        title=html.escape(title),
        meta=html.escape(meta),
        headline=_table_html(headline_table(summary), "headline"),
        site_figures="\n".join(site),
        jobs=_table_html(jobs_table(jobs, costs), "jobs"),
        jobs_figures=_figure_html(figures.job_progress(jobs, progress), ALT_TEXT["progress"]),
        costs=_table_html(cost_table(costs), "costs"),
        cost_figures=_figure_html(figures.cost_breakdown(costs), ALT_TEXT["costs"]),
    )
