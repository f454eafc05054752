"""Energy-aware operation against hand calculations on a 3-day toy site: flexible training paused
in the day's dearest hours (checkpoint first, restore after), demand-response caps, a battery
arbitraging the price, on-site solar and a PPA."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import api
from simulator.engine.operation import flag_hours

HOUR = 3600.0
KWH = 3.6e6
# A price for each hour of the day (USD/kWh): 17-20 the dearest, the rest rising slowly.
PRICES = [0.05 + 0.005 * h for h in range(24)]
PRICES[17:21] = [0.30, 0.32, 0.31, 0.29]
CARBON_G = 300.0
# gpt3-1.3b checkpoint: 1,315,723,264 parameters x (2 bytes bf16 weights + 12 bytes fp32 master
# and Adam moments), written by 2 nodes at 5 GB/s each.
WRITE_S = 1_315_723_264 * 14 / (2 * 5e9)


def toy(tmp_path, operation: dict | None = None, **extra) -> api.LoadedScenario:
    (tmp_path / "price.csv").write_text("hour,value\n" + "".join(f"{h},{p}\n" for h, p in enumerate(PRICES)))
    sc = {
        "name": "toy",
        "simulation": {"horizon": "3d", "sample_interval": "15min", "seed": 1},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "20C"},
                 "electricity": {"price_profile": {"type": "csv", "path": "price.csv"},
                                 "carbon": f"{CARBON_G}g/kWh"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1}], "support": []},
        "workloads": {"training": [{"name": "flex", "model": "gpt3-1.3b", "tokens": "10T", "global_batch": 64,
                                    "micro_batch": 4, "seq": 2048, "gpus": 16, "layout": {"tp": 1, "pp": 1}}]},
    }
    if operation is not None:
        sc["operation"] = operation
    sc.update(extra)
    (tmp_path / "toy.yaml").write_text("")
    return api.load_scenario(sc, base_dir=tmp_path)


def levels(result) -> tuple[float, float]:
    """Facility power with the job running, and with it held (samples wholly inside each)."""
    ts = result.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int) % 24
    return float(ts["facility_power_w"][hour == 10].iloc[0]), float(ts["facility_power_w"][hour == 18].iloc[0])


def test_top_hours_pick_the_dearest_of_each_day():
    prices = np.array(PRICES * 3)
    flagged = flag_hours(prices, np.arange(72.0), None, 4)
    assert np.flatnonzero(flagged).tolist() == [17, 18, 19, 20, 41, 42, 43, 44, 65, 66, 67, 68]
    assert flag_hours(prices, np.arange(72.0), 0.30, 0).sum() == 6       # 0.32 and 0.31, each day
    # Ties go to the earlier hour.
    assert np.flatnonzero(flag_hours(np.ones(24), np.arange(24.0), None, 2)).tolist() == [0, 1]


def test_pausing_in_the_dearest_hours_saves_exactly_the_hand_calculation(tmp_path):
    base = api.simulate(toy(tmp_path))
    flex = api.simulate(toy(tmp_path, {"flexible": {"jobs": ["flex"], "top_hours": 4}}))
    run_w, _ = levels(base)
    _, idle_w = levels(flex)
    assert idle_w < run_w
    # Each day the job is idle from 17:00 (checkpoint written at idle power, then held) to 21:00
    # plus the read-back of the checkpoint: those seconds cost run - idle less.
    per_day_usd = (run_w - idle_w) * (sum(PRICES[17:21]) * HOUR + PRICES[21] * WRITE_S) / KWH
    per_day_j = (run_w - idle_w) * (4 * HOUR + WRITE_S)
    saved = flex.summary_dict["operation"]["policies"]["flexible"]
    assert saved["cost_saved_usd"] == pytest.approx(3 * per_day_usd, rel=1e-9)
    assert saved["energy_saved_j"] == pytest.approx(3 * per_day_j, rel=1e-9)
    assert saved["carbon_saved_kg"] == pytest.approx(3 * per_day_j / KWH * CARBON_G / 1e3, rel=1e-9)
    # Throughput: the job trains at its full rate the rest of the time.
    rate = base.jobs.iloc[0]["tokens_done"] / (72 * HOUR)
    assert saved["tokens_lost"] == pytest.approx(3 * (4 * HOUR + WRITE_S) * rate, rel=1e-9)
    assert saved["pauses"] == 3
    assert flex.jobs.iloc[0]["policy_s"] == pytest.approx(3 * (4 * HOUR + WRITE_S), rel=1e-9)
    # The savings are the difference between the two runs' bills.
    assert saved["cost_saved_usd"] == pytest.approx(base.summary_dict["energy_cost_usd"]
                                                    - flex.summary_dict["energy_cost_usd"], rel=1e-9)
    assert flex.jobs.iloc[0]["lost_tokens"] == 0.0


def test_slowing_caps_the_boards_in_flagged_hours(tmp_path):
    slow = api.simulate(toy(tmp_path, {"flexible": {"top_hours": 4, "action": "slow", "slow_to": 0.5}}))
    ts = slow.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int) % 24
    accel = ts["accelerator_power_w"]
    assert accel[hour == 18].max() <= 16 * 350.0 * (1 + 1e-9)
    assert accel[hour == 10].min() > 16 * 350.0
    saved = slow.summary_dict["operation"]["policies"]["flexible"]
    assert saved["cost_saved_usd"] > 0 and saved["tokens_lost"] > 0 and saved["pauses"] == 0


def test_a_failure_while_held_loses_nothing(tmp_path):
    sc = toy(tmp_path, {"flexible": {"top_hours": 4}},
             failures={"node_mtbf": "6h", "repair_time": "1h", "restart_time": "5min"})
    r = api.simulate(sc)
    job = r.jobs.iloc[0]
    assert job["failures"] > 0
    # Whatever a failure costs, it is never more than the run since the last checkpoint: the
    # policy's own checkpoint resets that, so the lost work stays within one checkpoint interval.
    world_rate = job["tokens_done"] / max(72 * HOUR - job["policy_s"] - job["downtime_s"], 1.0)
    assert job["lost_tokens"] <= job["failures"] * world_rate * 6 * HOUR


def test_demand_response_caps_the_site_in_its_hours(tmp_path):
    # 12 kW from 12:00 to 15:00 each day, otherwise no cap (1 GW).
    (tmp_path / "dr.csv").write_text("hour,cap_kw\n" + "".join(
        f"{h},{12 if 12 <= h < 15 else 1e6}\n" for h in range(24)))
    r = api.simulate(toy(tmp_path, {"demand_response": {"path": "dr.csv"}}))
    ts = r.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int) % 24
    assert (ts["facility_power_w"] <= ts["power_envelope_w"] * (1 + 1e-9)).all()
    assert ts["power_envelope_w"][hour == 13].max() == 12e3
    assert ts["facility_power_w"][hour == 13].max() <= 12e3 * (1 + 1e-9)
    saved = r.summary_dict["operation"]["policies"]["demand_response"]
    assert saved["energy_saved_j"] > 0 and saved["tokens_lost"] > 0


def test_battery_arbitrage_by_hand(tmp_path):
    # 20 kWh / 10 kW, 81% round trip (90% each way), no wear cost, empty at the start: it fills
    # in the day's two cheapest hours (00:00, 01:00) and empties in its two dearest (18:00, 19:00).
    battery = {"capacity": "20kWh", "power": "10kW", "round_trip_efficiency": 0.81, "degradation_cost": 0,
               "initial_charge": 0}
    r = api.simulate(toy(tmp_path, {"battery": battery}))
    ts = r.timeseries
    hour = ((ts["t_s"] - 1.0) // HOUR).astype(int) % 24
    # Day 1: 00:00 charges 10 kWh from the grid (9 kWh stored), 01:00 another 10 (18 stored);
    # 18:00 delivers 10 kWh (11.11 drawn: 6.89 left), 19:00 the 6.2 kWh that remain after losses.
    # Later days start empty again: the same every day.
    charged = 20.0
    delivered = 10.0 + (18.0 - 10.0 / 0.9) * 0.9
    per_day = 10.0 * PRICES[18] + (18.0 - 10.0 / 0.9) * 0.9 * PRICES[19] - 10.0 * (PRICES[0] + PRICES[1])
    saved = r.summary_dict["operation"]["policies"]["battery"]
    assert saved["cost_saved_usd"] == pytest.approx(3 * per_day, rel=1e-9)
    assert saved["carbon_saved_kg"] == pytest.approx(3 * (delivered - charged) * CARBON_G / 1e3, rel=1e-9)
    assert ts["battery_power_w"][hour == 0].min() == pytest.approx(-10e3)
    assert (ts["grid_power_w"] <= ts["power_envelope_w"] * (1 + 1e-9)).all()
    assert (ts["battery_energy_j"] >= -1e-6).all() and (ts["battery_energy_j"] <= 20 * KWH * (1 + 1e-9)).all()


def test_onsite_solar_and_a_ppa_settle_hour_by_hour(tmp_path):
    op = {"onsite": [{"name": "roof", "capacity": "10kW", "profile": "solar"}],
          "ppa": {"capacity": "5kW", "price": "$0.04/kWh", "profile": "flat"}, "residual_mix_carbon": "500g/kWh"}
    r = api.simulate(toy(tmp_path, op))
    ts = r.timeseries
    dt = np.diff(np.concatenate([[0.0], ts["t_s"].to_numpy()]))
    price = ts["price_usd_per_j"].to_numpy()
    # Solar: 10 kW x sin(pi (h - 6) / 12) in daylight, all used (the site draws ~30 kW).
    solar_j = float(np.sum(ts["onsite_power_w"] * dt))
    hour = ((ts["t_s"].to_numpy() - 1.0) // HOUR) % 24
    shape = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, 1)
    assert solar_j == pytest.approx(float(np.sum(10e3 * shape * dt)), rel=1e-9)
    policies = r.summary_dict["operation"]["policies"]
    assert policies["onsite"]["cost_saved_usd"] == pytest.approx(float(np.sum(10e3 * shape * dt * price)), rel=1e-9)
    # PPA: 5 kW flat covers 5 kW of the draw at $0.04/kWh instead of the hourly price; market-based
    # carbon drops by 5 kW at the 500 g/kWh residual mix, location-based not at all.
    assert policies["ppa"]["cost_saved_usd"] == pytest.approx(float(np.sum(5e3 * dt * (price - 0.04 / KWH))),
                                                              rel=1e-9)
    assert policies["ppa"]["carbon_saved_kg"] == pytest.approx(0.0, abs=1e-9)
    grid = ts["grid_power_w"].to_numpy()
    assert r.summary_dict["carbon_kg"] == pytest.approx(float(np.sum(grid * dt)) / KWH * CARBON_G / 1e3, rel=1e-9)
    assert r.summary_dict["carbon_market_kg"] == pytest.approx(float(np.sum((grid - 5e3) * dt)) / KWH * 0.5,
                                                               rel=1e-9)
