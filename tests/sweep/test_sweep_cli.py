"""``dcsim sweep`` end to end: infeasible variants recorded while the others finish (exit 1), the
sweep's own bad input refused before anything runs (exit 2), the output formats."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from simulator.cli import app
from simulator.sweep import local

runner = CliRunner()

# 5 rack counts (16 GPUs each) x 4 job sizes: a job larger than the cluster cannot run, which
# happens for 32 and 48 GPUs on 1 rack (16 GPUs) and 48 GPUs on 2 racks (32): 3 of 20.
TWENTY = """
name: twenty
simulation: {horizon: 1h, sample_interval: 30min, seed: 1}
site: {power_envelope: 1MW, climate: temperate}
cluster:
  racks: [{name: r, node: dgx-h100, nodes_per_rack: 2, count: 1}]
workloads:
  training:
    - {name: j, model: gpt3-350m, tokens: 200B, global_batch: 96, micro_batch: 1, seq: 2048, gpus: 8,
       layout: {tp: 1, pp: 1}}
sweep:
  axes:
    cluster.racks[0].count: [1, 2, 3, 4, 5]
    workloads.training[0].gpus: [8, 16, 32, 48]
"""


def test_infeasible_variants_are_recorded_and_the_others_finish(tmp_path):
    path = tmp_path / "twenty.yaml"
    path.write_text(TWENTY)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(path), "-o", str(out), "-f", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["variants"] == 20 and doc["failed"] == 3
    failed = [(r["cluster.racks[0].count"], r["workloads.training[0].gpus"]) for r in doc["rows"]
              if r["status"] == "failed"]
    assert failed == [("1", "32"), ("1", "48"), ("2", "48")]
    assert all("GPUs requested" in r["error"] for r in doc["rows"] if r["status"] == "failed")
    frame = pd.read_parquet(out / "sweep.parquet")
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 17 and (ok["tokens_trained"] > 0).all()
    # Twice the data-parallel GPUs, twice the tokens in the same hour (one rack's worth of GPUs).
    one = ok.set_index(["cluster.racks[0].count", "workloads.training[0].gpus"])["tokens_trained"]
    assert abs(one[("1", "16")] / one[("1", "8")] - 2) < 0.05
    assert (out / "sweep.html").read_text().count("data:image/png") == 2
    assert "3 of 20 variant(s) failed" in result.stderr


def test_the_sweeps_own_bad_input_exits_2_before_anything_runs(tmp_path, monkeypatch):
    path = tmp_path / "twenty.yaml"
    path.write_text(TWENTY)

    def boom(*_args, **_kwargs):
        raise AssertionError("a variant ran")

    monkeypatch.setattr(local, "run_variant", boom)
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, ["sweep", str(path), "-o", str(out), "--axis", "site.power_envelope=1MW,1XW"])
    assert result.exit_code == 2
    assert "--out: output folder" in result.stderr
    result = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "o2"),
                                 "--axis", "site.power_envelope=1MW,1XW"])
    assert result.exit_code == 2
    assert "sweep.axes.site.power_envelope[1]: '1XW'" in result.stderr
    assert not (tmp_path / "o2").exists()


def test_csv_and_markdown_formats(tmp_path):
    path = tmp_path / "twenty.yaml"
    path.write_text(TWENTY)
    args = ["sweep", str(path), "--axis", "cluster.racks[0].count=1", "--axis", "workloads.training[0].gpus=8",
            "--cache", str(tmp_path / "cache")]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "a"), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("variant,cluster.racks[0].count,workloads.training[0].gpus,status")
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "b"), "-f", "md"])
    assert result.exit_code == 0, result.output
    assert "| # | cluster.racks[0].count | workloads.training[0].gpus | tokens trained |" in result.stdout
