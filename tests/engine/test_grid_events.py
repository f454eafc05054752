"""Grid outages ridden through on UPS and generators, or not: the probability each redundancy
level buys, diesel burned and billed, and the work a blackout throws away."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import api
from simulator.scenario.facility import PowerChain
from simulator.scenario.redundancy import ride_through_probability

HOUR = 3600.0
KWH = 3.6e6


def test_ride_through_probability_by_redundancy():
    # 4 generators needed, each failing to start 1% of the time.
    n = PowerChain(redundancy={"generators": "N"})
    n1 = PowerChain(redundancy={"generators": "N+1"})
    two_n = PowerChain(redundancy={"generators": "2N"})
    assert ride_through_probability(n) == pytest.approx(0.99 ** 4)
    assert ride_through_probability(n1) == pytest.approx(0.99 ** 5 + 5 * 0.99 ** 4 * 0.01)
    assert ride_through_probability(two_n) == pytest.approx(
        sum(__import__("math").comb(8, k) * 0.99 ** k * 0.01 ** (8 - k) for k in range(4, 9)))
    assert ride_through_probability(PowerChain(redundancy={"generators": "none"})) == 0.0
    # A UPS that cannot bridge the generators' start rides nothing through, but any outage it can
    # carry by itself.
    short_ups = PowerChain(ups_autonomy=5.0, generator_start=10.0)
    assert ride_through_probability(short_ups) == 0.0
    assert ride_through_probability(short_ups, duration_s=4.0) == 1.0


def site(tmp_path, generators: str, **extra) -> api.LoadedScenario:
    (tmp_path / "outages.csv").write_text("hour,outage\n" + "".join(f"{h},{1 if 10 <= h < 12 else 0}\n"
                                                                    for h in range(48)))
    sc = {
        "name": "outage",
        "simulation": {"horizon": "2d", "sample_interval": "15min", "seed": 1},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "20C"},
                 "electricity": {"price": "$0.10/kWh", "carbon": "300g/kWh"},
                 "grid_outages": {"path": "outages.csv", "restart_time": "30min"}},
        "power": {"redundancy": {"generators": generators}, "generator_start_failure": 0.0},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1}], "support": []},
        "costs": {"diesel_price": 1.5},
        "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "10T", "global_batch": 64,
                                    "micro_batch": 4, "seq": 2048, "gpus": 16, "layout": {"tp": 1, "pp": 1}}]},
    }
    sc.update(extra)
    return api.load_scenario(sc, base_dir=tmp_path)


def test_generators_carry_the_outage_and_burn_diesel(tmp_path):
    r = api.simulate(site(tmp_path, "N+1"))
    s, ts = r.summary_dict, r.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int)
    out = (hour >= 10) & (hour < 12)
    assert s["grid_outages"]["ridden_through"] == 1 and s["grid_outages"]["blackouts"] == 0
    assert (ts["grid_power_w"][out] == 0).all()
    np.testing.assert_allclose(ts["generator_power_w"][out], ts["facility_power_w"][out])
    energy_j = float(ts["facility_power_w"][out].sum() * 900.0)
    assert s["generator_energy_j"] == pytest.approx(energy_j)
    litres = energy_j / KWH * 0.27
    assert s["generator_fuel_usd"] == pytest.approx(litres * 1.5)
    assert r.costs_dict["opex_usd"]["generator_fuel"] == pytest.approx(litres * 1.5)
    grid_j = float((ts["facility_power_w"][~out] * 900.0).sum())
    assert s["carbon_kg"] == pytest.approx(grid_j / KWH * 0.3 + litres * 10.21 / 3.785411784)
    assert s["energy_cost_usd"] == pytest.approx(grid_j / KWH * 0.10)
    assert r.jobs.iloc[0]["lost_tokens"] == 0


def test_without_generators_a_blackout_loses_the_work_since_the_checkpoint(tmp_path):
    r = api.simulate(site(tmp_path, "none"))
    s, ts = r.summary_dict, r.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int)
    assert s["grid_outages"]["blackouts"] == 1
    assert s["grid_outages"]["availability"] == pytest.approx(1 - 2 / 48)
    assert (ts["facility_power_w"][(hour >= 10) & (hour < 12)] == 0).all()
    job = r.jobs.iloc[0]
    # No failures section, so no periodic checkpoints: the 10 hours run before the blackout are
    # thrown away; the job is down 2 h dark + 30 min restart + its checkpoint read-back.
    write_s = 1_315_723_264 * 14 / (2 * 5e9)
    assert job["downtime_s"] == pytest.approx(2 * HOUR + 0.5 * HOUR + write_s)
    rate = job["tokens_done"] / (48 * HOUR - job["downtime_s"] - 10 * HOUR)
    assert job["lost_tokens"] == pytest.approx(10 * HOUR * rate, rel=1e-9)
    assert job["failures"] == 0
