"""Failures, checkpoints, restarts and goodput: formulas by hand and the engine's behaviour."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from simulator import api
from simulator.engine.failures import (
    CheckpointPlan,
    checkpoint_plan,
    goodput,
    lost_since_checkpoint,
    young_interval_s,
)
from simulator.errors import InputError

DAY = 86400.0


def test_young_interval_by_hand():
    # delta = 60 s, M = 1 day: sqrt(2 * 60 * 86400) = 3220 s
    assert young_interval_s(60.0, DAY) == pytest.approx(math.sqrt(2 * 60 * DAY))


def test_checkpoint_plan_by_hand():
    # 175e9 params x 14 bytes = 2.45 TB; 48 nodes x 5 GB/s = 240 GB/s, capped by a 200 GB/s store
    plan = checkpoint_plan(175e9, 14.0, 48, 264 * DAY, 5e9, 200e9, None)
    assert plan.checkpoint_bytes == pytest.approx(2.45e12)
    assert plan.write_s == pytest.approx(2.45e12 / 200e9)
    assert plan.job_mtbf_s == pytest.approx(264 * DAY / 48)
    assert plan.interval_s == pytest.approx(math.sqrt(2 * plan.write_s * plan.job_mtbf_s))
    assert plan.efficiency == pytest.approx(plan.interval_s / (plan.interval_s + plan.write_s))
    fixed = checkpoint_plan(175e9, 14.0, 8, 264 * DAY, 5e9, 200e9, 3600.0)
    assert fixed.write_s == pytest.approx(2.45e12 / 40e9) and fixed.interval_s == 3600.0


def test_lost_work_since_the_last_checkpoint():
    plan = CheckpointPlan(1.0, write_s=10.0, interval_s=90.0, job_mtbf_s=1e9)
    assert lost_since_checkpoint(50.0, plan) == pytest.approx(50.0)      # before the first one
    assert lost_since_checkpoint(250.0, plan) == pytest.approx(50.0)     # two cycles of 100 s done
    assert lost_since_checkpoint(300.0, plan) == pytest.approx(0.0)


def test_goodput_by_hand():
    assert goodput(100.0, 5.0, 10.0, 15.0) == pytest.approx(0.7)
    assert math.isnan(goodput(0.0, 0.0, 0.0, 0.0))


def scenario(mtbf: str = "2d", spares: int = 2, repair: str = "6h", seed: int = 1) -> dict:
    return {
        "name": "failing",
        "simulation": {"horizon": "20d", "sample_interval": "30min", "seed": seed},
        "site": {"power_envelope": "5MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 4, "count": 3,
                               "spare_nodes": spares}]},
        "workloads": {"training": [{
            "name": "job", "model": "gpt3-1.3b", "tokens": "150B", "global_batch": 256, "micro_batch": 4,
            "seq": 2048, "gpus": 64, "layout": {"tp": 1, "pp": 1}, "precision": "bf16-mixed"}]},
        "failures": {"node_mtbf": mtbf, "repair_time": repair, "restart_time": "10min",
                     "node_checkpoint_bw": "2GB/s", "storage_bw": "100GB/s"},
    }


@pytest.fixture(scope="module")
def baseline():
    sc = scenario()
    del sc["failures"]
    return api.simulate(sc).jobs.iloc[0]


@pytest.fixture(scope="module")
def failing():
    return api.simulate(scenario())


def test_failures_cost_time_and_tokens_but_the_job_finishes(baseline, failing):
    job = failing.jobs.iloc[0]
    assert job["status"] == "finished" and job["tokens_done"] == pytest.approx(baseline["tokens_done"])
    assert job["failures"] > 0 and job["lost_tokens"] > 0
    assert job["end_s"] > baseline["end_s"]
    assert 0.0 < job["goodput"] < 1.0
    assert failing.summary["failures"] == job["failures"]
    # The wall time is the failure-free time plus checkpoint writing, downtime and the redone
    # work, so the useful share of it is the failure-free time over the wall time.
    held = job["end_s"] - job["start_s"]
    useful = baseline["end_s"] - baseline["start_s"]
    assert held > useful + job["checkpoint_s"] + job["downtime_s"]
    assert job["goodput"] == pytest.approx(useful / held, rel=0.02)


def test_failure_count_matches_the_node_failure_rate(failing):
    job = failing.jobs.iloc[0]
    nodes = 8                                           # 64 GPUs on 8-GPU nodes
    exposed = job["end_s"] - job["start_s"] - job["downtime_s"]
    expected = nodes * exposed / (2 * DAY)
    assert abs(job["failures"] - expected) <= 4 * math.sqrt(expected) + 1


def test_without_spares_a_job_waits_for_repairs():
    with_spares = api.simulate(scenario(spares=2, repair="3d")).jobs.iloc[0]
    # 12 nodes, 8 for the job: the 4 free ones act as spares too; make the cluster exactly fit.
    tight = scenario(spares=0, repair="3d")
    tight["cluster"]["racks"][0]["count"] = 2
    without = api.simulate(tight).jobs.iloc[0]
    assert without["downtime_s"] > with_spares["downtime_s"]


def test_failures_are_deterministic_by_seed():
    a = api.simulate(scenario(seed=3)).jobs
    b = api.simulate(copy.deepcopy(scenario(seed=3))).jobs
    c = api.simulate(scenario(seed=4)).jobs
    assert a.equals(b)
    assert not np.isclose(a["end_s"].iloc[0], c["end_s"].iloc[0])


def test_spare_nodes_are_never_scheduled():
    sc = scenario(spares=4)
    sc["workloads"]["training"][0]["gpus"] = 96         # 12 nodes exist, 8 schedulable
    with pytest.raises(InputError) as err:
        api.load_scenario(sc)
    assert "96 GPUs requested" in str(err.value)
