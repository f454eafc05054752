"""The report as a person sees it: a real run's report.html rendered by headless Chromium at
1000 px, the Markdown summary `dcsim run --format md` prints, and units on every figure axis.

Chromium is optional (CI may not have it): the browser tests skip with the reason when it is not
installed (`apt-get install chromium` on Debian). Everything else runs everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from matplotlib.category import StrCategoryConverter
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.report import figures

PAGE_WIDTH = 1000
UNIT = re.compile(r"\(([^()]+)\)|\[([^\[\]]+)\]")  # "power (kW)", "temperature [°C]"

# Three jobs on a tight envelope: one long, one with a long unbroken name, one with markup in its
# name; enough to fill the jobs table, cap the GPUs and keep a job waiting.
SCENARIO = """\
name: report-render
simulation: {horizon: 3d, sample_interval: 15min, seed: 5}
site:
  power_envelope: 70kW
  climate: hot-dry
  electricity: {price: $0.12/kWh, price_profile: {type: time-of-use}}
cluster:
  racks:
    - {name: h100, node: dgx-h100, nodes_per_rack: 4, count: 2}
workloads:
  training:
    - {name: llama-pretrain, model: gpt3-1.3b, tokens: 300B, global_batch: 256, gpus: 32}
    - name: a-very-long-experiment-name-without-any-spaces-to-break-at-v2
      model: gpt3-350m
      tokens: 100B
      global_batch: 128
      gpus: 16
      layout: {tp: 2, pp: 1}
      start: 6h
    - {name: "<b>bold</b> & co", model: gpt3-760m, tokens: 80B, global_batch: 128, gpus: 32, start: 1d}
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """One real run through the CLI with --format md: its folder and what it printed."""
    folder = tmp_path_factory.mktemp("report-render")
    scenario = folder / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(folder / "out"), "--format", "md"])
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["capped_fraction"] > 0  # the figures show capping, not a flat line
    return {"folder": folder, "out": folder / "out", "stdout": result.stdout, "scenario": scenario}


def _browse(page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = page.parent / "chromium-profile"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--window-size={PAGE_WIDTH},4000", *extra, page.as_uri()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


PROBE = """
<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const result = {
    scrollWidth: root.scrollWidth,
    images: document.images.length,
    figures: [...document.querySelectorAll("figure svg")].map(svg => ({
      role: svg.getAttribute("role"), label: (svg.getAttribute("aria-label") || "").length,
      shown: svg.getBoundingClientRect().width, high: svg.getBoundingClientRect().height})),
    wide: [...document.querySelectorAll("body *")]
      .filter(el => el.getBoundingClientRect().right > root.clientWidth + 0.5)
      .map(el => el.tagName + "." + el.className),
  };
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
"""


@needs_chromium
def test_report_renders_at_1000px_without_broken_images_or_sideways_scrolling(run, tmp_path):
    page = tmp_path / "probe.html"
    html = (run["out"] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the report itself runs no code; the probe is ours
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = _browse(page, "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
                   "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not finish loading:\n{done.stdout[-2000:]}"
    probe = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["scrollWidth"] <= PAGE_WIDTH, probe
    assert probe["wide"] == [], f"elements wider than the page: {probe['wide']}"
    assert probe["images"] == 0
    assert len(probe["figures"]) == 5, probe["figures"]
    for figure in probe["figures"]:
        assert figure["role"] == "img" and figure["label"] > 20, figure
        assert 0 < figure["shown"] <= PAGE_WIDTH and figure["high"] > 0, figure


@needs_chromium
def test_screenshot_shows_the_whole_report(run, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    done = _browse(run["out"] / "report.html", f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("L")
    assert image.size == (PAGE_WIDTH, 4000)
    # Ink on the page: the title at the top, figures further down (not a blank or error page).
    top, middle = image.crop((0, 0, PAGE_WIDTH, 200)), image.crop((0, 1000, PAGE_WIDTH, 2000))
    assert top.getextrema()[0] < 100 and middle.getextrema()[0] < 100


def test_every_figure_is_an_inline_svg(run):
    html = (run["out"] / "report.html").read_text(encoding="utf-8")
    assert "<img" not in html
    figures_svg = re.findall(r"<figure>(<svg .*?</svg>)<figcaption>", html, re.S)
    assert len(figures_svg) == 5  # no request figure: the run has no inference services
    assert "Inference services" not in html and "generated" not in html
    for svg in figures_svg:
        root = ElementTree.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-label")
    # the job name with markup is escaped in the progress figure's legend, not drawn as markup
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in figures_svg[3] and "<b>" not in figures_svg[3]


def _shown_axes(fig):
    """(axis name, label) for every axis of ``fig`` that shows tick values."""
    for ax in fig.axes:
        for name, axis, sides in (("x", ax.xaxis, ("labelbottom", "labeltop")),
                                  ("y", ax.yaxis, ("labelleft", "labelright"))):
            params = axis.get_tick_params()
            if not ax.get_visible() or not axis.get_visible() or not any(params.get(s) for s in sides):
                continue
            if isinstance(axis.get_converter(), StrCategoryConverter):
                continue  # named categories (cost items), not quantities
            yield f"{ax.get_title() or fig.axes[0].get_title()} {name}", axis.get_label_text()


@pytest.fixture(scope="module")
def built_figures(run) -> dict:
    result = api.simulate(api.load_scenario(run["scenario"]))
    built = {
        "power": figures.power_stack(result.timeseries),
        "pue": figures.pue_and_temperature(result.timeseries),
        "utilisation": figures.utilisation(result.timeseries),
        "progress": figures.job_progress(result.jobs, result.progress, result.summary_dict["horizon_s"]),
        "costs": figures.cost_breakdown(result.costs_dict),
    }
    for fig in built.values():
        fig.draw_without_rendering()
    return built


def test_every_figure_axis_is_labelled_with_its_unit(built_figures):
    checked = 0
    for name, fig in built_figures.items():
        assert fig.axes[0].get_title(), name
        for where, label in _shown_axes(fig):
            assert UNIT.search(label), f"{name}: axis '{where}' label {label!r} names no unit"
            checked += 1
    assert checked >= 10  # x and y of every plot, the temperature axis, both utilisation panels


def test_legends_do_not_squeeze_the_plots(built_figures):
    """A legend (a long job name, say) may take the margin, not the data: every plot keeps at
    least 60% of the figure's width."""
    for name, fig in built_figures.items():
        for ax in fig.axes:
            assert ax.get_position().width >= 0.6, (name, ax.get_title(), ax.get_position())


def test_run_format_md_prints_a_markdown_summary(run):
    text = run["stdout"]
    assert text.startswith("# dcsim run: report-render\n")
    for heading in ("## Headline", "## Costs", "## Training jobs"):
        assert f"\n{heading}\n" in text, heading
    lines = text.splitlines()
    header = lines.index("## Headline") + 2
    assert lines[header] == "| quantity | value |"
    assert re.fullmatch(r"\|-{3,}\|-{3,}:\|", lines[header + 1]), lines[header + 1]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[header + 2:] if line.startswith("|")}
    assert "facility energy (from the grid)" in rows and "Wh |" in rows["facility energy (from the grid)"]
    assert "mean PUE" in rows
    # Markup in a job name is escaped, so it cannot break the table or render as HTML.
    assert "\\<b\\>bold\\</b\\> & co" in text
    assert "<b>" not in text
    # A training-only run shows nothing of inference services (no section, headline or cost rows).
    assert "## Inference services" not in text and "generated" not in text and "SLO" not in text


def test_absurd_numbers_still_read_as_short_text():
    """A planner's typo ($1e300 per watt) must not turn a table cell or a bar label into a
    300-digit number that pushes the page sideways."""
    from simulator.report import fmt

    for name in ("fmt_usd", "fmt_energy", "fmt_power", "fmt_duration", "fmt_carbon", "fmt_count",
                 "fmt_si", "fmt_tokens", "fmt_ratio", "fmt_fraction", "fmt_ms"):
        for value in (1e300, -1e300, 1e20):
            text = getattr(fmt, name)(value)
            assert len(text) <= 20, (name, value, text)


@needs_chromium
def test_jobs_table_with_large_values_fits_the_page(summary, costs, timeseries, progress, tmp_path):
    """Big clusters, long waits, many failures and long names: the jobs table, with its goodput,
    failures and network-share columns, still fits 1000 px without scrolling sideways."""
    from simulator.report.html import render_html

    day = 86400.0
    names = ["pretrain-405b-main", "x" * 70, "finetune"]
    jobs = pd.DataFrame({
        "job": names, "model": ["llama3-405b", "mixtral-8x7b", "gpt3-175b"],
        "gpus": [16384, 12288, 10240], "layout": ["tp8-pp16-dp128-z1-mb1"] * 3,
        "submit_s": [0.0, 0.0, 0.0], "start_s": [12.3 * day, 99.9 * day, np.nan],
        "end_s": [99.9 * day, np.nan, np.nan], "tokens_target": [15.6e12] * 3,
        "tokens_done": [15.6e12, 1.23e12, 0.0], "steps_done": [1, 1, 0], "step_time_s": [1.0] * 3,
        "tokens_per_s": [123.4e6, 123.4e6, np.nan], "mfu": [0.412, 0.399, np.nan],
        "energy_j": [3.6e15 * 123.4, 3.6e15 * 12.3, 0.0], "network_share_mean": [0.876, 0.123, np.nan],
        "failures": [1234, 12, 0], "lost_tokens": [1e12, 1e11, 0.0], "checkpoint_s": [1e5, 1e4, 0.0],
        "downtime_s": [1e5, 1e4, 0.0], "goodput": [0.876, 0.912, np.nan],
        "status": ["finished", "running", "queued"]})
    costs = dict(costs, per_job={names[0]: 123.4e6, names[1]: 12.3e6, names[2]: 0.0})
    page = tmp_path / "wide.html"
    html = render_html(summary, costs, timeseries, jobs, progress, title="wide")
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = _browse(page, "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000", "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    probe = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["scrollWidth"] <= PAGE_WIDTH, probe
    assert probe["wide"] == [], f"elements wider than the page: {probe['wide']}"
