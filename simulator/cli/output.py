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


def print_table(title: str, columns: list[str], rows: list[list[str]], fmt: OutputFormat,
                numeric: list[bool] | None = None) -> None:
    """A many-column table: rich in a terminal (cells never cut: long ones fold onto a second
    line), Markdown with --format md."""
    numeric = numeric or [False] * len(columns)
    if fmt == OutputFormat.md:
        def esc(text: str) -> str:
            return text.replace("|", "\\|")

        lines = [f"### {title}", "", "| " + " | ".join(esc(c) for c in columns) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, (name, num) in enumerate(zip(columns, numeric, strict=True)):
        # The first column names the row: kept whole (up to 40 characters) so it stays readable.
        width = min(max([len(name), *(len(r[i]) for r in rows)]), 40) if i == 0 else None
        table.add_column(name, justify="right" if num else "left", overflow="fold", min_width=width)
    for row in rows:
        table.add_row(*row)
    # Piped into a file or a CI log there is no terminal to fit: every cell whole, on one line.
    needed = sum(max([len(c), *(len(r[i]) for r in rows)]) + 3 for i, c in enumerate(columns)) + 1
    Console(width=None if sys.stdout.isatty() else max(80, needed)).print(table)
