"""Priority preemption of hand-written training jobs (scheduler: {type: priority}), against
times worked out from the same jobs run alone: a preempted job loses no work, waits for the
job that took its nodes, and pays the preemption cost when it runs again."""

from __future__ import annotations

import copy

import pytest

from simulator import api

COST_S = 600.0
JOB = {"model": "gpt3-1.3b", "global_batch": 64, "seq": 2048}


def scenario(jobs: list[dict], scheduler: dict | None = None) -> dict:
    sc = {
        "name": "preempt",
        "simulation": {"horizon": "3d", "sample_interval": "1h", "seed": 3},
        "site": {"power_envelope": "5MW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1}]},
        "workloads": {"training": jobs},
    }
    if scheduler is not None:
        sc["scheduler"] = scheduler
    return sc


LOW = {"name": "low", "priority": 0, "gpus": 16, "tokens": "20B", **JOB}
HIGH = {"name": "high", "priority": 5, "gpus": 8, "tokens": "5B", "start": "1h", **JOB}


def alone(job: dict) -> float:
    """The job's run time with the cluster to itself (it starts at its submit time)."""
    ran = api.simulate(scenario([{**job, "start": "0h"}])).jobs.set_index("job").loc[job["name"]]
    return float(ran["end_s"] - ran["start_s"])


@pytest.fixture(scope="module")
def durations() -> dict[str, float]:
    return {"low": alone(LOW), "high": alone(HIGH)}


def test_a_higher_priority_job_preempts_and_the_preempted_one_resumes_after_it(durations):
    d_low, d_high = durations["low"], durations["high"]
    assert d_low > 3 * 3600 and d_high > 3600           # both still run when the other arrives
    r = api.simulate(scenario([LOW, HIGH], {"type": "priority", "preemption_cost": f"{COST_S:.0f}s"}))
    jobs = r.jobs.set_index("job")
    high, low = jobs.loc["high"], jobs.loc["low"]
    assert high["start_s"] == pytest.approx(3600.0)
    assert high["end_s"] == pytest.approx(3600.0 + d_high, rel=1e-9)
    # low ran 1 h, lost nothing, waited for high, then paid the cost before its remaining work
    assert low["end_s"] == pytest.approx(d_low + d_high + COST_S, rel=1e-9)
    assert low["preemptions"] == 1 and high["preemptions"] == 0
    assert low["lost_tokens"] == 0.0
    assert low["downtime_s"] == pytest.approx(COST_S, rel=1e-9)
    assert r.summary_dict["jobs_preempted"] == 1


def test_without_the_priority_policy_the_high_job_waits(durations):
    d_low, d_high = durations["low"], durations["high"]
    r = api.simulate(scenario([LOW, HIGH]))                      # easy-backfill: no preemption
    jobs = r.jobs.set_index("job")
    assert jobs.loc["high", "start_s"] == pytest.approx(d_low, rel=1e-9)
    assert jobs.loc["high", "end_s"] == pytest.approx(d_low + d_high, rel=1e-9)
    assert r.summary_dict["jobs_preempted"] == 0


def test_equal_priority_never_preempts(durations):
    same = copy.deepcopy(HIGH)
    same["priority"] = 0
    r = api.simulate(scenario([LOW, same], {"type": "priority"}))
    jobs = r.jobs.set_index("job")
    assert jobs.loc["high", "start_s"] == pytest.approx(durations["low"], rel=1e-9)
    assert r.summary_dict["jobs_preempted"] == 0
