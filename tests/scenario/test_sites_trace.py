"""A job trace in a multi-site scenario: it replays on the site its rack groups stand at, the
other sites never see it, and the merged summary carries its scheduling block named by site."""

from __future__ import annotations

import copy

import pytest

from simulator import api
from simulator.scenario.sites_load import LoadedSites, load_any
from tests.scenario.test_sites import sites_problems

ROWS = [(0, 1, 3600), (60, 8, 7200), (120, 16, 1800), (600, 2, 900), (900, 4, 5400), (3600, 8, 600)]

SITES = {
    "name": "pair-with-trace",
    "simulation": {"horizon": "1d", "sample_interval": "15min", "seed": 3},
    "sites": [
        {"name": "a", "power_envelope": "1MW", "climate": "temperate"},
        {"name": "b", "power_envelope": "1MW", "climate": "nordic"},
    ],
    "cluster": {"racks": [
        {"name": "ra", "site": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1},
        {"name": "rb", "site": "b", "node": "dgx-h100", "nodes_per_rack": 2, "count": 2},
    ]},
    "workloads": {
        "training": [{"name": "ta", "site": "a", "model": "gpt3-125m", "tokens": "1B", "global_batch": 32,
                      "gpus": 8}],
        "trace": {"path": "jobs.csv", "format": "dcsim", "rack_groups": ["rb"]},
    },
}


@pytest.fixture
def trace_dir(tmp_path):
    (tmp_path / "jobs.csv").write_text("submit_s,gpus,duration_s\n" + "".join(f"{s},{g},{d}\n" for s, g, d in ROWS))
    return tmp_path


def test_the_trace_goes_to_its_rack_groups_site_only(trace_dir):
    loaded = load_any(copy.deepcopy(SITES), base_dir=trace_dir)
    assert isinstance(loaded, LoadedSites)
    a, b = loaded.parts
    assert a.scenario.workloads.trace is None
    assert b.scenario.workloads.trace is not None and b.scenario.workloads.trace.rack_groups == ["rb"]


def test_the_merged_summary_reports_the_sites_replay(trace_dir):
    result = api.simulate(load_any(copy.deepcopy(SITES), base_dir=trace_dir))
    sched = result.summary["scheduling"]
    assert sched["site"] == "b"
    # the same replay as a single-site scenario of site b alone (a replay draws no random numbers)
    alone = copy.deepcopy(SITES)
    alone.pop("sites")
    alone["site"] = SITES["sites"][1]
    alone["cluster"] = {"racks": [{k: v for k, v in SITES["cluster"]["racks"][1].items() if k != "site"}]}
    alone["workloads"] = {"trace": {**SITES["workloads"]["trace"]}}
    single = api.simulate(api.load_scenario(alone, base_dir=trace_dir)).summary["scheduling"]
    assert {k: v for k, v in sched.items() if k != "site"} == single
    # by hand: 32 GPUs (4 nodes of 8) hold every job at once, so all six start on submission
    # and finish within the day; GPU-seconds held = sum(gpus x duration) = 118,200
    assert (single["jobs_submitted"], single["jobs_started"], single["jobs_finished"]) == (6, 6, 6)
    assert single["single_gpu_share"] == pytest.approx(1 / 6)
    assert single["queueing_delay"]["p90_s"] == 0.0
    assert single["utilization"] == pytest.approx(sum(g * d for _, g, d in ROWS) / (32 * 86400))


def test_a_trace_must_name_its_rack_groups_with_several_sites(trace_dir):
    data = copy.deepcopy(SITES)
    del data["workloads"]["trace"]["rack_groups"]
    problems = sites_problems(data, trace_dir)
    assert [p.path for p in problems] == ["workloads.trace.rack_groups"]
    assert "name the trace's rack groups" in problems[0].message


def test_a_trace_on_rack_groups_at_two_sites_is_refused(trace_dir):
    data = copy.deepcopy(SITES)
    data["workloads"]["trace"]["rack_groups"] = ["ra", "rb"]
    problems = sites_problems(data, trace_dir)
    assert [p.path for p in problems] == ["workloads.trace.rack_groups"]
    assert "at a, b" in problems[0].message


def test_an_unknown_trace_rack_group_is_reported_once(trace_dir):
    data = copy.deepcopy(SITES)
    data["workloads"]["trace"]["rack_groups"] = ["nowhere"]
    problems = sites_problems(data, trace_dir)
    assert len(problems) == 1 and problems[0].path.startswith("workloads.trace.rack_groups")
    assert "nowhere" in problems[0].message
