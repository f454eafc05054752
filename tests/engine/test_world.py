"""End-to-end engine behaviour on tiny scenarios with hand-computable answers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulator import api

HOUR = 3600.0


def base_scenario(**overrides) -> dict:
    """One DGX H100 in one air-cooled rack at a constant -5 C, no jobs, one hour; no support
    servers and only the compute fabric."""
    sc = {
        "name": "tiny",
        "simulation": {"horizon": "1h", "sample_interval": "5min", "seed": 1},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "-5C"},
                 "electricity": {"price": "$0.10/kWh", "carbon": "400g/kWh"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}],
                    "support": [], "networks": {"storage": None, "frontend": None, "oob": None}},
    }
    sc.update(overrides)
    return sc


def training_scenario(envelope: str = "1MW", horizon: str = "2d", gpus: int = 16, tokens: str = "2B") -> dict:
    sc = base_scenario()
    sc["simulation"] = {"horizon": horizon, "sample_interval": "5min", "seed": 3}
    sc["site"]["power_envelope"] = envelope
    sc["cluster"]["racks"][0]["nodes_per_rack"] = 2
    sc["workloads"] = {"training": [{
        "name": "job", "model": "gpt3-350m", "tokens": tokens, "global_batch": 64, "micro_batch": 4,
        "seq": 2048, "gpus": gpus, "layout": {"tp": 1, "pp": 1}, "precision": "bf16-mixed",
    }]}
    return sc


def energy(frame, column: str) -> float:
    t = frame["t_s"].to_numpy()
    dt = np.diff(np.concatenate([[0.0], t]))
    return float(np.sum(frame[column].to_numpy() * dt))


def test_idle_node_power_stack_by_hand():
    r = api.simulate(base_scenario())
    ts = r.timeseries
    assert len(ts) == 12
    # IT: host idle 1500 W + 8 x 123 W idle GPUs + fans at 30% speed (1973 W x 0.3^3) + network
    # (1 leaf switch 750 W + 4 twin-port optics of 17 W at its end of the 8 NIC links; the
    # node-end optics draw from the node).
    network = 750.0 + 4 * 17.0
    fans_idle = 1973.0 * 0.3 ** 3
    it = 1500.0 + 8 * 123.0 + fans_idle + network
    assert ts["it_power_w"].iloc[0] == pytest.approx(it)
    # Losses: PDU 98.5%, UPS rated at peak IT / 0.8 x 5/4 (N+1 of 4 modules) on its curve.
    peak_it = 3400.0 + 8 * 700.0 + 1973.0 * 0.8 ** 3 + network
    ups_out = it / 0.985
    load = ups_out / (peak_it / 0.8 * 1.25)
    ups_eff = 0.86 + (load - 0.1) / 0.15 * (0.93 - 0.86)
    # Cooling: air handlers move the room heat (5% of it), which joins the PDU and UPS losses in
    # the chilled water; at -5 C the free-cooling coils (1 C water) take it all at an airflow
    # of (21 - 9) / (21 + 5) of design: fans 2% x that cubed; pumps 22 W/gpm at a 6 K rise.
    handlers = 0.05 * it
    heat = it + handlers + (ups_out / ups_eff - it)
    cooling = handlers + 0.02 * heat * (12 / 26) ** 3 + heat * 22.0 / (6.309e-5 * 1000 * 4186 * 6)
    assert ts["cooling_power_w"].iloc[0] == pytest.approx(cooling)
    assert ts["chiller_power_w"].iloc[0] == 0.0
    facility = (ups_out / ups_eff + cooling) / 0.99
    assert ts["facility_power_w"].iloc[0] == pytest.approx(facility)
    assert r.summary["pue_mean"] == pytest.approx(facility / it)
    # The bill: facility energy over one hour at $0.10/kWh; carbon at 400 g/kWh.
    assert r.summary["energy_cost_usd"] == pytest.approx(facility / 1000 * 0.10)
    assert r.summary["carbon_kg"] == pytest.approx(facility / 1000 * 0.4)


def test_energy_is_conserved():
    r = api.simulate(training_scenario())
    ts = r.timeseries
    s = r.summary
    parts = ["it_power_w", "losses_power_w", "cooling_power_w", "other_power_w"]
    assert sum(energy(ts, c) for c in parts) == pytest.approx(s["facility_energy_j"], rel=1e-9)
    it_parts = ["accelerator_power_w", "host_power_w", "server_fan_power_w", "support_power_w", "network_power_w"]
    assert sum(energy(ts, c) for c in it_parts) == pytest.approx(s["it_energy_j"], rel=1e-9)
    assert energy(ts, "facility_power_w") == pytest.approx(s["facility_energy_j"], rel=1e-12)
    assert (ts["pue"] >= 1.0).all()
    assert s["jobs_finished"] == 1


def test_job_energy_within_it_energy_and_positive():
    r = api.simulate(training_scenario())
    job = r.jobs.iloc[0]
    assert 0 < job["energy_j"] < r.summary["it_energy_j"]


def test_accelerator_power_counts_busy_and_idle_boards():
    # 8 of the 16 H100s train at the plan's board power P; the other 8 idle at 123 W.
    from simulator.engine.world import World

    world = World(api.load_scenario(training_scenario(gpus=8)))
    board_w = world.jobs[0].plan.nominal()[1]
    assert 123.0 < board_w <= 700.0
    world.run()
    first = world.recorder.power[0, 0]          # accelerator_power_w of the first sample
    assert first == pytest.approx(8 * board_w + 8 * 123.0)


def test_training_time_matches_step_time_times_steps():
    r = api.simulate(training_scenario())
    job = r.jobs.iloc[0]
    steps = np.ceil(2e9 / (64 * 2048))
    assert job["end_s"] - job["start_s"] == pytest.approx(steps * job["step_time_s"], rel=1e-6)
    assert job["tokens_done"] == pytest.approx(steps * 64 * 2048)


def test_envelope_is_never_exceeded_and_capping_slows_the_job():
    free = api.simulate(training_scenario())
    # 85% of the uncapped peak: the job starts (it fits at the lowest cap) but runs capped.
    tight = f"{free.summary['peak_facility_power_w'] * 0.85:.0f}W"
    capped = api.simulate(training_scenario(envelope=tight))
    ts = capped.timeseries
    assert (ts["facility_power_w"] <= capped.summary["power_envelope_w"] * (1 + 1e-9)).all()
    assert capped.summary["capped_fraction"] > 0
    assert ts["clock_fraction"].min() < 1.0
    assert capped.jobs.iloc[0]["end_s"] > free.jobs.iloc[0]["end_s"]


def test_same_seed_same_bytes(tmp_path):
    sc = training_scenario()
    sc["site"]["climate"] = "temperate"
    a = api.simulate(copy.deepcopy(sc)).files()
    b = api.simulate(copy.deepcopy(sc)).files()
    for name in ("summary.json", "costs.json", "report.html"):
        assert a[name] == b[name], name
    pa = api.simulate(copy.deepcopy(sc)).write(tmp_path / "a")
    pb = api.simulate(copy.deepcopy(sc)).write(tmp_path / "b")
    for name in ("timeseries.parquet", "jobs.parquet", "progress.parquet"):
        assert (pa / name).read_bytes() == (pb / name).read_bytes(), name


def test_different_seed_changes_the_weather():
    sc = base_scenario()
    sc["site"]["climate"] = "temperate"
    a = api.simulate(copy.deepcopy(sc)).timeseries["ambient_c"]
    sc["simulation"]["seed"] = 2
    b = api.simulate(sc).timeseries["ambient_c"]
    assert not np.allclose(a, b)


def test_queued_job_waits_for_nodes():
    sc = training_scenario(gpus=16, tokens="8B")        # runs ~30 min on both nodes
    second = dict(sc["workloads"]["training"][0], name="second", start="10min", tokens="1B")
    sc["workloads"]["training"].append(second)
    r = api.simulate(sc)
    first, later = r.jobs.iloc[0], r.jobs.iloc[1]
    assert first["end_s"] > 600.0
    assert later["submit_s"] == pytest.approx(600.0)
    assert later["start_s"] == pytest.approx(first["end_s"])


def test_write_is_atomic_and_complete(tmp_path):
    r = api.simulate(base_scenario())
    out = r.write(tmp_path / "run")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["summary.json", "costs.json", "timeseries.parquet", "jobs.parquet",
                            "services.parquet", "progress.parquet", "scenario.json", "report.html",
                            ".dcsim-output"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
