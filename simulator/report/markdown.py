"""A compact Markdown summary (headline, reliability, costs, jobs, inference services, and the
months of a dated run) for terminals and pull requests.

Same tables and number formatting as the HTML report, without figures. Text from the inputs is
escaped so a job name cannot break a table row or inject markup.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from simulator.report.fmt import fmt_text
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

_SPECIAL = "\\`*[]<>|"


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, markup characters backslash-escaped."""
    flat = " ".join(text.split())
    return "".join("\\" + c if c in _SPECIAL else c for c in flat)


def _table_markdown(table: Table) -> str:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(escape(c) for c in cells) + " |"

    rule = "|" + "|".join("---:" if n else "---" for n in table.numeric) + "|"
    lines = [row(table.columns), rule, *(row(r) for r in table.rows)]
    if table.note:
        lines += ["", escape(table.note)]
    return "\n".join(lines)


def render_markdown(
    summary: Mapping[str, object],
    costs: Mapping[str, object],
    jobs: pd.DataFrame,
    services: pd.DataFrame | None = None,
) -> str:
    """The summary as Markdown text ending in a newline; the inference services section only
    when ``services`` has rows."""
    warnings = warnings_table(summary)
    sections = [f"# dcsim run: {escape(fmt_text(summary.get('scenario')))}"]
    if warnings.rows:
        sections += ["## Warnings", _table_markdown(warnings)]
    sections += [
        "## Headline",
        _table_markdown(headline_table(summary, costs, services)),
    ]
    sites = sites_table(summary)
    if sites is not None:
        sections += ["## Sites", _table_markdown(sites)]
    sections += [
        "## Reliability",
        _table_markdown(reliability_table(summary)),
    ]
    interruptions = interruptions_table(summary)
    if interruptions is not None:
        sections += ["## Interruptions by cause", _table_markdown(interruptions)]
    sections += [
        "## Costs",
        _table_markdown(cost_table(costs)),
        "## Training jobs",
        _table_markdown(jobs_table(jobs, costs)),
    ]
    if services is not None and len(services):
        sections += ["## Inference services", _table_markdown(services_table(services, costs))]
    operation = operation_table(summary)
    if operation is not None:
        sections += ["## Operation policies", _table_markdown(operation)]
    monthly = summary.get("monthly")
    if isinstance(monthly, list) and monthly:
        sections += ["## Monthly", _table_markdown(monthly_table(monthly))]
    scheduling = scheduling_table(summary)
    if scheduling is not None:
        sections += ["## Job trace scheduling", _table_markdown(scheduling)]
    return "\n\n".join(sections) + "\n"
