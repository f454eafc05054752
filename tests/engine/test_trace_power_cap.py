"""A replayed trace's power counts against the envelope: the controller cannot cap the trace
(it replays what happened) but caps the hand-written work beside it so the site stays within
its contract. Before, it capped as if the trace's GPUs were idle and the site ran 84 of 576
five-minute samples over a 0.70 MW envelope on this scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator import api

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def two_days(envelope: str) -> api.Result:
    sc = yaml.safe_load((SCENARIOS / "trace-philly.yaml").read_text())
    sc["site"]["power_envelope"] = envelope
    sc["simulation"]["horizon"] = "2d"
    return api.simulate(api.load_scenario(sc, base_dir=SCENARIOS))


@pytest.fixture(scope="module")
def runs() -> tuple[api.Result, api.Result]:
    return two_days("0.70MW"), two_days("2.5MW")


def test_the_site_stays_within_its_envelope_with_the_trace_counted(runs):
    tight, _ = runs
    ts = tight.timeseries
    assert (ts.facility_power_w <= ts.power_envelope_w * (1 + 1e-9)).all()


def test_the_hand_written_job_is_capped_where_the_trace_needs_the_room(runs):
    tight, free = runs
    # at 2.5 MW nothing binds (the site peaks near 0.74 MW over these two days)
    assert free.timeseries.facility_power_w.max() > 0.70e6
    assert free.summary["capped_fraction"] == 0.0
    assert tight.summary["capped_fraction"] > 0.0
    capped = tight.timeseries.clock_fraction < free.timeseries.clock_fraction - 1e-6
    # the job slows exactly where the uncapped site would have drawn more than the contract
    over = free.timeseries.facility_power_w > 0.70e6
    assert capped[over].all()


def test_the_trace_itself_runs_at_full_clock(runs):
    tight, free = runs
    assert tight.summary["scheduling"] == free.summary["scheduling"]
