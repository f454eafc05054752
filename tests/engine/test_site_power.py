"""The site's heat paths and cooling plant in whole runs: rack cooling types against each other,
the water limit, and hourly PUE never below 1."""

from __future__ import annotations

import pytest

from simulator import api


def site(cooling: str, temperature: str = "35C", **cooling_cfg) -> dict:
    return {
        "name": "heat",
        "simulation": {"horizon": "1d", "sample_interval": "1h", "seed": 1},
        "site": {"power_envelope": "2MW", "climate": {"type": "constant", "temperature": temperature,
                                                      "relative_humidity": 0.15}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 4, "count": 4,
                               "cooling": cooling}]},
        "cooling": cooling_cfg,
        "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "10T", "global_batch": 512,
                                    "micro_batch": 4, "seq": 2048, "gpus": 128, "layout": {"tp": 1, "pp": 1}}]},
    }


def test_liquid_and_immersion_beat_rear_doors_beat_room_air_in_the_heat():
    pue = {c: api.simulate(site(c)).summary_dict for c in ("air", "rear-door", "liquid", "immersion")}
    assert pue["immersion"]["pue_mean"] < pue["liquid"]["pue_mean"] < pue["rear-door"]["pue_mean"] \
        < pue["air"]["pue_mean"]
    # Liquid cooling sheds the server fans; immersion has none.
    assert pue["immersion"]["server_fan_energy_j"] == 0.0
    assert pue["liquid"]["server_fan_energy_j"] < 0.1 * pue["air"]["server_fan_energy_j"]
    for s in pue.values():
        assert s["pue_mean"] >= 1.0


def test_a_water_limit_makes_adiabatic_coolers_run_dry():
    plant = {"liquid_plant": {"type": "dry-cooler", "adiabatic": True, "trim_chiller": "air-cooled-90.1-2019"}}
    wet = api.simulate(site("liquid", "40C", **plant))
    ts = wet.timeseries
    assert ts["water_m3_per_s"].max() > 0
    limit = float(ts["water_m3_per_s"].max()) * 3600 / 2          # half the water it wants, per hour
    dry = api.simulate(site("liquid", "40C", **plant, water_limit=f"{limit}m3/h"))
    assert dry.timeseries["water_m3_per_s"].max() == pytest.approx(limit / 3600, rel=1e-9)
    # Less water, more chiller work.
    assert dry.summary_dict["chiller_energy_j"] > wet.summary_dict["chiller_energy_j"]
    assert dry.summary_dict["water_m3"] < wet.summary_dict["water_m3"]
