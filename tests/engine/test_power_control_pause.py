"""A job the power controller paused is weighed as running at the next choice, so it is not
unpaused at full power when the envelope only fits the site idle (found by tests/test_properties.py:
a hot-humid afternoon, one 8-GPU job, an envelope that fits the idle site but not the job)."""

from __future__ import annotations

from simulator import api

SCENARIO = {
    "name": "pause", "failures": {"node_mtbf": "2h", "repair_time": "1h", "restart_time": "10min"},
    "simulation": {"horizon": "12h", "sample_interval": "5min", "seed": 0, "start_day_of_year": 1},
    "site": {"power_envelope": "44000W", "climate": "hot-humid", "electricity": {"price": "$0.05/kWh"}},
    "cluster": {"racks": [{"name": "g0", "node": "dgx-h100", "nodes_per_rack": 2, "count": 3, "cooling": "air"}]},
    "cooling": {"other_overhead": "5000W"},
    "workloads": {"training": [{"name": "job-0", "model": "gpt3-760m", "seq": 512, "rack_group": "g0",
                                "precision": "bf16-mixed", "tokens": 1e10, "gpus": 8, "layout": "auto",
                                "global_batch": 16}]},
}


def test_a_paused_job_stays_paused_while_it_does_not_fit(tmp_path):
    result = api.simulate(api.load_scenario(SCENARIO, base_dir=tmp_path))
    ts = result.timeseries
    assert (ts["facility_power_w"] <= 44000 * (1 + 1e-9)).all()
    assert result.summary_dict["capped_fraction"] > 0
    assert not [w for w in result.summary_dict["warnings"] if w["kind"] == "envelope-exceeded"]
