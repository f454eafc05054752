"""Dated scenarios: calendar time, racks delivered and retired, the envelope schedule, price
trends, monthly demand from a CSV and the monthly rows, against hand calculations."""

from __future__ import annotations

import copy
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from simulator import api
from simulator.scenario.calendar import month_edges, parse_when
from simulator.scenario.schema import Simulation

DAY = 86400.0
YEAR = 365 * DAY
# dgx-h100 (catalog): host idle 1500 W, eight H100 SXM at 123 W idle, fans 1973 W at full speed,
# idling at 30% speed (cube law), list price from the catalog.
HOST_IDLE_W = 1500.0
GPU_IDLE_W = 123.0
FAN_IDLE_W = 1973.0 * 0.3 ** 3


def phased(**costs) -> dict:
    """Two groups of one rack of four DGX H100: 'a' from the start, 'b' delivered on 1 Feb and
    retired on 1 Mar 2027; 90 days from 1 Jan 2027, nothing running."""
    return {
        "name": "phased",
        "simulation": {"start": "2027-01-01", "horizon": "90d", "sample_interval": "1h"},
        "site": {"power_envelope": [{"from": "2027-01-01", "power": "1MW"}, {"from": "2027-02-15", "power": "2MW"}],
                 "climate": {"type": "constant", "temperature": "-5C"},
                 "electricity": {"price": "$0.10/kWh", "price_trend": "10%/year"}},
        "cluster": {"racks": [
            {"name": "a", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1},
            {"name": "b", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1,
             "available_from": "2027-02-01", "retire_at": "2027-03-01"}],
            "support": [], "networks": {"storage": None, "frontend": None, "oob": None}},
        "costs": {"residual_value": 0.1, "server_amortisation_years": 4, **costs},
    }


@pytest.fixture(scope="module")
def run():
    return api.simulate(phased())


def test_moments_and_the_start_date():
    assert parse_when("2028-Q1") == dt.datetime(2028, 1, 1)
    assert parse_when("2027-06") == dt.datetime(2027, 6, 1)
    assert parse_when("180d") == 180 * DAY
    assert parse_when("1y") == YEAR                          # a year of a duration is 365 days
    sim = Simulation.model_validate({"start": "2027-03-01", "horizon": "3y"})
    assert (sim.start_day_of_year, sim.start_hour, sim.horizon) == (60, 0.0, 3 * YEAR)
    labels, edges = month_edges(dt.datetime(2027, 1, 1), 90 * DAY)
    assert labels == ["2027-01", "2027-02", "2027-03"]
    assert edges == [0.0, 31 * DAY, 59 * DAY, 90 * DAY]


def test_energy_follows_deliveries_and_retirements(run):
    """Accelerators and hosts draw idle power only while their group is in service: 'a' 90 days,
    'b' 28 days (1 Feb to 1 Mar)."""
    ts = run.timeseries
    dt_s = np.diff(np.concatenate([[0.0], ts["t_s"].to_numpy()]))
    node_days = 4 * 90 + 4 * 28
    accel = float(np.sum(ts["accelerator_power_w"] * dt_s))
    hosts = float(np.sum(ts["host_power_w"] * dt_s))
    fans = float(np.sum(ts["server_fan_power_w"] * dt_s))
    assert accel == pytest.approx(node_days * DAY * 8 * GPU_IDLE_W, rel=1e-9)
    assert hosts == pytest.approx(node_days * DAY * HOST_IDLE_W, rel=1e-9)
    assert fans == pytest.approx(node_days * DAY * FAN_IDLE_W, rel=1e-6)


def test_envelope_schedule_and_price_trend(run):
    ts = run.timeseries
    start = ts["t_s"].to_numpy() - 3600.0
    env = ts["power_envelope_w"].to_numpy()
    assert set(env[start < 45 * DAY]) == {1e6}
    assert set(env[start >= 45 * DAY]) == {2e6}
    price = ts["price_usd_per_j"].to_numpy() * 3.6e6
    hour = 60 * 24
    assert price[hour] == pytest.approx(0.10 * 1.10 ** (hour * 3600.0 / YEAR), rel=1e-12)


def test_capex_is_booked_at_delivery_and_depreciated_while_in_service(run):
    costs = run.costs_dict
    servers = costs["capex_usd"]["servers"]
    # Straight line to a 10% residual over 4 years, for 90 node-days of 'a' and 28 of 'b' out
    # of the 8 nodes' 90 days.
    in_service_years = (4 * 90 + 4 * 28) / 8 / 365
    assert costs["amortised_usd"]["servers"] == pytest.approx(servers * 0.9 / 4 * in_service_years, rel=1e-9)
    booked = {row["group"]: row for row in costs["capex_schedule"]}
    assert booked["b"]["at_s"] == 31 * DAY and booked["a"]["at_s"] == 0.0
    assert booked["b"]["usd"] == pytest.approx(booked["a"]["usd"])
    # GPU-hours count the GPUs in service.
    gpu_hours = 8 * (4 * 90 + 4 * 28) * 24
    assert costs["usd_per_gpu_hour"] == pytest.approx(costs["total_usd"] / gpu_hours)


def test_financing_at_the_cost_of_capital():
    r = api.simulate(phased(cost_of_capital=0.08))
    c = r.costs_dict
    i, n, s = 0.08, 4.0, 0.1
    annuity = (1 - s * (1 + i) ** -n) * i / (1 - (1 + i) ** -n)      # per dollar and year
    in_service_years = (4 * 90 + 4 * 28) / 8 / 365
    assert c["amortised_usd"]["servers"] == pytest.approx(c["capex_usd"]["servers"] * annuity * in_service_years)


def test_monthly_rows(run):
    rows = run.summary_dict["monthly"]
    assert [m["month"] for m in rows] == ["2027-01", "2027-02", "2027-03"]
    assert [m["gpus_installed"] for m in rows] == [32, 64, 32]      # at each month's end
    ts = run.timeseries
    dt_s = np.diff(np.concatenate([[0.0], ts["t_s"].to_numpy()]))
    feb = (ts["t_s"] > 31 * DAY) & (ts["t_s"] <= 59 * DAY)
    assert rows[1]["facility_energy_j"] == pytest.approx(float(np.sum(ts["facility_power_w"][feb] * dt_s[feb])))
    assert sum(m["facility_energy_j"] for m in rows) == pytest.approx(run.summary_dict["facility_energy_j"])
    assert [m["power_envelope_w"] for m in rows] == [1e6, 2e6, 2e6]
    assert "monthly.csv" in run.files()


def test_undated_runs_have_no_monthly_rows():
    sc = phased()
    sc["simulation"] = {"horizon": "2d", "sample_interval": "1h"}
    sc["site"]["power_envelope"] = "1MW"
    sc["cluster"]["racks"][1] = {k: v for k, v in sc["cluster"]["racks"][1].items()
                                 if k not in ("available_from", "retire_at")}
    r = api.simulate(sc)
    assert "monthly" not in r.summary_dict and "monthly.csv" not in r.files()
    assert r.costs_dict["capex_schedule"] == []


@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_monthly_demand_csv_is_followed(tmp_path, scale):
    """Rates of 5, 10 and 20 requests/s in Jan-Mar, times demand_scale; April holds March's."""
    (tmp_path / "demand.csv").write_text("month,rate\n2027-01,5\n2027-02,10\n2027-03,20\n", encoding="utf-8")
    sc = copy.deepcopy(phased())
    sc["simulation"]["horizon"] = "120d"
    sc["cluster"]["racks"] = sc["cluster"]["racks"][:1]
    sc["site"]["power_envelope"] = "1MW"
    sc["workloads"] = {"inference": [{"name": "chat", "model": "llama3-8b", "replicas": 4,
                                      "demand_csv": "demand.csv", "demand_scale": scale}]}
    r = api.simulate(api.load_scenario(sc, base_dir=tmp_path))
    monthly = pd.read_csv(io.StringIO(r.files()["monthly.csv"]))
    rates = monthly["arrival_rate_per_s:chat"].to_numpy()
    # Poisson counts over a month (13M+ requests): relative noise ~3e-4.
    assert rates == pytest.approx([5.0 * scale, 10.0 * scale, 20.0 * scale, 20.0 * scale], rel=0.01)


def test_monthly_csv_columns_are_documented(run):
    from tests.report.test_outputs_doc import documented

    columns = set(pd.read_csv(io.StringIO(run.files()["monthly.csv"])).columns)
    docs = documented("monthly.csv")
    assert columns <= docs
    assert {d for d in docs if not d.endswith(":NAME")} == columns


def test_work_on_retiring_racks_is_requeued_like_a_failure():
    """Two one-rack groups of 16 GPUs; 'b' retires at 12 h. The job on 'b' loses its progress since
    the last checkpoint (hourly), waits for the job on 'a' to finish, and resumes there."""
    job = {"model": "gpt3-1.3b", "tokens": "100B", "global_batch": 256, "seq": 2048, "gpus": 16}
    sc = {
        "name": "retire",
        "simulation": {"start": "2027-01-01", "horizon": "6d", "sample_interval": "1h"},
        "site": {"power_envelope": "1MW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1},
                              {"name": "b", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1,
                               "retire_at": "12h"}]},
        "failures": {"node_mtbf": "1000000d", "checkpoint_interval": "1h", "restart_time": "10min"},
        "workloads": {"training": [{"name": "first", "priority": 1, **job}, {"name": "second", **job}]},
    }
    jobs = api.simulate(sc).jobs.set_index("job")
    first, second = jobs.loc["first"], jobs.loc["second"]
    assert first["status"] == "finished" and second["status"] == "finished"
    assert first["failures"] == 0 and second["failures"] == 1
    rate = first["tokens_done"] / (first["end_s"] - first["start_s"])        # tokens/s on 16 GPUs
    assert 0 < second["lost_tokens"] <= rate * 3600.0 * 1.01                  # at most an interval's work
    # It resumed only once 'first' had freed rack 'a', and redid its lost work there.
    resumed_work_s = (second["tokens_done"] - (rate * 12 * 3600.0 - second["lost_tokens"])) / rate
    assert second["end_s"] >= first["end_s"] + resumed_work_s * 0.99


def test_monthly_arrivals_follow_the_growth_law():
    """10%/month compounded (a month = 365.25/12 d): a calendar month's mean rate is the base rate
    times the mean of (1.1)^(t/month) over it, (f(end) - f(start)) / (k (end - start))."""
    sc = copy.deepcopy(phased())
    sc["cluster"]["racks"] = sc["cluster"]["racks"][:1]
    sc["site"]["power_envelope"] = "1MW"
    sc["workloads"] = {"inference": [{"name": "chat", "model": "llama3-8b", "replicas": 4,
                                      "arrival_rate": "5/s", "growth": "10%/month"}]}
    rows = api.simulate(sc).summary_dict["monthly"]
    month = 365.25 * DAY / 12
    k = np.log(1.1) / month
    for row in rows:
        a, b = row["start_s"], row["end_s"]
        expected = 5.0 * (np.exp(k * b) - np.exp(k * a)) / (k * (b - a))
        assert row["arrival_rate_per_s"]["chat"] == pytest.approx(expected, rel=0.005)


def test_a_service_on_retired_racks_stops_serving():
    """A service pinned to a group that retires at 12 h serves before and queues after (its
    racks are gone; a pinned service has nowhere else to go); the group draws nothing after."""
    sc = copy.deepcopy(phased())
    sc["simulation"]["horizon"] = "2d"
    sc["site"]["power_envelope"] = "1MW"
    sc["cluster"]["racks"][1] = {"name": "b", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1,
                                 "retire_at": "12h"}
    sc["workloads"] = {"inference": [{"name": "chat", "model": "llama3-8b", "replicas": 4, "arrival_rate": "5/s",
                                      "rack_group": "b"}]}
    ts = api.simulate(sc).timeseries
    before, after = ts["t_s"] <= 12 * 3600, ts["t_s"] > 13 * 3600
    assert (ts.loc[before, "requests_served"] > 0).all()
    assert (ts.loc[after, "requests_served"] == 0).all()
    # Only group 'a' (4 nodes) draws power after the retirement: its idle accelerators.
    assert ts.loc[after, "accelerator_power_w"].to_numpy() == pytest.approx(4 * 8 * GPU_IDLE_W)


def test_work_held_back_by_the_envelope_starts_when_it_rises():
    """50 kW cannot run 64 GPUs (over 40 kW of accelerators alone); the envelope rises to 2 MW on
    2027-01-20, 19 days after the start: the queued job starts then, not at the next job event
    (there is none here, so before the fix it never started)."""
    sc = {"name": "step", "simulation": {"start": "2027-01-01", "horizon": "40d", "sample_interval": "1h"},
          "site": {"climate": "temperate", "power_envelope": [{"from": "2027-01-01", "power": "50kW"},
                                                              {"from": "2027-01-20", "power": "2MW"}]},
          "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 4, "count": 2}]},
          "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "5B", "global_batch": 64,
                                      "seq": 2048, "gpus": 64}]}}
    job = api.simulate(sc).jobs.set_index("job").loc["j"]
    assert job["submit_s"] == 0.0
    assert job["start_s"] == pytest.approx(19 * 86400.0)
    assert job["status"] == "finished"
