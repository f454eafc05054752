"""The sweep table: only the columns of the workloads present, means and spreads over seeds,
human numbers with units, axis values whole, failed variants with their error."""

from __future__ import annotations

import math

from simulator.sweep.grid import Variant
from simulator.sweep.html import sweep_html
from simulator.sweep.table import display, sweep_frame

AXIS = "workloads.inference[0].gpus_per_replica"


def _result(training: bool, serving: bool, total_usd: float, slo: float = 0.9) -> dict:
    summary = {"jobs_total": 1 if training else 0, "services_total": 1 if serving else 0,
               "tokens_trained": 2e9 if training else 0.0, "slo_attainment_min": slo if serving else None,
               "peak_facility_power_w": 1.5e6, "warnings": [{"kind": "x", "message": "y"}]}
    costs = {"total_usd": total_usd, "usd_per_mtoken": 0.5 if training else math.nan}
    return {"summary": summary, "costs": costs}


def test_serving_sweep_has_no_training_columns_and_human_numbers():
    variants = [Variant(0, {AXIS: 4}, {}), Variant(1, {AXIS: 8}, {})]
    results = [_result(False, True, 1.196e8), {"error": "no layout fits", "kind": "input"}]
    frame = sweep_frame(variants, results, {AXIS: [4, 8]})
    assert "tokens_trained" not in frame.columns and "usd_per_mtoken" not in frame.columns
    assert "slo_attainment_min" in frame.columns
    assert list(frame[AXIS]) == ["4", "8"]
    assert list(frame["status"]) == ["ok", "failed"] and frame["error"][1] == "no layout fits"
    columns, rows, _ = display(frame, {AXIS: [4, 8]})
    assert AXIS in columns  # the whole path, never cut
    cell = dict(zip(columns, rows[0], strict=True))
    assert cell["total cost"] == "$120M"                 # not 1.196e+08
    assert cell["peak facility power"] == "1.50 MW"
    assert cell["worst service's SLO attainment"] == "90.0%"
    assert cell["warnings"] == "1"
    assert rows[1][-1] == "failed: no layout fits" and rows[1][2] == "—"


def test_training_sweep_has_no_serving_columns():
    frame = sweep_frame([Variant(0, {}, {})], [_result(True, False, 10.0)], {})
    assert "tokens_trained" in frame.columns and "slo_attainment_min" not in frame.columns
    assert "requests_served" not in frame.columns


def test_replications_give_mean_and_sample_spread():
    variants = [Variant(0, {"a": 1}, {}, r) for r in range(3)]
    results = [_result(True, False, usd) for usd in (100.0, 200.0, 300.0)]
    frame = sweep_frame(variants, results, {"a": [1]})
    assert len(frame) == 1 and frame["replicates"][0] == 3
    assert frame["total_usd"][0] == 200.0
    assert frame["total_usd_std"][0] == 100.0   # sqrt(((-100)^2 + 0 + 100^2) / 2)
    columns, rows, _ = display(frame, {"a": [1]})
    assert dict(zip(columns, rows[0], strict=True))["total cost"] == "$200.00 ± $100.00"


def test_sweep_html_plots_each_axis():
    variants = [Variant(i, {"x": x, "y": y}, {}) for i, (x, y) in enumerate([(1, "a"), (1, "b"), (2, "a"), (2, "b")])]
    results = [_result(True, False, 10.0 * (i + 1)) for i in range(4)]
    frame = sweep_frame(variants, results, {"x": [1, 2], "y": ["a", "b"]})
    page = sweep_html(frame, {"x": [1, 2], "y": ["a", "b"]}, "t")
    assert page.count("<img src=\"data:image/png;base64,") == 2
    assert "<h2>x</h2>" in page and "<h2>y</h2>" in page
