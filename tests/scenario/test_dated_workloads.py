"""Training jobs and services may be dated: ``submit_at`` (alias of ``start``), ``deadline`` and a
service's ``start`` given as dates resolve to seconds after simulation.start, counted in real
calendar days (worked out by hand below)."""

from __future__ import annotations

import copy

import pytest

from simulator import api

DAY = 86400.0
BASE = {
    "name": "dated",
    "simulation": {"start": "2027-01-01", "horizon": "200d", "sample_interval": "1d"},
    "site": {"power_envelope": "2MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 2}]},
    "workloads": {
        "training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "1B", "global_batch": 64, "seq": 2048,
                      "gpus": 16, "submit_at": "2027-01-11", "deadline": "2027-Q2"}],
        "inference": [{"name": "s", "model": "llama3-8b", "replicas": 1, "arrival_rate": "1 req/s",
                       "start": "2027-03"}],
    },
}


def test_dates_resolve_to_calendar_days_after_the_start():
    sc = api.load_scenario(copy.deepcopy(BASE)).scenario
    job, svc = sc.workloads.training[0], sc.workloads.inference[0]
    assert job.start == 10 * DAY                  # 11 Jan is 10 days after 1 Jan
    assert job.deadline == (31 + 28 + 31) * DAY   # 2027-Q2 = 1 Apr: Jan + Feb (not a leap year) + Mar
    assert svc.start == (31 + 28) * DAY           # 2027-03 = 1 Mar


def test_submit_at_is_start_and_offsets_still_work():
    offsets = copy.deepcopy(BASE)
    job = offsets["workloads"]["training"][0]
    del job["submit_at"]
    job.update(start="10d", deadline="90d")
    offsets["workloads"]["inference"][0]["start"] = "59d"
    a = api.load_scenario(copy.deepcopy(BASE)).scenario
    b = api.load_scenario(offsets).scenario
    assert a.workloads == b.workloads


def test_a_dated_job_is_submitted_on_its_date():
    sc = copy.deepcopy(BASE)
    sc["workloads"].pop("inference")
    jobs = api.simulate(sc).jobs.set_index("job")
    assert jobs.loc["j", "submit_s"] == pytest.approx(10 * DAY)
    assert jobs.loc["j", "start_s"] == pytest.approx(10 * DAY)
