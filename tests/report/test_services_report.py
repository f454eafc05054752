"""Inference services in the reports of a real run: the services table, the headline rows and the
Markdown section match the run's own services.parquet, costs.json and timeseries.parquet; the
request figure plots the per-interval counts as rates with labelled axes; a run without services
shows no trace of them; and report.html with services still renders at 1000 px."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.report import figures
from simulator.report.frames import SERVICE_COLUMNS
from simulator.report.html import render_html
from simulator.report.markdown import render_markdown
from simulator.report.tables import MAX_SERVICE_ROWS, headline_table, services_table
from tests.report.test_report_render import PAGE_WIDTH, PROBE, _browse, needs_chromium

# Two 8-GPU nodes: "chat" (4 x 1 GPU) keeps up easily; "bulk" (2 replicas of 2 GPUs, markup in its
# name) gets a diurnal load just above its capacity, so it queues, misses some SLOs and drains as
# the evening load falls; the third service finds no room and stays queued all run.
SCENARIO = """\
name: serving
simulation: {horizon: 2h, sample_interval: 5min, seed: 11}
site:
  power_envelope: 1MW
  climate: {type: constant, temperature: 10C}
  electricity: {price: $0.10/kWh, carbon: 400g/kWh}
cluster:
  racks: [{name: r, node: dgx-h100, nodes_per_rack: 2, count: 1}]
workloads:
  inference:
    - {name: chat, model: llama-3-8b, replicas: 4, arrival_rate: 20/s, prompt_tokens: 512,
       output_tokens: 128, max_batch: 32, slo: {ttft: 2s, tpot: 100ms}}
    - {name: "<i>bulk</i> & co", model: llama-3-8b, replicas: 2, gpus_per_replica: 2, arrival_rate: 42/s,
       daily_profile: diurnal, prompt_tokens: 1024, output_tokens: 256, max_batch: 32,
       slo: {ttft: 5s, tpot: 50ms}}
    - {name: no-room, model: llama-3-8b, replicas: 8, arrival_rate: 5/s}
"""
OUTPUT_TOKENS = {"chat": 128, "<i>bulk</i> & co": 256, "no-room": 256}  # 256: the schema default
INTERVAL_S = 300.0
SI = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """`dcsim run --format md` on SCENARIO: what it printed and the files it wrote."""
    folder = tmp_path_factory.mktemp("services")
    scenario = folder / "serving.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(folder / "out"), "--format", "md"])
    assert result.exit_code == 0, result.output
    out = folder / "out"
    return {
        "stdout": result.stdout,
        "html": (out / "report.html").read_text(encoding="utf-8"),
        "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
        "costs": json.loads((out / "costs.json").read_text(encoding="utf-8")),
        "services": pd.read_parquet(out / "services.parquet"),
        "timeseries": pd.read_parquet(out / "timeseries.parquet"),
        "jobs": pd.read_parquet(out / "jobs.parquet"),
        "progress": pd.read_parquet(out / "progress.parquet"),
        "scenario": scenario,
        "folder": folder,
        "out": out,
    }


# ----------------------------------------------------------------------------- parsing the outputs
def _si(text: str) -> float:
    """A table cell such as "144k", "50.4M tokens" or "0" back as a number."""
    found = re.fullmatch(r"([\d.,]+)([kMBT]?)(?: tokens)?", text)
    assert found, text
    return float(found[1].replace(",", "")) * SI[found[2]]


def _usd(text: str) -> float:
    found = re.fullmatch(r"\$([\d.,]+)([kMBT]?)", text)
    assert found, text
    return float(found[1].replace(",", "")) * SI[found[2]]


def _section(text: str, heading: str) -> str:
    return text[text.index(f"## {heading}\n"):].split("\n## ", maxsplit=1)[0]


def _markdown_table(block: str) -> list[dict[str, str]]:
    """The first table of a Markdown block as records {header: cell} (cells unescaped)."""
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split(" | ")]
    records = []
    for row in rows[1:]:
        cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in row.strip("|").split(" | ")]
        assert len(cells) == len(header), row
        records.append(dict(zip(header, cells, strict=True)))
    return records


def _headline(text: str) -> dict[str, str]:
    return {r["quantity"]: r["value"] for r in _markdown_table(_section(text, "Headline"))}


def _html_table(page: str, css_class: str) -> list[dict[str, str]]:
    table = page[page.index(f'<table class="{css_class}">'):]
    table = table[:table.index("</table>")]
    header = [html.unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", table)]
    rows = re.findall(r"<tr>(<td.*?)</tr>", table, re.S)
    return [dict(zip(header, (html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row)), strict=True))
            for row in rows]


def _close(shown: float, value: float, figures_: int = 3) -> bool:
    """Whether ``shown`` is ``value`` rounded to ``figures_`` significant figures (or to units)."""
    return abs(shown - value) <= max(0.5, abs(value) * 0.5 * 10 ** (1 - figures_)) * 1.0001


# ----------------------------------------------------------------------------- the run itself
def test_the_scenario_has_a_service_in_each_state(run):
    svc = run["services"].set_index("service")
    assert svc.loc["chat", "slo_attainment"] == pytest.approx(1.0)
    bulk = svc.loc["<i>bulk</i> & co"]
    assert 0.05 < bulk["slo_attainment"] < 0.95  # queued for part of the run
    assert (bulk["replicas"], bulk["gpus"]) == (2, 4)
    assert run["timeseries"]["requests_backlog"].max() > 1000
    assert svc.loc["no-room", "status"] == "queued" and svc.loc["no-room", "requests_served"] == 0


def test_markdown_services_table_matches_services_parquet(run):
    text = run["stdout"]
    assert text.index("## Training jobs") < text.index("## Inference services")
    table = _markdown_table(_section(text, "Inference services"))
    records = run["services"].to_dict("records")
    assert len(table) == len(records) == 3
    per_service = run["costs"]["per_service"]
    for cells, svc in zip(table, records, strict=True):
        name = svc["service"]
        suffix = "" if svc["status"] == "running" else f", {svc['status']}"
        assert cells["service (model)"] == f"{name} ({svc['model']}){suffix}"
        per_replica = svc["gpus"] // svc["replicas"]
        assert cells["GPUs"] == f"{svc['gpus']} ({svc['replicas']} × {per_replica})"
        assert _close(_si(cells["requests arrived"]), svc["requests_arrived"])
        assert _close(_si(cells["served"]), svc["requests_served"])
        assert _close(_si(cells["backlog at end"]), svc["requests_backlog"])
        generated = svc["requests_served"] * OUTPUT_TOKENS[name]
        assert _close(_si(cells["tokens generated"]), generated)
        assert _usd(cells["cost"]) == pytest.approx(per_service[name], abs=0.005)
        if svc["requests_served"] > 0:
            assert float(cells["SLO attainment (%)"]) == pytest.approx(100 * svc["slo_attainment"], abs=0.05)
            ttft_ms = float(cells["p99 TTFT (ms)"].replace(",", ""))
            assert _close(ttft_ms, 1000 * svc["ttft_p99_s"])
            assert _close(float(cells["mean TPOT (ms)"]), 1000 * svc["tpot_mean_s"])
        else:  # nothing served: no attainment or latency to show
            assert [cells[c] for c in ("SLO attainment (%)", "p99 TTFT (ms)", "mean TPOT (ms)")] == ["—"] * 3
    chat = table[0]
    assert (chat["SLO attainment (%)"], chat["backlog at end"]) == ("100.0", "0")


def test_headline_rows_match_the_run(run):
    rows = _headline(run["stdout"])
    services = run["services"]
    served, arrived = services["requests_served"].sum(), services["requests_arrived"].sum()
    assert rows["inference requests served"] == f"{round(served):,} of {round(arrived):,}"
    hit = services["requests_served"] > 0
    attained = (services["slo_attainment"][hit] * services["requests_served"][hit]).sum() / served
    assert 0.05 < attained < 0.95
    assert rows["SLO attainment (of requests served)"] == f"{100 * attained:.1f}%"
    tokens = sum(row["requests_served"] * OUTPUT_TOKENS[row["service"]] for row in services.to_dict("records"))
    assert rows["tokens generated"].endswith(" tokens") and _close(_si(rows["tokens generated"]), tokens)
    per_mtoken = sum(run["costs"]["per_service"].values()) / (tokens / 1e6)
    assert _usd(rows["cost per million generated tokens"]) == pytest.approx(per_mtoken, abs=0.005)
    order = list(rows)
    assert order.index("tokens trained") < order.index("inference requests served") < order.index(
        "simulation events")
    costs = {r["item"]: r for r in _markdown_table(_section(run["stdout"], "Costs"))}
    assert _usd(costs["per million generated tokens"]["over the horizon"]) == pytest.approx(per_mtoken, abs=0.005)


def test_report_html_shows_the_same_services_table_and_headline(run):
    page = run["html"]
    assert page.index("<h2>Training jobs</h2>") < page.index("<h2>Inference services</h2>") < page.index(
        "<h2>Costs</h2>")
    markdown = _markdown_table(_section(run["stdout"], "Inference services"))
    assert _html_table(page, "services") == markdown
    assert "&lt;i&gt;bulk&lt;/i&gt; &amp; co" in page and "<i>bulk" not in page
    headline = {r["quantity"]: r["value"] for r in _html_table(page, "headline")}
    for quantity, value in _headline(run["stdout"]).items():
        assert headline[quantity] == value, quantity
    section = page[page.index("<h2>Inference services</h2>"):page.index("<h2>Costs</h2>")]
    assert section.count("<svg ") == 1 and "requests per second" in section
    assert page.count("<svg ") == 6 and "<img" not in page


def test_terminal_table_of_dcsim_run_shows_the_service_rows(run):
    result = CliRunner().invoke(app, ["run", str(run["scenario"]), "-o", str(run["folder"] / "table")])
    assert result.exit_code == 0, result.output
    cells = {}
    for line in result.stdout.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) == 4:
            cells[parts[1]] = parts[2]
    expected = _headline(run["stdout"])
    for quantity in ("inference requests served", "SLO attainment (of requests served)", "tokens generated",
                     "cost per million generated tokens"):
        assert cells[quantity] == expected[quantity], quantity


# ----------------------------------------------------------------------------- the figure
UNIT = re.compile(r"\(([^()]+)\)")


def test_request_figure_plots_counts_per_second_and_the_backlog(run):
    ts = run["timeseries"]
    result = api.Result(None, run["summary"], run["costs"], ts, run["jobs"], run["progress"], run["services"])
    fig = result.plot_requests()
    fig.draw_without_rendering()
    rates, backlog = fig.axes
    assert rates.get_title() == "Inference requests"
    labels = [rates.get_xlabel(), rates.get_ylabel(), backlog.get_ylabel()]
    assert all(UNIT.search(label) for label in labels), labels
    assert rates.get_xlabel() == "time (hours)"
    assert rates.get_ylabel() == "request rate (requests/s)"
    lines = {line.get_label(): line for line in rates.get_lines()}
    assert set(lines) == {"arriving", "served", "served within SLO"}
    for label, column in (("arriving", "requests_arrived"), ("served", "requests_served"),
                          ("served within SLO", "requests_slo_met")):
        x, y = lines[label].get_data()
        # steps over (t - 5 min, t]: x in hours from 0, each count over its 300 s interval
        np.testing.assert_allclose(x, np.arange(len(ts) + 1) * INTERVAL_S / 3600.0)
        np.testing.assert_allclose(y[1:], ts[column].to_numpy() / INTERVAL_S)
    # the backlog in thousands of requests, from an empty queue at the start
    assert backlog.get_ylabel() == "backlog (thousands of requests)"
    (queued,) = backlog.get_lines()
    np.testing.assert_allclose(queued.get_ydata(), np.concatenate(([0.0], ts["requests_backlog"])) / 1e3)
    assert rates.get_ylim()[0] == 0 and rates.get_ylim()[1] > ts["requests_arrived"].max() / INTERVAL_S
    assert figures.png_bytes(fig) == figures.png_bytes(result.plot_requests())


def test_request_figure_without_request_columns_says_no_data(timeseries):
    fig = figures.requests_over_time(timeseries)  # a timeseries from before services existed
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["no data"]
    fig = figures.requests_over_time(timeseries.head(1).assign(requests_arrived=1.0))
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["no data"]


# ----------------------------------------------------------------------------- no services
NO_SERVICES = {"services_total": 0, "requests_arrived": 0.0, "requests_served": 0.0, "requests_backlog": 0.0,
               "slo_attainment": None, "tokens_generated": 0.0}


def test_a_run_without_services_looks_as_before(summary, costs, timeseries, jobs, progress):
    """A summary with zero services (what every run now writes), an empty services frame or none
    at all: the same Markdown and HTML, with no services section, rows or figure."""
    empty = pd.DataFrame(columns=list(SERVICE_COLUMNS))
    plain = render_markdown(summary, costs, jobs)
    with_zero = dict(summary, **NO_SERVICES)
    costs_zero = dict(costs, per_service={}, usd_per_mtoken_generated=None)
    assert render_markdown(with_zero, costs_zero, jobs, empty) == plain
    assert render_markdown(with_zero, costs_zero, jobs, None) == plain
    assert not any(word in plain.lower() for word in ("inference", "generated", "slo"))
    page = render_html(summary, costs, timeseries, jobs, progress, title="t")
    assert render_html(with_zero, costs_zero, timeseries, jobs, progress, title="t", services=empty) == page
    assert "Inference services" not in page and page.count("<svg ") == 5
    rows = [q for q, _ in headline_table(with_zero, costs_zero).rows]
    assert rows == [q for q, _ in headline_table(summary).rows]


# ----------------------------------------------------------------------------- the table by hand
def _services_frame(**overrides) -> pd.DataFrame:
    base = {
        "service": ["a", "b"], "model": ["m1", "m2"], "replicas": [3, 128], "gpus": [6, 1024],
        "start_s": [0.0, np.nan], "arrival_rate_per_s": [10.0, 1.0], "requests_arrived": [1500.0, 50.0],
        "requests_served": [1400.4, 0.0], "requests_backlog": [99.6, 50.0], "slo_attainment": [0.87654, np.nan],
        "ttft_p99_s": [83.21, np.nan], "tpot_mean_s": [0.0123, np.nan], "tokens_generated": [1.2345e9, 0.0],
        "capacity_per_s": [9.0, 0.0], "energy_j": [1e9, 0.0], "status": ["running", "queued"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_services_table_cells_by_hand():
    costs = {"per_service": {"a": 1234.5, "b": {"total_usd": 0.0}}}
    table = services_table(_services_frame(), costs)
    assert table.columns[5:8] == ("SLO attainment (%)", "p99 TTFT (ms)", "mean TPOT (ms)")
    assert table.numeric == (False, *(True,) * 9)
    assert table.rows[0] == ("a (m1)", "6 (3 × 2)", "1.50k", "1.40k", "100", "87.7", "83,210", "12.3", "1.23B",
                             "$1.23k")
    assert table.rows[1] == ("b (m2), queued", "1,024 (128 × 8)", "50", "0", "50", "—", "—", "—", "0", "$0.00")


def test_services_table_is_cut_at_max_rows():
    n = MAX_SERVICE_ROWS + 5
    frame = pd.concat([_services_frame().head(1)] * n, ignore_index=True)
    frame["service"] = [f"s{i}" for i in range(n)]
    table = services_table(frame, {})
    assert len(table.rows) == MAX_SERVICE_ROWS
    assert f"First {MAX_SERVICE_ROWS} of {n} services" in table.note
    assert table.rows[0][-1] == "—"  # no cost known


# ----------------------------------------------------------------------------- in a browser
def _probe(page_html: str, tmp_path) -> dict:
    page = tmp_path / "probe.html"
    page.write_text(page_html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = _browse(page, "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not finish loading:\n{done.stdout[-2000:]}"
    return json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))


@needs_chromium
def test_services_report_renders_at_1000px_without_broken_images_or_sideways_scrolling(run, tmp_path):
    probe = _probe(run["html"], tmp_path)
    assert probe["scrollWidth"] <= PAGE_WIDTH, probe
    assert probe["wide"] == [], f"elements wider than the page: {probe['wide']}"
    assert probe["images"] == 0
    assert len(probe["figures"]) == 6, probe["figures"]
    for figure in probe["figures"]:
        assert figure["role"] == "img" and figure["label"] > 20, figure
        assert 0 < figure["shown"] <= PAGE_WIDTH and figure["high"] > 0, figure


@needs_chromium
def test_services_table_with_large_values_fits_the_page(summary, costs, timeseries, jobs, progress, tmp_path):
    """Thousands of GPUs, billions of requests, queues hours long and long names: the services
    table still fits 1000 px without scrolling sideways."""
    frame = _services_frame(
        service=["x" * 70, "frontier-chat-eu-west-production"], model=["llama3-405b", "mixtral-8x22b"],
        replicas=[2048, 1024], gpus=[16384, 8192], requests_arrived=[1.23e12, 9.87e11],
        requests_served=[1.1e12, 9.8e11], requests_backlog=[1.3e11, 7e9], ttft_p99_s=[86399.0, 0.123],
        tpot_mean_s=[0.0999, 1.234], tokens_generated=[4.5e14, 2.5e14], slo_attainment=[0.0001, 0.9999])
    many = dict(costs, per_service={"x" * 70: 123.4e6, "frontier-chat-eu-west-production": 98.7e6},
                usd_per_mtoken_generated=0.4567)
    full = dict(summary, services_total=2, requests_arrived=2.2e12, requests_served=2.08e12,
                requests_backlog=1.4e11, slo_attainment=0.47, tokens_generated=7e14)
    probe = _probe(render_html(full, many, timeseries, jobs, progress, title="wide", services=frame), tmp_path)
    assert probe["scrollWidth"] <= PAGE_WIDTH, probe
    assert probe["wide"] == [], f"elements wider than the page: {probe['wide']}"
