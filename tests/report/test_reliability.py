"""Reliability in the reports of a real run with node failures: the Markdown summary, report.html
and the terminal table show failures, hot spares used and goodput, and the jobs table shows each
job's goodput, failures and network share, all matching the run's own jobs.parquet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.engine import world as world_module
from simulator.report.fmt import fmt_count, fmt_fraction, fmt_percent

# 7 of 8 nodes busy with the big job, 1 hot spare, a node failing about once a day: the big job
# is interrupted many times and is still running at the end; the small one finishes.
SCENARIO = """\
name: flaky
simulation: {horizon: 4d, sample_interval: 1h, seed: 3}
site: {power_envelope: 2MW, climate: {type: constant, temperature: 15C}}
cluster:
  racks: [{name: r, node: dgx-h100, nodes_per_rack: 4, count: 2, spare_nodes: 1}]
workloads:
  training:
    - {name: big, model: gpt3-1.3b, tokens: 600B, global_batch: 192, micro_batch: 4, seq: 2048,
       gpus: 48, layout: {tp: 1, pp: 1}, precision: bf16-mixed}
    - {name: small, model: gpt3-350m, tokens: 150B, global_batch: 64, micro_batch: 4, seq: 2048,
       gpus: 8, layout: {tp: 1, pp: 1}, precision: bf16-mixed}
failures: {node_mtbf: 1d, repair_time: 12h, restart_time: 10min, node_checkpoint_bw: 2GB/s,
           storage_bw: 100GB/s}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """`dcsim run --format md` on SCENARIO: what it printed, its files, and the World it ran."""
    folder = tmp_path_factory.mktemp("reliability")
    scenario = folder / "flaky.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    worlds = []
    original = world_module.World.run

    def keep(self):
        worlds.append(self)
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(world_module.World, "run", keep)
        result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(folder / "out"), "--format", "md"])
    assert result.exit_code == 0, result.output
    out = folder / "out"
    return {
        "stdout": result.stdout,
        "html": (out / "report.html").read_text(encoding="utf-8"),
        "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
        "jobs": pd.read_parquet(out / "jobs.parquet"),
        "world": worlds[0],
        "scenario": scenario,
        "folder": folder,
    }


def _weighted_goodput(jobs: pd.DataFrame, horizon_s: float) -> float:
    """Goodput weighted by the GPU-seconds each job held its nodes, from jobs.parquet by hand."""
    total = held_sum = 0.0
    for job in jobs.to_dict("records"):
        end = job["end_s"] if np.isfinite(job["end_s"]) else horizon_s
        held = (end - job["start_s"]) * job["gpus"]
        total += job["goodput"] * held
        held_sum += held
    return total / held_sum


def _markdown_rows(text: str, section: str) -> dict[str, str]:
    """A two-column Markdown section as {quantity: value}."""
    block = text[text.index(f"## {section}\n"):].split("\n## ", maxsplit=1)[0]
    rows = [line.strip("|").split(" | ") for line in block.splitlines()[4:] if line.startswith("| ")]
    return {k.strip(): v.strip() for k, v in rows}


def _markdown_jobs(text: str) -> dict[str, dict[str, str]]:
    """The Markdown jobs table as {job name: {header: cell}}."""
    lines = [line for line in text[text.index("## Training jobs"):].splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    table = {}
    for line in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split(" | ")), strict=True))
        table[cells["job (model)"].split(" (")[0]] = cells
    return table


def test_the_scenario_fails_nodes_and_uses_spares(run):
    jobs = run["jobs"].set_index("job")
    assert jobs.loc["big", "failures"] >= 5 and jobs.loc["big", "status"] == "running"
    assert jobs.loc["small", "status"] == "finished"
    assert run["world"].recorder.counters["spares_used"] >= 1


def test_markdown_reliability_block_matches_the_run(run):
    rows = _markdown_rows(run["stdout"], "Reliability")
    jobs = run["jobs"]
    assert rows["node failures"] == fmt_count(int(jobs["failures"].sum()))
    expected = _weighted_goodput(jobs, 4 * 86400.0)
    assert 0.3 < expected < 0.99  # failures cost real time, but most of it was useful
    assert rows["mean goodput (GPU-time weighted)"] == fmt_fraction(expected)


def test_spares_used_row_counts_the_engine_swaps(run):
    swaps = run["world"].recorder.counters["spares_used"]
    assert run["summary"]["spares_used"] == swaps
    assert _markdown_rows(run["stdout"], "Reliability")["hot spares used"] == fmt_count(swaps)


def test_markdown_jobs_table_matches_jobs_parquet(run):
    table = _markdown_jobs(run["stdout"])
    for job in run["jobs"].to_dict("records"):
        cells = table[job["job"]]
        assert cells["goodput (%)"] == fmt_percent(job["goodput"])
        assert cells["failures"] == str(job["failures"])
        assert cells["network share (%)"] == fmt_percent(job["network_share_mean"])
    assert table["big"]["finished at"] == "running"
    assert float(table["big"]["goodput (%)"]) < float(table["small"]["goodput (%)"])


def test_report_html_shows_the_same_reliability(run):
    html, jobs = run["html"], run["jobs"]
    assert "<h3>Reliability</h3>" in html
    failures = fmt_count(int(jobs["failures"].sum()))
    assert f'<td>node failures</td><td class="num">{failures}</td>' in html
    goodput = fmt_fraction(_weighted_goodput(jobs, 4 * 86400.0))
    assert f'<td>mean goodput (GPU-time weighted)</td><td class="num">{goodput}</td>' in html
    big = jobs.set_index("job").loc["big"]
    row = html[html.index("<td>big (gpt3-1.3b)</td>"):]
    row = row[:row.index("</tr>")]
    assert (f'<td class="num">{fmt_percent(big["goodput"])}</td><td class="num">{big["failures"]}</td>'
            f'<td class="num">{fmt_percent(big["network_share_mean"])}</td>') in row


def test_terminal_table_of_dcsim_run_shows_reliability(run):
    result = CliRunner().invoke(app, ["run", str(run["scenario"]), "-o", str(run["folder"] / "table")])
    assert result.exit_code == 0, result.output
    jobs = run["jobs"]
    lines = {line.strip("│ ").split("│")[0].strip(): line for line in result.stdout.splitlines()}
    assert lines["node failures"].split("│")[2].strip() == fmt_count(int(jobs["failures"].sum()))
    goodput = fmt_fraction(_weighted_goodput(jobs, 4 * 86400.0))
    assert lines["mean goodput (GPU-time weighted)"].split("│")[2].strip() == goodput


def test_tokens_done_overshoots_the_target_by_less_than_one_step(run):
    """docs/outputs.md: a job runs whole optimizer steps, so a finished job's tokens_done is its
    target rounded up to a whole global batch. small: 64 x 2048 = 131,072 tokens per step;
    150e9 / 131,072 = 1,144,409.2, so 1,144,410 steps."""
    small = run["jobs"].set_index("job").loc["small"]
    assert small["status"] == "finished"
    assert small["steps_done"] == 1_144_410
    assert small["tokens_done"] == 1_144_410 * 131_072
    assert 0 <= small["tokens_done"] - small["tokens_target"] < 131_072
