"""Every shipped scenario validates and runs to its horizon with sane headline numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulator import api

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_the_default_scenario_is_shipped():
    assert ROOT / "scenarios" / "default.yaml" in SHIPPED
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_runs(path):
    result = api.simulate(api.load_scenario(path))
    s = result.summary
    assert isinstance(s, pd.Series) and isinstance(result.costs, pd.Series)
    assert s["jobs_total"] >= 1 and s["tokens_trained"] > 0
    assert s["pue_mean"] >= 1.0
    assert s["peak_facility_power_w"] <= s["power_envelope_w"] * (1 + 1e-9)
    assert result.costs["total_usd"] > 0
    assert len(result.timeseries) == round(s["horizon_s"] / s["sample_interval_s"])
