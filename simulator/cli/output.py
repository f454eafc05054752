"""What the command line prints: JSON of SI numbers, or two-column tables (rich in a
terminal, Markdown with ``--format md``)."""

from __future__ import annotations

import json
import math
import sys
from enum import Enum


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(_clean(data), indent=2, sort_keys=True, default=_json_default) + "\n")


def print_rows(title: str, rows: list[tuple[str, str]], fmt: OutputFormat) -> None:
    """A two-column table: rich in a terminal, Markdown with --format md."""
    if fmt == OutputFormat.md:
        lines = [f"### {title}", "", "| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def _h(value: float, kind: str) -> str:
    from simulator.domain.units import human

    return human(value, kind)
