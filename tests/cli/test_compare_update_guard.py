"""`dcsim compare --update` replaces only a baseline: never the scenario or any other file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    scenario = ROOT / "scenarios" / "benchmarks" / "small-h100-week.yaml"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def test_update_refuses_a_file_that_is_not_a_baseline(run_folder, tmp_path):
    scenario = tmp_path / "s.json"
    scenario.write_text('{"name": "my scenario", "notes": [1, 2]}', encoding="utf-8")
    before = scenario.read_bytes()
    result = runner.invoke(app, ["compare", str(scenario), str(run_folder), "--update"])
    assert result.exit_code == 2
    assert "is not a dcsim baseline" in result.output
    assert scenario.read_bytes() == before


def test_update_refuses_a_path_that_is_not_json(run_folder, tmp_path):
    target = tmp_path / "scenario.yaml"
    shutil.copy(ROOT / "scenarios" / "default.yaml", target)
    before = target.read_bytes()
    result = runner.invoke(app, ["compare", str(target), str(run_folder), "--update"])
    assert result.exit_code == 2 and target.read_bytes() == before


def test_update_replaces_an_existing_baseline(run_folder, tmp_path):
    baseline = tmp_path / "b.json"
    baseline.write_text(json.dumps({"total_usd": 1.0}), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(baseline), str(run_folder), "--update"])
    assert result.exit_code == 0, result.output
    assert json.loads(baseline.read_text())["total_usd"] != 1.0
