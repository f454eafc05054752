"""The HTML report: self-contained, escaped, one inline SVG per figure, deterministic, and no
matplotlib."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.report.html import ALT_TEXT, render_html

SVG = re.compile(r"<figure>(<svg .*?</svg>)<figcaption>", re.S)
TITLE = 'Run <1> & "co"'
FIGURES = 5  # power stack, PUE and temperature, utilisation, job progress, cost breakdown


@pytest.fixture
def outputs(summary, costs, timeseries, jobs, progress) -> tuple:
    """render_html's positional arguments, in order."""
    return summary, costs, timeseries, jobs, progress


@pytest.fixture
def page(outputs) -> str:
    return render_html(*outputs, title=TITLE)


def test_one_svg_per_figure_with_alt_text(page):
    assert "<img" not in page
    images = SVG.findall(page)
    assert len(images) == FIGURES
    for image in images:
        root = ET.fromstring(image)  # each figure is well-formed XML on its own
        alt = root.get("aria-label")
        assert root.get("role") == "img"
        assert alt in ALT_TEXT.values()
        assert root.find("{http://www.w3.org/2000/svg}title").text == alt


def test_rendering_the_page_does_not_import_matplotlib(outputs, tmp_path):
    """The report's figures are SVG written without matplotlib (its import alone cost 0.4 s)."""
    summary, costs, timeseries, jobs, progress = outputs
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "costs.json").write_text(json.dumps(costs))
    for name, frame in (("timeseries", timeseries), ("jobs", jobs), ("progress", progress)):
        frame.to_pickle(tmp_path / f"{name}.pkl")
    script = (
        "import json, sys, pandas as pd\n"
        "from pathlib import Path\n"
        "from simulator.report.html import render_html\n"
        "d = Path(sys.argv[1])\n"
        "frames = [pd.read_pickle(d / f'{n}.pkl') for n in ('timeseries', 'jobs', 'progress')]\n"
        "page = render_html(json.loads((d / 'summary.json').read_text()),\n"
        "                   json.loads((d / 'costs.json').read_text()), *frames, title='t')\n"
        "print(page.count('<svg '), sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          check=True, cwd=root, env={"PYTHONPATH": root, "PATH": ""})
    assert done.stdout.split() == [str(FIGURES), "[]"]


def test_self_contained(page):
    page = page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a namespace's name, never fetched
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page
    assert "<script" not in page.lower()
    assert "figure svg { display: block; max-width: 100%" in page


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
    images = SVG.findall(page)
    assert len(images) == FIGURES
    assert all(">no data</text>" in image for image in images)
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
