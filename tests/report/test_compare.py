"""The CI regression gate: benchmark scenarios match their baselines; each metric moves against a
direction and tolerances; regressions fail, improvements pass; JUnit XML names both; baselines and
run folders are read without trusting them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.errors import InputError
from simulator.report.compare import Row, Rule, compare, metrics_of, parse_tolerance, read_baseline
from simulator.report.metrics import BY_NAME, METRICS

ROOT = Path(__file__).resolve().parents[2]
BENCH = sorted((ROOT / "scenarios" / "benchmarks").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("scenario", BENCH, ids=[p.stem for p in BENCH])
def test_benchmark_scenarios_match_their_baselines(scenario, tmp_path):
    out = api.simulate(api.load_scenario(scenario)).write(tmp_path / "run")
    baseline = scenario.parent / "baselines" / f"{scenario.stem}.json"
    result = runner.invoke(app, ["compare", str(baseline), str(out)])
    assert result.exit_code == 0, result.output
    # Every metric the baseline holds was compared, none is new (baselines are current).
    data = json.loads(baseline.read_text())
    assert set(data) == {m.name for m in METRICS if m.name in metrics_of(out)}


def _base() -> dict:
    return {"total_usd": 1000.0, "usd_per_gpu_hour": 2.0, "slo_attainment": 0.95, "tokens_trained": 1e12,
            "gpus": 64, "pue_mean": 1.30, "failures": 3}


def _rows(current: dict, base: dict | None = None, **tol) -> dict[str, Row]:
    return {r.metric: r for r in compare(base or _base(), current, tol)}


def test_direction_decides_regression_or_improvement():
    base = _base()
    # $/GPU-hour 2.00 -> 1.90 (-5%, tolerance 1%): lower is better, so an improvement that passes.
    rows = _rows(dict(base, usd_per_gpu_hour=1.90))
    assert rows["usd_per_gpu_hour"].verdict == "improved" and rows["usd_per_gpu_hour"].ok
    # 2.00 -> 2.10: a regression.
    rows = _rows(dict(base, usd_per_gpu_hour=2.10))
    assert rows["usd_per_gpu_hour"].verdict == "REGRESSION" and not rows["usd_per_gpu_hour"].ok
    # SLO attainment 95% -> 93%: 2 points down against a 1-point absolute tolerance.
    assert _rows(dict(base, slo_attainment=0.93))["slo_attainment"].verdict == "REGRESSION"
    # 95% -> 95.5%: within one point.
    assert _rows(dict(base, slo_attainment=0.955))["slo_attainment"].verdict == "ok"
    # The scenario's own GPU count changing is never an improvement.
    assert _rows(dict(base, gpus=32))["gpus"].verdict == "CHANGED"
    # A node failure more: counts are exact.
    assert _rows(dict(base, failures=4))["failures"].verdict == "REGRESSION"


def test_tolerances_relative_and_absolute():
    base = _base()
    # total cost +0.9%: within the default 1%; +1.1% is not.
    assert _rows(dict(base, total_usd=1009.0))["total_usd"].ok
    assert not _rows(dict(base, total_usd=1011.0))["total_usd"].ok
    # PUE 1.30 -> 1.305: within the absolute 0.01; 1.32 is not.
    assert _rows(dict(base, pue_mean=1.305))["pue_mean"].ok
    assert not _rows(dict(base, pue_mean=1.32))["pue_mean"].ok
    # Overrides: 2% relative; an absolute of $20.
    assert _rows(dict(base, total_usd=1015.0), total_usd=Rule(0.02, 0.0))["total_usd"].ok
    assert _rows(dict(base, total_usd=1015.0), total_usd=Rule(0.0, 20.0))["total_usd"].ok
    assert parse_tolerance("pue_mean=abs:0.02") == ("pue_mean", Rule(0.0, 0.02))
    assert parse_tolerance("total_usd=2%") == ("total_usd", Rule(0.02, 0.0))
    assert parse_tolerance("total_usd=0.5%,abs:100") == ("total_usd", Rule(0.005, 100.0))
    for bad in ("pue_mean=-1", "pue_mean=abc", "pue_mean=", "nonsense=0.1", "pue_mean=inf", "pue_mean=abs:nan"):
        with pytest.raises(InputError):
            parse_tolerance(bad)


def test_missing_and_new_metrics():
    base = _base()
    now = dict(base)
    del now["slo_attainment"]
    now["carbon_kg"] = 12.0
    rows = _rows(now)
    assert rows["slo_attainment"].verdict == "MISSING" and not rows["slo_attainment"].ok
    assert rows["carbon_kg"].verdict == "new" and rows["carbon_kg"].ok
    # A value that is null on both sides (no service served anything) is fine.
    assert _rows({**base, "slo_attainment": None}, {**base, "slo_attainment": None})["slo_attainment"].ok


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_planted_regression_and_improvement_with_junit(tmp_path):
    base = _write(tmp_path / "base.json", _base())
    worse = _write(tmp_path / "worse.json", dict(_base(), usd_per_gpu_hour=2.2))
    better = _write(tmp_path / "better.json", dict(_base(), usd_per_gpu_hour=1.8))
    junit_bad, junit_good = tmp_path / "bad.xml", tmp_path / "good.xml"
    bad = runner.invoke(app, ["compare", str(base), str(worse), "--junit", str(junit_bad)])
    good = runner.invoke(app, ["compare", str(base), str(better), "--junit", str(junit_good)])
    assert bad.exit_code == 1, bad.output
    assert good.exit_code == 0, good.output
    assert "REGRESSION" in bad.output and "improved" in good.output
    for path, expect_failures in ((junit_bad, 1), (junit_good, 0)):
        tree = ET.parse(path).getroot()
        cases = {c.get("name"): c for c in tree.iter("testcase")}
        assert len(cases) == len(_base())                     # one test case per metric
        assert int(tree.get("failures")) == expect_failures
        case = cases["usd_per_gpu_hour"]
        failure = case.find("failure")
        if expect_failures:
            assert failure is not None and failure.get("type") == "REGRESSION"
        else:
            assert failure is None and "improved" in case.findtext("system-out")


def test_run_folder_update_and_folder_of_baselines(tmp_path):
    bench = ROOT / "scenarios" / "benchmarks" / "small-h100-week.yaml"
    runs = tmp_path / "runs"
    runs.mkdir()
    run = api.simulate(api.load_scenario(bench)).write(runs / "small")
    baselines = tmp_path / "baselines"
    baselines.mkdir()
    target = baselines / "small.json"
    assert runner.invoke(app, ["compare", str(target), str(run), "--update"]).exit_code == 0
    written = read_baseline(target)
    assert written["gpus"] == metrics_of(run)["gpus"] and "__scenario__" not in written
    # A folder of baselines against a folder of runs: one suite per scenario in the JUnit file.
    junit = tmp_path / "all.xml"
    result = runner.invoke(app, ["compare", str(baselines), str(runs), "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    suites = [s.get("name") for s in ET.parse(junit).getroot().iter("testsuite")]
    assert suites == ["small"]
    # --update into a folder is bad input, not a traceback.
    result = runner.invoke(app, ["compare", str(baselines), str(run), "--update"])
    assert result.exit_code == 2 and "folder" in result.output


BAD_BASELINES = {
    "nan": ('{"pue_mean": NaN}', "NaN"),
    "infinity": ('{"pue_mean": Infinity}', "Infinity"),
    "overflow": ('{"pue_mean": 1e999}', "overflows"),
    "huge-int": ('{"gpus": ' + "9" * 400 + "}", "overflows"),
    "boolean": ('{"pue_mean": true}', "number or null"),
    "string": ('{"pue_mean": "1.3"}', "number or null"),
    "unknown": ('{"pue_meen": 1.3}', "not a metric dcsim knows"),
    "empty": ("{}", "holds no metric"),
    "list": ("[1, 2]", "must be a JSON mapping"),
    "deep": ("[" * 5000 + "]" * 5000, "nested 5000 levels"),
    "duplicate": ('{"pue_mean": 1.3, "pue_mean": 1.4}', "duplicate key"),
    "not-json": ("{pue_mean: 1.3", "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_BASELINES))
def test_bad_baselines_are_rejected_with_exit_2(tmp_path, case):
    text, expected = BAD_BASELINES[case]
    base = _write(tmp_path / "base.json", text)
    good = _write(tmp_path / "good.json", _base())
    result = runner.invoke(app, ["compare", str(base), str(good)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "outside tolerance" not in result.output


def test_bad_run_folders_are_rejected_with_exit_2(tmp_path):
    base = _write(tmp_path / "base.json", _base())
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "summary.json", {"pue_mean": 1.3, "gpus": True})
    _write(run / "costs.json", [1, 2, 3])
    result = runner.invoke(app, ["compare", str(base), str(run)])
    assert result.exit_code == 2, result.output
    assert "costs.json" in result.output and "mapping" in result.output
    assert "summary.json: gpus" in result.output
    # A folder that is not a run folder, a missing file, a JUnit target that is a folder.
    assert runner.invoke(app, ["compare", str(base), str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["compare", str(tmp_path / "none.json"), str(base)]).exit_code == 2
    assert runner.invoke(app, ["compare", str(base), str(base), "--junit", str(tmp_path)]).exit_code == 2


def test_every_summary_number_has_a_rule():
    """Every number summary.json and costs.json carry (but the seed and the sample interval, which
    only describe how the run was sampled) is a metric with a direction."""
    from simulator.report.results import Costs, Summary

    # text or nested records, not numbers
    exempt = {"scenario", "seed", "seeds", "fabric", "sample_interval_s", "catalog_overrides", "networks",
              "cooling_plants", "operation", "grid_outages", "power_redundancy", "interruptions", "storage",
              "monthly", "scheduling", "sites"}
    summary_fields = set(Summary.__dataclass_fields__) - exempt
    cost_numbers = {"total_usd", "usd_per_gpu_hour", "usd_per_mtoken", "usd_per_mtoken_generated"}
    assert summary_fields <= set(BY_NAME)
    assert cost_numbers <= set(BY_NAME)
    assert set(Costs.__dataclass_fields__) >= cost_numbers
