"""Failures by cause, blast radius, planned maintenance and the storage tier, against hand
calculations and closed forms (engine/failure_classes.py, maintenance.py, storage.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import api
from simulator.domain.catalog import shipped_catalog
from simulator.engine.failure_classes import resolve_failures, units_of
from simulator.engine.failures import CheckpointPlan, plan_checkpoint
from simulator.engine.maintenance import window_starts
from simulator.engine.planning import plan_run
from simulator.engine.storage import StorageShare, checkpoint_timing, shared_finish_s
from simulator.scenario.failures import Failures, Maintenance
from simulator.scenario.storage import Storage

DAY = 86400.0


def scenario(failures: dict | None, *, racks: int = 3, spares: int = 2, jobs: int = 1, gpus: int = 64,
             tokens: str = "1.5T", horizon: str = "20d", extra: dict | None = None) -> dict:
    sc = {
        "name": "causes",
        "simulation": {"horizon": horizon, "sample_interval": "1h", "seed": 7},
        "site": {"power_envelope": "5MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 4, "count": racks,
                               "spare_nodes": spares}]},
        "workloads": {"training": [{
            "name": f"job{i}", "model": "gpt3-1.3b", "tokens": tokens, "global_batch": 256, "micro_batch": 4,
            "seq": 2048, "gpus": gpus, "layout": {"tp": 1, "pp": 1}, "precision": "bf16-mixed"}
            for i in range(jobs)]},
        **(extra or {}),
    }
    if failures is not None:
        sc["failures"] = failures
    return sc


# ----------------------------------------------------------------------------- the fleet catalog
def test_llama3_fleet_adds_up_to_its_published_interruption_rate():
    # 419 unexpected interruptions in 54 days on 2,048 servers (Llama 3, section 3.3.4)
    fleet = shipped_catalog().fleets.get("llama3-production")
    total = sum(c.rate for c in fleet.classes)
    assert total == pytest.approx(419 / (54 * 2048) * 1000, rel=1e-3)
    gpu = next(c for c in fleet.classes if c.name == "gpu")
    hbm = next(c for c in fleet.classes if c.name == "hbm")
    # GPU-category shares (30.1 + 4.5 + 4.1 + 1.4 + 1.4) and HBM3 (17.2) sum to the 58.7% the text quotes
    assert (gpu.rate + hbm.rate) / total == pytest.approx(0.587, abs=2e-3)


def test_fleet_resolves_to_rates_per_node_second_and_the_job_mtbf():
    model = resolve_failures(Failures(fleet="llama3-production", restart_time=300.0), shipped_catalog())
    per_node_s = 419 / (54 * 2048) / DAY
    assert sum(c.rate_per_node_s for c in model.classes) == pytest.approx(per_node_s, rel=1e-3)
    # a 16,384-GPU job (2,048 nodes) sees one interruption every 54 d / 419 = 3.09 h
    assert model.node_mtbf_s / 2048 == pytest.approx(54 * DAY / 419, rel=1e-3)
    assert all(c.restart_s == 300.0 for c in model.classes)
    assert {c.name: c.repair_s for c in model.classes}["software"] == 0.0
    assert model.scoped_classes == ()


def test_the_single_node_class_keeps_its_mtbf_exactly():
    model = resolve_failures(Failures(node_mtbf=10 * DAY), shipped_catalog())
    assert not model.by_cause and model.node_gap_s(8) == 10 * DAY / 8
    assert [c.name for c in model.classes] == ["node"]


def test_units_by_scope():
    spans = [(0, 8, 4), (8, 6, 4)]               # two rack groups: 2 racks of 4, then racks of 4 and 2
    racks = units_of("rack", spans, 5)
    assert [list(u) for u in racks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13]]
    leaves = units_of("leaf", spans, 5)
    assert [list(u) for u in leaves] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13]]
    assert [list(u) for u in units_of("site", spans, 5)] == [list(range(14))]


# ----------------------------------------------------------------------------- counts by cause
@pytest.fixture(scope="module")
def by_cause():
    classes = [{"name": "gpu", "rate": 400.0, "repair_time": "1h"},
               {"name": "software", "rate": 200.0, "repair_time": "0s"}]
    return api.simulate(scenario({"classes": classes, "restart_time": "5min"}))


def test_interruptions_per_cause_match_rate_x_nodes_x_time(by_cause):
    job = by_cause.jobs.iloc[0]
    counts = by_cause.summary_dict["interruptions"]["by_cause"]
    end = min(job["end_s"], 20 * DAY) if math.isfinite(job["end_s"]) else 20 * DAY
    exposed = end - job["start_s"] - job["downtime_s"]          # failures while restarting are absorbed
    for name, rate in (("gpu", 400.0), ("software", 200.0)):
        expected = rate / 1000.0 / DAY * 8 * exposed              # 64 GPUs = 8 nodes
        # Poisson: within 4 standard deviations of its mean (fixed seed)
        assert abs(counts[name] - expected) <= 4 * math.sqrt(expected), (name, counts[name], expected)
    assert sum(counts.values()) == by_cause.summary_dict["failures"] == job["failures"]
    assert by_cause.summary_dict["interruptions"]["planned"] == 0


def test_interruptions_by_cause_reach_the_report(by_cause):
    from simulator.report.results import Summary
    from simulator.report.tables import interruptions_table

    table = interruptions_table(by_cause.summary_dict)
    assert table is not None
    causes = [row[0] for row in table.rows]
    assert causes[:2] == ["gpu", "software"] and "planned maintenance" in causes
    summary = Summary.from_dict(by_cause.summary_dict)
    assert summary.interruptions == by_cause.summary_dict["interruptions"]


def test_rack_failure_stops_every_job_on_the_rack():
    # One rack of 4 nodes, two 2-node jobs on it, no spares: every rack event takes both down.
    classes = [{"name": "rack-power", "rate": 2000.0, "scope": "rack", "repair_time": "1h"}]
    run = api.simulate(scenario({"classes": classes, "restart_time": "5min"}, racks=1, spares=0, jobs=2,
                                gpus=16, tokens="100B", horizon="5d"))
    a, b = run.jobs.iloc[0], run.jobs.iloc[1]
    assert a["failures"] > 0
    assert a["failures"] == b["failures"]
    assert run.summary_dict["interruptions"]["by_cause"] == {"rack-power": a["failures"] + b["failures"]}
    # with no free node, each event holds both jobs for the whole repair hour
    assert a["downtime_s"] >= a["failures"] * 3600.0


# ----------------------------------------------------------------------------- goodput: closed form
def test_goodput_matches_the_closed_form_with_restarts():
    # One 8-node job, Poisson failures at 1/h per job (1/(8 h) per node), a fixed checkpoint
    # interval tau, write delta, restart R = restart + read-back (as long as the write), spare
    # nodes at once. Each cycle of tau + delta must run without a failure; the expected wall time
    # per completed cycle is (exp(lambda c) - 1)(1/lambda + R) (Daly 2006 with no failure during
    # the restart), so the useful share of the wall time is tau over that.
    failures = {"classes": [{"name": "gpu", "rate": 3000.0, "repair_time": "0s"}], "restart_time": "300s",
                "node_checkpoint_bw": "2GB/s", "storage_bw": "1GB/s", "checkpoint_interval": "600s"}
    sc = scenario(failures, tokens="3T", horizon="60d")
    base = scenario(None, tokens="3T", horizon="60d")
    job = api.simulate(sc).jobs.iloc[0]
    free = api.simulate(base).jobs.iloc[0]
    assert job["status"] == "finished"
    lam = 3000.0 / 1000.0 / DAY * 8
    plan = plan_run(api.load_scenario(sc)).jobs[0].checkpoint
    delta = plan.write_s
    tau = 600.0
    restart = 300.0 + plan.restore_s
    cycle = (math.exp(lam * (tau + delta)) - 1.0) * (1.0 / lam + restart)
    expected = tau / cycle
    measured = (free["end_s"] - free["start_s"]) / (job["end_s"] - job["start_s"])
    assert job["failures"] > 250
    assert measured == pytest.approx(expected, rel=0.03), (measured, expected)


# ----------------------------------------------------------------------------- maintenance
def test_rolling_windows_spread_over_the_period():
    m = Maintenance(every=3 * DAY, duration=4 * 3600.0, scope="rack", rolling=True)
    assert window_starts(m, 3, 6 * DAY) == [(0.0, 0), (DAY, 1), (2 * DAY, 2), (3 * DAY, 0), (4 * DAY, 1),
                                            (5 * DAY, 2)]
    at_once = Maintenance(every=3 * DAY, duration=3600.0, rolling=False, first=DAY)
    assert window_starts(at_once, 2, 6 * DAY) == [(DAY, 0), (DAY, 1), (4 * DAY, 0), (4 * DAY, 1)]


def test_site_maintenance_drains_without_losing_work():
    # Windows at 1, 3, 5, 7 and 9 days hold the whole site for 4 h; the job checkpoints, waits for
    # the window to close, restarts (10 min) and reads its checkpoint back.
    extra = {"maintenance": {"every": "2d", "duration": "4h", "scope": "site", "rolling": False, "first": "1d"}}
    sc = scenario({"classes": [{"name": "gpu", "rate": 0.0}], "restart_time": "10min"}, tokens="5T",
                  horizon="10d", extra=extra)
    run = api.simulate(sc)
    job = run.jobs.iloc[0]
    plan = plan_run(api.load_scenario(sc)).jobs[0].checkpoint
    assert run.summary_dict["interruptions"] == {"unexpected": 0, "by_cause": {}, "planned": 5}
    assert job["failures"] == 0 and job["lost_tokens"] == 0
    assert job["downtime_s"] == pytest.approx(5 * (4 * 3600.0 + 600.0 + plan.write_s + plan.restore_s), rel=1e-6)


# ----------------------------------------------------------------------------- storage
def store(**kw) -> Storage:
    return Storage(capacity=1e15, write_bw=kw.pop("write_bw", 100e9), read_bw=kw.pop("read_bw", 200e9), **kw)


def test_sync_and_async_checkpoint_stalls_by_hand():
    size = 2.45e12                                 # 175B params x 14 bytes
    sync = checkpoint_timing(size, 48, 5e9, store())
    assert sync.stall_s == pytest.approx(size / 100e9) and sync.drain_s == 0.0     # 48 x 5 GB/s > 100 GB/s
    assert sync.read_s == pytest.approx(size / 200e9)
    nvme = checkpoint_timing(size, 48, 5e9, store(checkpoint_mode="async", local={"write_bw_per_node": 20e9}))
    assert nvme.stall_s == pytest.approx(size / (48 * 20e9)) and nvme.drain_s == pytest.approx(size / 100e9)
    host = checkpoint_timing(size, 48, 5e9, store(checkpoint_mode="async", copy_bw_per_node=50e9))
    assert host.stall_s == pytest.approx(size / (48 * 50e9))


def test_async_drain_longer_than_the_interval_stalls_the_job():
    f = Failures(checkpoint_interval=10.0)
    plan = plan_checkpoint(175e9, 14.0, 48, 264 * DAY, f, store(checkpoint_mode="async"))
    stall = 2.45e12 / (48 * 50e9)
    assert plan.write_s == pytest.approx(stall + (2.45e12 / 100e9 - 10.0))
    assert plan.restore_s == pytest.approx(2.45e12 / 200e9)


def test_two_jobs_checkpointing_together_take_twice_as_long():
    size, bw = 1e12, 100e9
    alone = shared_finish_s([size], [0.0], [math.inf], bw)
    both = shared_finish_s([size, size], [0.0, 0.0], [math.inf, math.inf], bw)
    assert alone == pytest.approx([10.0])
    assert both == pytest.approx([20.0, 20.0])
    # the second starts 5 s late: 5 s alone (500 GB), then 50 GB/s each: the first ends at 15 s,
    # the second has 500 GB left at 15 s and finishes alone at 20 s
    assert shared_finish_s([size, size], [0.0, 5.0], [math.inf, math.inf], bw) == pytest.approx([15.0, 20.0])
    # a job capped at 20 GB/s by its nodes leaves 80 GB/s to the other
    assert shared_finish_s([size, size], [0.0, 0.0], [20e9, math.inf], bw) == pytest.approx([50.0, 12.5])


def test_storage_power_and_capex_reach_the_outputs():
    extra = {"storage": {"capacity": "240PB", "write_bw": "2TB/s", "read_bw": "7TB/s", "power": "500kW",
                         "capex": "$50M", "source": "test"}}
    with_store = api.simulate(scenario(None, tokens="10B", horizon="1d", extra=extra))
    without = api.simulate(scenario(None, tokens="10B", horizon="1d"))
    gap = with_store.summary_dict["support_energy_j"] - without.summary_dict["support_energy_j"]
    assert gap == pytest.approx(500e3 * DAY, rel=1e-6)
    items = with_store.costs_dict["capex_usd"]
    assert items["support"] - without.costs_dict["capex_usd"]["support"] == pytest.approx(50e6)
    st = with_store.summary_dict["storage"]
    assert st["write_bw_bytes_per_s"] == 2e12
    assert np.isfinite(st["dataset_read_share"]) and st["dataset_read_share"] > 0


class _Job:
    """The part of a training job StorageShare uses."""

    def __init__(self, name: str, checkpoint: CheckpointPlan):
        self.name, self.checkpoint, self.booked = name, checkpoint, []

    def book(self, now: float) -> None:
        self.booked.append(now)


def test_jobs_running_together_share_the_storage_on_average():
    # Each job writes 1 TB every 990 s of running time (10 s alone at 100 GB/s): it keeps the
    # store busy 10 / 1000 = 1% of the time. With a second such job the first's write gets
    # 100 GB/s x (1 - 0.01) = 99 GB/s: 10.101 s. Alone again, 10 s.
    alone = CheckpointPlan(1e12, write_s=10.0, interval_s=990.0, job_mtbf_s=1e9)
    share = StorageShare(store(write_bw=100e9))
    a, b = _Job("a", alone), _Job("b", alone)
    share.apply([a], 0.0)
    assert a.checkpoint.write_s == 10.0 and a.booked == []
    share.apply([a, b], 5.0)
    assert a.checkpoint.write_s == pytest.approx(1e12 / (100e9 * 0.99))
    assert b.checkpoint.write_s == pytest.approx(1e12 / (100e9 * 0.99)) and a.booked == [5.0]
    share.apply([a], 9.0)
    assert a.checkpoint.write_s == pytest.approx(10.0) and a.booked == [5.0, 9.0]
    # async writes stall only for the local copy: nothing shared
    assert StorageShare(store(checkpoint_mode="async")).bw is None


def test_plan_sensitivity_scales_every_class_of_a_fleet():
    from simulator.plan.sensitivity import _perturbations

    raw = scenario({"fleet": "llama3-production"}, tokens="10B", horizon="1d")
    changed = _perturbations(raw, ".", 1.5)["failure rate"]["failures"]
    fleet = shipped_catalog().fleets.get("llama3-production")
    assert "fleet" not in changed
    assert [c["rate"] for c in changed["classes"]] == pytest.approx([1.5 * c.rate for c in fleet.classes])
    assert api.load_scenario(_perturbations(raw, ".", 1.5)["failure rate"]).scenario.failures.classes


def test_leaf_failure_stops_every_job_under_the_switch_across_racks():
    # Racks of 2 nodes, a fat-tree leaf serves 4 nodes (32 ports / 8 NICs): two 2-node jobs on
    # two racks under the same leaf. Every leaf event under them stops both; they move together
    # to the other leaf's free nodes, so their failure counts stay equal.
    classes = [{"name": "leaf-switch", "rate": 2000.0, "scope": "leaf", "repair_time": "1h"}]
    sc = scenario({"classes": classes, "restart_time": "5min"}, racks=4, spares=0, jobs=2, gpus=16,
                  tokens="100B", horizon="5d")
    sc["cluster"]["racks"][0]["nodes_per_rack"] = 2
    sc["cluster"]["fabric"] = {"topology": "fat-tree"}
    assert plan_run(api.load_scenario(sc)).fabric.nodes_per_leaf == 4
    run = api.simulate(sc)
    a, b = run.jobs.iloc[0], run.jobs.iloc[1]
    assert a["failures"] > 0 and a["failures"] == b["failures"]
    assert run.summary_dict["interruptions"]["by_cause"] == {"leaf-switch": a["failures"] + b["failures"]}


def test_a_storage_too_slow_for_the_dataset_reads_warns():
    # gpt3-1.3b on 64 H100s trains well over 1M tokens/s: at 4 bytes a token that is over 4 MB/s
    extra = {"storage": {"capacity": "1PB", "write_bw": "1GB/s", "read_bw": "1MB/s"}}
    run = api.simulate(scenario(None, tokens="10B", horizon="1d", extra=extra))
    st = run.summary_dict["storage"]
    tokens_per_s = run.jobs.iloc[0]["tokens_done"] / (run.jobs.iloc[0]["end_s"] - run.jobs.iloc[0]["start_s"])
    assert st["dataset_read_bw_bytes_per_s"] == pytest.approx(4.0 * tokens_per_s, rel=0.01)
    assert [w["kind"] for w in run.summary_dict["warnings"]] == ["storage-read-short"]
