"""With ``--format json`` an error is a JSON document on stdout (``{"error", "exit_code",
"problems"}``), with the same exit code as without it; validate reports schema and catalog
problems in one pass."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from simulator.cli import app

runner = CliRunner()

BAD = """
name: bad
simulation: {horizon: 6h, sample_interval: 30min, seed: 1}
site: {power_envelope: 1XW, climate: temperate}
cluster:
  racks: [{name: r, node: dgx-h1000, nodes_per_rack: 2, count: 1}]
workloads:
  training:
    - {name: j, model: gpt3-350m, tokens: 200B, global_batch: 64, micro_batch: 4, seq: 2048, gpus: 16}
"""


def test_a_model_that_does_not_fit_prints_json_and_exits_1():
    args = ["estimate", "train", "--model", "gpt3-175b", "-a", "h100", "-b", "8", "-s", "2048"]
    plain = runner.invoke(app, args)
    result = runner.invoke(app, [*args, "--format", "json"])
    assert plain.exit_code == result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 1 and "does not fit" in doc["error"]
    assert len(doc["problems"]) == 1 and "GiB" in doc["problems"][0]["message"]


def test_bad_scenario_prints_every_problem_as_json_and_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = runner.invoke(app, ["run", str(path), "-o", str(tmp_path / "out"), "--format", "json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 2
    # The schema error (a unit) and the catalog error (a node) in one pass, each with its line.
    found = {p["path"]: p for p in doc["problems"]}
    assert set(found) == {"site.power_envelope", "cluster.racks[0].node"}
    assert found["site.power_envelope"]["line"] == 4 and found["cluster.racks[0].node"]["line"] == 6
    assert "unknown node 'dgx-h1000'" in found["cluster.racks[0].node"]["message"]
    assert not (tmp_path / "out").exists()


def test_validate_reports_schema_and_catalog_problems_together(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "site.power_envelope: unknown unit 'XW'" in result.stderr
    assert "cluster.racks[0].node: unknown node 'dgx-h1000'" in result.stderr
