"""benchmarks/accuracy_serving.py: at least 20 checked rows over two accelerators and three model
sizes, and every group's mean and max error within what the README quotes."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.accuracy_serving import all_cases, summarise

# (mean, max) absolute relative error the README's accuracy table quotes, per group and role.
QUOTED = {
    ("trtllm-1.0-max-throughput", "check"): (0.115, 0.42),
    ("nim-closed-loop", "check"): (0.105, 0.315),
    ("nim-closed-loop", "calibration"): (0.005, 0.005),
    ("trtllm-batch1", "check"): (0.135, 0.26),
    ("trtllm-v0.5-ttft", "check"): (0.20, 0.44),
    ("splitwise-vllm-a100", "check"): (0.135, 0.315),
    ("splitwise-vllm-h100", "check"): (0.235, 1.07),
    ("splitwise-vllm-h100", "calibration"): (0.005, 0.005),
}


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return list(all_cases())


def test_enough_rows_over_two_accelerators_and_three_model_sizes(cases):
    table = pd.DataFrame([c for c in cases if c["group"] == "trtllm-1.0-max-throughput"])
    assert len(table) >= 20
    assert {"h100-sxm", "h200-sxm"} <= {c.split()[1] for c in table.case}
    assert {"8B", "70B", "405B"} <= {c.split()[0] for c in table.case}
    assert all(c["source"] and c["role"] in ("check", "calibration") for c in cases)


def test_errors_within_the_quoted_bounds(cases):
    summary = summarise(cases).set_index(["group", "role"])
    assert set(summary.index) == set(QUOTED)
    for key, (mean, worst) in QUOTED.items():
        row = summary.loc[key]
        assert row.mean_error <= mean and row.max_error <= worst, (key, row.mean_error, row.max_error)
    # The targets for the maximum-throughput table: within 15% on average, 25% on 4 rows in 5.
    table = summary.loc[("trtllm-1.0-max-throughput", "check")]
    assert table.mean_error <= 0.15 and table.within_25pct >= 0.8
