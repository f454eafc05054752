"""The single-file HTML report: headline, reliability, cost, job and inference-service tables and the
figures as inline SVG.

The page has no external references (CSS inline, figures as inline ``<svg>`` elements) so it can
be mailed or archived as one file, and it is deterministic: the same inputs give the same bytes.
Every piece of text that comes from the inputs (scenario, job and model names) is escaped. The
figures are drawn by report/svg_figures.py from report/figure_data.py, so writing a report does
not import matplotlib (its import and drawing were a third of a short `dcsim run`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from importlib import resources
from string import Template

import pandas as pd

from simulator.report import chart_spec, figure_data, svg_figures
from simulator.report.fmt import fmt_duration, fmt_text
from simulator.report.monthly import monthly_table
from simulator.report.scheduling import scheduling_table
from simulator.report.tables import (
    Table,
    cost_table,
    headline_table,
    interruptions_table,
    jobs_table,
    operation_table,
    reliability_table,
    services_table,
    sites_table,
    warnings_table,
)

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
    "requests": (
        "Line chart over time of inference requests per second arriving, served and served "
        "within the latency targets (left axis), and the backlog of queued requests (right axis)."
    ),
    "costs": (
        "Horizontal bar chart of amortised capital cost and operating cost over the simulated "
        "span by item, in US dollars."
    ),
}


def _template() -> Template:
    text = resources.files("simulator.report").joinpath("templates/report.html")
    return Template(text.read_text(encoding="utf-8"))


SHORT = 12


def _table_html(table: Table, css_class: str) -> str:
    """A Table as an HTML table; every cell is escaped. Numbers and short words (a column whose
    cells are all at most SHORT characters, such as a status) never wrap; long names may."""

    def cell(tag: str, text: str, kind: str) -> str:
        attr = f' class="{kind}"' if kind else ""
        return f"<{tag}{attr}>{html.escape(text)}</{tag}>"

    kinds = [
        "num" if numeric else ("short" if all(len(row[i]) <= SHORT for row in table.rows) else "")
        for i, numeric in enumerate(table.numeric)
    ]
    head = "".join(cell("th", c, "num" if k == "num" else "") for c, k in zip(table.columns, kinds, strict=True))
    body = "\n".join(
        "<tr>" + "".join(cell("td", v, k) for v, k in zip(row, kinds, strict=True)) + "</tr>"
        for row in table.rows
    )
    out = f'<div class="table-wrap"><table class="{css_class}">\n<thead><tr>{head}</tr></thead>\n'
    out += f"<tbody>\n{body}\n</tbody>\n</table></div>"
    if table.note:
        out += f'\n<p class="note">{html.escape(table.note)}</p>'
    return out


def _headline_html(summary: Mapping[str, object], costs: Mapping[str, object],
                   services: pd.DataFrame | None = None) -> str:
    """The run's warnings (when it has any), the headline table, then the reliability block under
    its own small heading (the page template has one slot for the headline section)."""
    warnings = warnings_table(summary)
    head = ["<h3>Warnings</h3>", _table_html(warnings, "warnings")] if warnings.rows else []
    sites = sites_table(summary)
    parts = [
        *head,
        _table_html(headline_table(summary, costs, services), "headline"),
        *(["<h3>Sites</h3>", _table_html(sites, "headline")] if sites is not None else []),
        "<h3>Reliability</h3>",
        _table_html(reliability_table(summary), "headline"),
    ]
    operation = operation_table(summary)
    if operation is not None:
        parts += ["<h3>Operation policies</h3>", _table_html(operation, "headline")]
    interruptions = interruptions_table(summary)
    if interruptions is not None:
        parts += ["<h3>Interruptions by cause</h3>", _table_html(interruptions, "headline")]
    scheduling = scheduling_table(summary)
    if scheduling is not None:
        parts += ["<h3>Job trace scheduling</h3>", _table_html(scheduling, "headline")]
    return "\n".join(parts)


# What to read in each figure (its title is already drawn in it, so not repeated here).
CAPTION = {
    "power": "Stacked by component; the dashed line is the site's grid limit.",
    "pue": "PUE (left axis) rises with the outdoor temperature (right axis) as chillers work harder.",
    "utilisation": (
        "Top: share of accelerators busy, and their clock (below 100% while power capping slows "
        "them). Bottom: training jobs running and waiting."
    ),
    "progress": "Tokens trained by each job; a dot marks where a job finished.",
    "requests": (
        "Requests per second in each sample interval, summed over services; the backlog (right "
        "axis) is what is still queued at the interval's end."
    ),
    "costs": "Capital cost amortised over the simulated span, and operating cost, by item.",
}


def _figure_html(figure: chart_spec.Figure, alt: str, caption: str = "") -> str:
    """A figure as an inline <svg> (role="img", ``alt`` as its aria-label and <title>) and a caption."""
    return f"<figure>{svg_figures.render(figure, alt)}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _services_html(services: pd.DataFrame | None, costs: Mapping[str, object], timeseries: pd.DataFrame) -> str:
    """The inference services section (heading, table, request figure), or nothing without
    services. The page template has no slot of its own for it: it follows the training jobs."""
    if services is None or not len(services):
        return ""
    return "\n".join([
        "",
        "<h2>Inference services</h2>",
        _table_html(services_table(services, costs), "services"),
        _figure_html(figure_data.requests_over_time(timeseries), ALT_TEXT["requests"], CAPTION["requests"]),
    ])


def render_html(
    summary: Mapping[str, object],
    costs: Mapping[str, object],
    timeseries: pd.DataFrame,
    jobs: pd.DataFrame,
    progress: pd.DataFrame,
    title: str,
    services: pd.DataFrame | None = None,
    monthly=None,
) -> str:
    """The whole report as one self-contained HTML page (a str; write it as UTF-8). With inference
    services (``services`` has rows) an "Inference services" section, table and request figure,
    follows the training jobs; without, the page is as it was before services existed."""
    meta = (
        f"Scenario {fmt_text(summary.get('scenario'))}, seed {fmt_text(summary.get('seed'))}, "
        f"simulated span {fmt_duration(summary.get('horizon_s'))}."
    )
    site = [
        _figure_html(figure_data.power_stack(timeseries), ALT_TEXT["power"], CAPTION["power"]),
        _figure_html(figure_data.pue_and_temperature(timeseries), ALT_TEXT["pue"], CAPTION["pue"]),
        _figure_html(figure_data.utilisation(timeseries), ALT_TEXT["utilisation"],
                     CAPTION["utilisation"]),
    ]
    horizon = summary.get("horizon_s")
    horizon_s = float(horizon) if isinstance(horizon, int | float) and horizon > 0 else None
    return _template().substitute(
        title=html.escape(title),
        meta=html.escape(meta),
        headline=_headline_html(summary, costs, services),
        site_figures="\n".join(site),
        jobs=_table_html(jobs_table(jobs, costs), "jobs"),
        jobs_figures=_figure_html(figure_data.job_progress(jobs, progress, horizon_s),
                                  ALT_TEXT["progress"], CAPTION["progress"])
        + _services_html(services, costs, timeseries),
        costs=_table_html(cost_table(costs), "costs"),
        cost_figures=_figure_html(figure_data.cost_breakdown(costs), ALT_TEXT["costs"], CAPTION["costs"]),
        monthly="<h2>Monthly</h2>\n" + _table_html(monthly_table(monthly), "jobs") if monthly else "",
    )
