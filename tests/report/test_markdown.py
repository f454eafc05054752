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
        (1800.0, "0.50 Wh"),
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


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf, "n/a", True])
def test_missing_values_render_as_dash(missing):
    helpers = [
        fmt_energy,
        fmt_power,
        fmt_duration,
        fmt_carbon,
        fmt_usd,
        fmt_fraction,
        fmt_ratio,
        fmt_count,
        fmt_si,
        fmt_tokens,
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
    header = next(line for line in text.splitlines() if line.startswith("| job |"))
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
