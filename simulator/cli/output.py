"""What the command line prints: JSON of SI numbers, or two-column tables (rich in a
terminal, Markdown with ``--format md``), and ``safe``, the ONE escaping function every string
that may hold user text (names, keys, paths, error messages) goes through on its way to a
terminal: control characters and ANSI escape sequences are shown escaped, never sent raw, and
Rich markup is escaped where Rich will read the text."""

from __future__ import annotations

import json
import math
import re
import sys
from enum import Enum
from typing import TextIO

# C0 controls (ESC starts ANSI sequences), DEL, C1 controls (0x9b is a one-byte CSI), and the
# format characters that reorder or hide text on a terminal: zero-width marks, line/paragraph
# separators, bidirectional embeddings, overrides and isolates, the byte-order mark.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
                     r"\ufff9-\ufffb\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, *, markup: bool = False) -> str:
    """``text`` fit for a terminal: every control or invisible formatting character shown as
    ``\\xNN`` / ``\\uNNNN`` (an ESC can no longer start an ANSI sequence, a newline can no longer
    forge a second ``error:`` line); with ``markup``, Rich tags such as ``[/oops]`` are escaped
    too (``\\[/oops]``, Rich's own escaping), so Rich prints them as written and never raises
    MarkupError."""
    out = _UNSAFE.sub(_escape_char, str(text))
    if markup:
        from rich.markup import escape

        out = escape(out)
    return out


def write_lines(text: str, stream: TextIO | None = None) -> None:
    """Write ``text`` (which may span lines) with every line passed through ``safe``."""
    stream = stream or sys.stdout
    body = "\n".join(safe(line) for line in text.rstrip("\n").split("\n"))
    stream.write(body + "\n")


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
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in rows]
        write_lines("\n".join(lines))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=safe(title, markup=True), show_header=False, title_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(safe(k, markup=True), safe(v, markup=True))
    Console(emoji=False).print(table)


def _md(text: str) -> str:
    """A Markdown table cell: ``|`` escaped, line breaks kept out of the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _h(value: float, kind: str) -> str:
    from simulator.domain.units import human

    return human(value, kind)


def print_table(title: str, columns: list[str], rows: list[list[str]], fmt: OutputFormat,
                numeric: list[bool] | None = None) -> None:
    """A many-column table: rich in a terminal (cells never cut: long ones fold onto a second
    line), Markdown with --format md."""
    numeric = numeric or [False] * len(columns)
    if fmt == OutputFormat.md:
        lines = [f"### {title}", "", "| " + " | ".join(_md(c) for c in columns) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        write_lines("\n".join(lines))
        return
    rows = [[safe(c) for c in row] for row in rows]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=safe(title, markup=True), title_justify="left")
    for i, (name, num) in enumerate(zip(columns, numeric, strict=True)):
        # The first column names the row: kept whole (up to 40 characters) so it stays readable.
        width = min(max([len(name), *(len(r[i]) for r in rows)]), 40) if i == 0 else None
        table.add_column(safe(name, markup=True), justify="right" if num else "left", overflow="fold",
                         min_width=width)
    for row in rows:
        table.add_row(*(safe(c, markup=True) for c in row))
    # Piped into a file or a CI log there is no terminal to fit: every cell whole, on one line.
    needed = sum(max([len(c), *(len(r[i]) for r in rows)]) + 3 for i, c in enumerate(columns)) + 1
    Console(width=None if sys.stdout.isatty() else max(80, needed), emoji=False).print(table)
