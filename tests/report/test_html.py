"""The HTML report: self-contained, escaped, one image per figure, deterministic."""

from __future__ import annotations

import base64
import re

import pytest

from simulator.report.html import render_html

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]*)" alt="([^"]*)">')
TITLE = 'Run <1> & "co"'
FIGURES = 5  # power stack, PUE and temperature, utilisation, job progress, cost breakdown


@pytest.fixture
def outputs(summary, costs, timeseries, jobs, progress) -> tuple:
    """render_html's positional arguments, in order."""
    return summary, costs, timeseries, jobs, progress


@pytest.fixture
def page(outputs) -> str:
    return render_html(*outputs, title=TITLE)


def test_one_png_image_per_figure_with_alt_text(page):
    assert page.count("<img") == FIGURES
    images = IMG.findall(page)
    assert len(images) == FIGURES
    for data, alt in images:
        assert data
        assert base64.b64decode(data, validate=True).startswith(PNG_MAGIC)
        assert len(alt) > 20


def test_self_contained(page):
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page
    assert "<script" not in page.lower()
    assert "img { display: block; max-width: 100%" in page


def test_inputs_are_escaped(page):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Run &lt;1&gt; &amp; &quot;co&quot;</title>" in page
    assert "site &lt;A&gt; &amp; co" in page


def test_tables_carry_formatted_numbers(page):
    for expected in (
        '<td>facility energy (from the grid)</td><td class="num">10.0 GWh</td>',
        '<td class="num">21.4 MW</td>',
        '<td class="num">3.10 kt CO2e</td>',
        '<td>capex: servers</td><td class="num">$410M</td>',
        '<td class="num">1.00 days</td>',
        '<td class="num">85.6%</td>',
    ):
        assert expected in page, expected


def test_deterministic_bytes(page, outputs):
    again = render_html(*outputs, title=TITLE)
    assert again.encode() == page.encode()


def test_empty_run_still_renders(timeseries, jobs, progress):
    page = render_html({}, {}, timeseries.head(1), jobs.head(0), progress.head(0), title="empty")
    images = IMG.findall(page)
    assert len(images) == FIGURES
    assert all(base64.b64decode(data).startswith(PNG_MAGIC) for data, _ in images)
    assert "No training jobs." in page


def test_reliability_block_follows_the_headline(page):
    block = page[page.index("<h3>Reliability</h3>"):page.index("<h2>Power and cooling</h2>")]
    assert page.index('<table class="headline">') < page.index("<h3>Reliability</h3>")
    rows = re.findall(r"<tr><td>([^<]*)</td><td class=\"num\">([^<]*)</td></tr>", block)
    assert rows == [("node failures", "7"), ("hot spares used", "3"),
                    ("mean goodput (GPU-time weighted)", "89.3%")]


def test_jobs_table_has_goodput_failures_and_network_share(page):
    jobs = page[page.index('<table class="jobs">'):]
    jobs = jobs[:jobs.index("</table>")]
    header = re.findall(r"<th[^>]*>([^<]*)</th>", jobs)
    assert header[-6:] == ["MFU (%)", "goodput (%)", "failures", "network share (%)", "IT energy", "cost"]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(<td.*?)</tr>", jobs)]
    got = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["goodput (%)"], r["failures"], r["network share (%)"]) for r in got] == [
        ("95.1", "2", "80.0"), ("88.8", "5", "65.4"), ("—", "0", "—")]
    assert [r["finished at"] for r in got] == ["1.00 days", "running", "queued"]
    # numbers are right-aligned and never wrap
    assert '<th class="num">goodput (%)</th>' in jobs
    assert '<td class="num">95.1</td>' in jobs
