"""Formatting helpers against hand-computed strings, and the Markdown summary."""

from __future__ import annotations

import math

import pytest

from simulator.report.fmt import (
    MISSING,
    fmt_carbon,
    fmt_count,
    fmt_duration,
    fmt_energy,
    fmt_fraction,
    fmt_ms,
    fmt_percent,
    fmt_power,
    fmt_ratio,
    fmt_si,
    fmt_tokens,
    fmt_usd,
)
from simulator.report.markdown import escape, render_markdown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.6e9, "1.00 MWh"),
        (3.6e6 * 12.34, "12.3 kWh"),
        (3.6e9 * 123.4, "123 MWh"),
        (3.6e6 * 999.7, "1.00 MWh"),  # rounding up crosses into the next unit
        (1800.0, "1800 J"),  # half a Wh stays in J: the largest unit that keeps the number >= 1
        (500.0, "500 J"),
        (0.0, "0.00 J"),
        (3.6e15 * 2, "2.00 TWh"),
    ],
)
def test_fmt_energy(value, expected):
    assert fmt_energy(value) == expected


def test_fmt_power_duration_carbon():
    assert fmt_power(2.5e7) == "25.0 MW"
    assert fmt_power(1234.0) == "1.23 kW"
    assert fmt_power(-2e6) == "-2.00 MW"
    assert fmt_duration(30 * 86400) == "30.0 days"
    assert fmt_duration(86400) == "1.00 days"
    assert fmt_duration(5400) == "1.50 h"
    assert fmt_duration(90) == "1.50 min"
    assert fmt_duration(45) == "45.0 s"
    assert fmt_carbon(1234.0) == "1.23 t CO2e"
    assert fmt_carbon(3.1e6) == "3.10 kt CO2e"
    assert fmt_carbon(12.0) == "12.0 kg CO2e"


def test_fmt_usd():
    assert fmt_usd(2.806) == "$2.81"
    assert fmt_usd(999.99) == "$999.99"
    assert fmt_usd(999.999) == "$1.00k"
    assert fmt_usd(45_600) == "$45.6k"
    assert fmt_usd(1.234e6) == "$1.23M"
    assert fmt_usd(6.45e8) == "$645M"
    assert fmt_usd(-1.234e6) == "-$1.23M"
    assert fmt_usd(0) == "$0.00"
    assert fmt_usd(-0.001) == "$0.00"


def test_fmt_fraction_ratio_counts():
    assert fmt_fraction(0.8734) == "87.3%"
    assert fmt_fraction(1) == "100.0%"
    assert fmt_ratio(1.2345) == "1.23"
    assert fmt_count(16384) == "16,384"
    assert fmt_count(3.0) == "3"
    assert fmt_si(512) == "512"
    assert fmt_si(1.2e12) == "1.20T"
    assert fmt_si(1.157e6) == "1.16M"
    assert fmt_tokens(2e9) == "2.00B tokens"
    assert fmt_percent(0.8734) == "87.3"
    assert fmt_percent(1) == "100.0"
    assert fmt_percent(0.00049) == "0.0"
    assert fmt_percent(1e300) == "1.00e+302"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.015087, "15.1"),
        (0.0066215, "6.62"),
        (0.1234, "123"),
        (0.99995, "1,000"),  # 999.95 ms rounds to four figures: whole milliseconds from there
        (83.21, "83,210"),
        (5542.935117, "5,542,935"),
        (0.0, "0.00"),
        (-0.0000001, "0.00"),
        (2e6, "2.00e+09"),  # beyond 1e9 ms (11.6 days), exponent notation keeps the cell short
    ],
)
def test_fmt_ms(seconds, expected):
    assert fmt_ms(seconds) == expected


def test_fmt_si_never_prints_minus_zero():
    assert fmt_si(-1e-9) == "0"
    assert fmt_si(-0.6) == "-1"


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf, "n/a", True])
def test_missing_values_render_as_dash(missing):
    helpers = [
        fmt_energy,
        fmt_power,
        fmt_duration,
        fmt_carbon,
        fmt_usd,
        fmt_fraction,
        fmt_percent,
        fmt_ratio,
        fmt_count,
        fmt_si,
        fmt_tokens,
        fmt_ms,
    ]
    assert all(helper(missing) == MISSING for helper in helpers)


def test_render_markdown(summary, costs, jobs):
    text = render_markdown(summary, costs, jobs)
    assert text.startswith("# dcsim run: site \\<A\\> & co\n")
    assert text.endswith("\n")
    for heading in ("## Headline", "## Costs", "## Training jobs"):
        assert heading in text
    for expected in (
        "| facility energy (from the grid) | 10.0 GWh |",
        "| mean PUE | 1.23 |",
        "| peak facility power | 21.4 MW |",
        "| energy cost | $812k |",
        "| carbon | 3.10 kt CO2e |",
        "| training jobs finished | 1 of 3 |",
        "| capex: servers | $410M | $1.90M |",
        "| per GPU-hour | — | $2.81 |",
        "| opex: total | — | $1.02M |",
    ):
        assert expected in text, expected
    assert "\\<script\\>alert(1)\\</script\\>" in text
    assert "<script>" not in text
    job_rows = [line for line in text.splitlines() if "llama3" in line or "gpt-13b" in line]
    assert len(job_rows) == 3
    header = next(line for line in text.splitlines() if line.startswith("| job (model) |"))
    columns = header.count(" | ")
    assert all(row.count(" | ") == columns for row in job_rows)
    assert render_markdown(summary, costs, jobs) == text


def test_markdown_escape_keeps_rows_intact():
    assert escape("a|b\nc") == "a\\|b c"
    assert escape("llama_70b") == "llama_70b"


def test_render_markdown_without_jobs_or_costs(jobs):
    text = render_markdown({}, {}, jobs.head(0))
    assert "No training jobs." in text
    assert "| scenario | — |" in text


def _job_cells(text: str) -> dict[str, dict[str, str]]:
    """The Markdown jobs table as {job cell: {column header: cell}} (cells as printed, escaped)."""
    lines = text[text.index("## Training jobs"):].splitlines()
    rows = [line for line in lines if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split(" | ")]
    table = {}
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == len(header), row
        table[cells[0]] = dict(zip(header, cells, strict=True))
    return table


def test_markdown_reliability_block(summary, costs, jobs):
    text = render_markdown(summary, costs, jobs)
    block = text[text.index("## Reliability"):text.index("## Costs")]
    assert text.index("## Headline") < text.index("## Reliability") < text.index("## Costs")
    assert block.splitlines()[2:7] == [
        "| quantity | value |",
        "|---|---:|",
        "| node failures | 7 |",
        "| hot spares used | 3 |",
        "| mean goodput (GPU-time weighted) | 89.3% |",
    ]


def test_markdown_reliability_without_spares_count_or_jobs(summary, costs, jobs):
    no_spares = {k: v for k, v in summary.items() if k != "spares_used"}
    text = render_markdown(dict(no_spares, failures=0, goodput_mean=None), costs, jobs.head(0))
    block = text[text.index("## Reliability"):text.index("## Costs")]
    assert "| node failures | 0 |" in block
    assert "| mean goodput (GPU-time weighted) | — |" in block  # None: no job ran
    assert "spares" not in block  # not counted by this summary: no row rather than a dash


def test_markdown_jobs_table_reliability_columns(summary, costs, jobs):
    table = _job_cells(render_markdown(summary, costs, jobs))
    assert list(table) == ["llama-8b (llama3-8b)", "\\<script\\>alert(1)\\</script\\> (llama3-70b)",
                           "$x$_queued (gpt-13b)"]
    first, running, queued = table.values()
    # goodput 0.9512, 2 failures, network share 0.8; percentages carry "%" in the header only
    assert (first["goodput (%)"], first["failures"], first["network share (%)"]) == ("95.1", "2", "80.0")
    assert (running["goodput (%)"], running["failures"], running["network share (%)"]) == ("88.8", "5", "65.4")
    assert (queued["goodput (%)"], queued["failures"], queued["network share (%)"]) == ("—", "0", "—")
    assert first["MFU (%)"] == "41.0"
    # the finish time, or the status of a job that did not finish
    assert (first["finished at"], running["finished at"], queued["finished at"]) == ("1.00 days", "running", "queued")
