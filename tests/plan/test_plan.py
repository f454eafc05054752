"""dcsim plan: the search finds what exhaustive enumeration finds, the same seed gives the same
trials whatever the executor, constraints are judged as written, and a bad plan block is refused
with one error per problem."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.errors import InputError
from simulator.plan import run_plan
from simulator.plan.candidates import check_plan
from simulator.plan.evaluate import judge, simulate_candidate
from simulator.plan.search import search_plans

# GPT-3 1.3B training on racks of two DGX H100s: the cost model gives ~52k tokens/s per GPU, so
# 300B tokens take ~8 days on 8 GPUs, ~4 on 16 and ~2 on 32: finishing within 3 days needs at
# least 32 GPUs (two racks), and more racks only add capex.
BASE = {
    "name": "plan-test",
    "simulation": {"horizon": "4d", "sample_interval": "6h", "seed": 3},
    "site": {"power_envelope": "2MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "train", "node": "dgx-h100", "nodes_per_rack": 2, "count": 4}]},
    "workloads": {"training": [{"name": "pretrain", "model": "gpt3-1.3b", "tokens": "300B", "global_batch": 256,
                                "seq": 2048, "gpus": 32}]},
    "plan": {
        "decisions": [
            {"path": "cluster.racks[0].count", "values": [1, 2, 4, 6]},
            {"path": "workloads.training[0].gpus", "values": [8, 16, 32, 48]},
            {"path": "cluster.racks[0].cooling", "values": ["air", "liquid"]},
        ],
        "objectives": ["total_usd"],
        "constraints": {"finish_by": {"pretrain": "3d"}},
        "search": {"sampler": "tpe", "trials": 24, "batch": 4, "seed": 0},
    },
}


def loaded(**search):
    data = copy.deepcopy(BASE)
    data["plan"]["search"].update(search)
    return api.load_scenario(data)


def in_process(raws):
    return [simulate_candidate(raw, ".") for raw in raws]


def reversed_order(raws):
    """An executor that runs the batch backwards (as a pool might finish it) but returns in order."""
    return list(reversed([simulate_candidate(raw, ".") for raw in reversed(raws)]))


@pytest.fixture(scope="module")
def exhaustive():
    sc = loaded(sampler="grid", trials=1000)
    return search_plans(sc, check_plan(sc), in_process)


def test_grid_tries_every_combination_once(exhaustive):
    assert len(exhaustive.trials) == 4 * 4 * 2 == exhaustive.evaluations


def test_constraints_decide_feasibility(exhaustive):
    by_values = {(t.values["cluster.racks[0].count"], t.values["workloads.training[0].gpus"]): t
                 for t in exhaustive.trials if t.values["cluster.racks[0].cooling"] == "air"}
    # 48 GPUs need 6 nodes: 3 racks of 2; one rack (16 GPUs) cannot hold a 32-GPU job.
    assert "runs" in by_values[(1, 32)].broken
    assert by_values[(6, 48)].feasible
    # 8 and 16 GPUs run but too slowly to finish by day 3.
    assert by_values[(4, 8)].broken == ("finish_by.pretrain",)
    assert by_values[(4, 16)].broken == ("finish_by.pretrain",)
    assert by_values[(2, 32)].feasible


def test_tpe_finds_the_exhaustive_optimum(exhaustive):
    best = exhaustive.best()
    assert best is not None
    sc = loaded()
    found = search_plans(sc, check_plan(sc), in_process)
    assert found.best().values == best.values
    assert found.evaluations < exhaustive.evaluations          # it did not need every combination
    assert found.best().objectives == pytest.approx(best.objectives)


def test_same_seed_same_trials_whatever_the_executor():
    sc = loaded(trials=8)
    spec = check_plan(sc)
    a = search_plans(sc, spec, in_process)
    b = search_plans(sc, spec, reversed_order)
    assert [(t.values, t.objectives, t.broken) for t in a.trials] == [(t.values, t.objectives, t.broken)
                                                                       for t in b.trials]


def test_judge_by_hand():
    spec = check_plan(loaded())
    outcome = {"summary": {"peak_facility_power_w": 1.0e6, "power_envelope_w": 2.0e6},
               "costs": {"total_usd": 1234.5},
               "jobs": {"pretrain": {"status": "finished", "end_s": 3 * 86400.0 + 1}}, "services": {}}
    assert judge(outcome, spec) == ([1234.5], ["finish_by.pretrain"])
    outcome["jobs"]["pretrain"]["end_s"] = 2 * 86400.0
    assert judge(outcome, spec) == ([1234.5], [])
    outcome["summary"]["peak_facility_power_w"] = 2.5e6
    assert judge(outcome, spec) == ([1234.5], ["within_envelope"])
    assert judge({"error": "no layout fits"}, spec) == ([None], ["runs"])


@pytest.mark.parametrize(("change", "where", "words"), [
    (("decisions", 0, "path"), "plan.decisions[0].values[0]", "unknown key 'racks_count'"),
    (("decisions", 2, "values"), "plan.decisions[2].values[1]", "must be one of"),
    (("constraints", "finish_by"), "plan.constraints.finish_by.nope", "no training job named 'nope'"),
])
def test_bad_plan_blocks_are_refused_with_their_path(change, where, words):
    data = copy.deepcopy(BASE)
    plan = data["plan"]
    if change == ("decisions", 0, "path"):
        plan["decisions"][0]["path"] = "cluster.racks[0].racks_count"
    elif change == ("decisions", 2, "values"):
        plan["decisions"][2]["values"] = ["air", "immersed-in-soup"]
    else:
        plan["constraints"]["finish_by"] = {"nope": "3d"}
    with pytest.raises(InputError) as info:
        check_plan(api.load_scenario(data))
    lines = [p.format() for p in info.value.problems]
    assert any(line.startswith(where) and words in line for line in lines), lines


def test_dcsim_plan_writes_its_outputs(tmp_path):
    data = copy.deepcopy(BASE)
    data["plan"]["search"].update(trials=6, batch=3)
    scenario = tmp_path / "plan.yaml"
    scenario.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(scenario), "-o", str(tmp_path / "out"), "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["trials"] == 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".dcsim-output", "plan.html", "plan.json",
                                                                    "trials.parquet"]
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["best"] is None or plan["best"]["costs"]["total_usd"] == plan["best"]["objectives"]["total_usd"]


def test_run_plan_reports_the_best_plans_sensitivity():
    sc = loaded(trials=6, batch=3)
    ran = run_plan(sc)
    best = ran.result.best()
    assert best is not None
    names = {s.input for s in ran.sensitivity}
    assert names == {"electricity price", "server (GPU) price"}
    raised = {s.input: s for s in ran.sensitivity if s.change > 0}
    # Dearer servers and dearer power both cost more; servers dominate a short run's bill.
    assert raised["server (GPU) price"].relative > raised["electricity price"].relative > 0


def test_demand_sensitivity_scales_a_demand_csv_through_its_scale(tmp_path):
    """A service fed by a demand CSV is moved by ``demand_scale`` (its file's rates x 1.2), a
    rate-given one by its ``arrival_rate``; only growth laws are moved by the growth input."""
    from simulator.plan.sensitivity import _perturbations

    (tmp_path / "demand.csv").write_text("month,rate\n2027-01,5\n2027-02,10\n", encoding="utf-8")
    raw = {"name": "csv", "simulation": {"start": "2027-01-01", "horizon": "2d", "sample_interval": "1h"},
           "site": {"power_envelope": "1MW", "climate": "temperate"},
           "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 2}]},
           "workloads": {"inference": [
               {"name": "file", "model": "llama3-8b", "replicas": 2, "demand_csv": "demand.csv"},
               {"name": "law", "model": "llama3-8b", "replicas": 2, "arrival_rate": "4 req/s", "growth": "5%/month"}]}}
    changed = _perturbations(raw, str(tmp_path), 1.2)
    demand = changed["demand"]["workloads"]["inference"]
    assert demand[0]["demand_scale"] == pytest.approx(1.2)
    assert "arrival_rate" not in demand[0]
    assert demand[1]["arrival_rate"] == pytest.approx(4.8)
    growth = changed["demand growth"]["workloads"]["inference"]
    assert "growth" not in growth[0] and growth[1]["growth"] == pytest.approx(0.06)
