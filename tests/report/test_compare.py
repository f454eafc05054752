"""The CI regression gate: benchmark scenarios match their baselines; a moved metric fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.report.compare import TRACKED, compare, metrics_of

ROOT = Path(__file__).resolve().parents[2]
BENCH = sorted((ROOT / "scenarios" / "benchmarks").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("scenario", BENCH, ids=[p.stem for p in BENCH])
def test_benchmark_scenarios_match_their_baselines(scenario, tmp_path):
    out = api.simulate(api.load_scenario(scenario)).write(tmp_path / "run")
    baseline = scenario.parent / "baselines" / f"{scenario.stem}.json"
    result = runner.invoke(app, ["compare", str(baseline), str(out)])
    assert result.exit_code == 0, result.output


def test_a_moved_metric_fails_the_gate(tmp_path):
    base = dict.fromkeys(TRACKED, 100.0)
    moved = dict(base, pue_mean=100.1)                     # +0.1%, tolerance 1e-6
    rows = {r.metric: r for r in compare(base, moved)}
    assert not rows["pue_mean"].ok and rows["pue_mean"].change == pytest.approx(0.001)
    assert all(r.ok for m, r in rows.items() if m != "pue_mean")
    assert {r.metric: r.ok for r in compare(base, moved, {"pue_mean": 0.002})}["pue_mean"]
    b, c = tmp_path / "b.json", tmp_path / "c.json"
    b.write_text(json.dumps(base))
    c.write_text(json.dumps(moved))
    result = runner.invoke(app, ["compare", str(b), str(c)])
    assert result.exit_code == 1
    assert "pue_mean" in result.output
    assert runner.invoke(app, ["compare", str(b), str(c), "--tol", "pue_mean=0.01"]).exit_code == 0


def test_counters_must_match_exactly():
    base = dict.fromkeys(TRACKED, 10.0)
    rows = {r.metric: r for r in compare(base, dict(base, events_processed=11.0))}
    assert not rows["events_processed"].ok


def test_bad_tolerance_and_missing_file_are_input_errors(tmp_path):
    b = tmp_path / "b.json"
    b.write_text(json.dumps(dict.fromkeys(TRACKED, 1.0)))
    assert runner.invoke(app, ["compare", str(b), str(b), "--tol", "nonsense=0.1"]).exit_code == 2
    assert runner.invoke(app, ["compare", str(b), str(b), "--tol", "pue_mean=abc"]).exit_code == 2
    assert runner.invoke(app, ["compare", str(tmp_path / "none.json"), str(b)]).exit_code == 2
    assert metrics_of(b)["pue_mean"] == 1.0
