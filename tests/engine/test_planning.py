"""The planner (engine/planning.py): everything computed before the event loop, and the problems
that only the cost model can find, every one of them at once, at its YAML path."""

from __future__ import annotations

import copy
import re

import pytest

from simulator.engine.planning import plan_run
from simulator.errors import ScenarioError
from simulator.scenario.load import load_scenario, set_path

# One rack group of 1 rack x 4 DGX H100 = 32 GPUs.
BASE: dict = {
    "name": "mini",
    "simulation": {"horizon": "1d", "sample_interval": "5min"},
    "site": {"power_envelope": "1MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "g", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1}]},
    "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "1B", "global_batch": 64,
                                "micro_batch": 1, "seq": 2048, "gpus": 32}]},
}
J = "workloads.training[0]"


def planned(**changes):
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        set_path(data, path, value)
    return plan_run(load_scenario(data))


def problems(**changes) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        planned(**changes)
    return {p.path: p.message for p in info.value.problems}


def gib(message: str) -> float:
    return float(re.search(r"need ([0-9.]+) GiB", message).group(1))


def test_a_valid_scenario_plans_every_workload_once():
    plan = planned()
    (job,) = plan.jobs
    assert job.plan.layout.gpus == 32
    # 1B tokens / (64 x 2048 tokens a step), rounded up
    assert job.steps_total == -(-1_000_000_000 // (64 * 2048))
    assert plan.seeds["root"] == 0 and set(plan.seeds) == {"root", "climate", "failures", "arrivals", "spare", "grid"}


def test_model_that_fits_no_layout():
    found = problems(**{f"{J}.model": "llama3-405b", f"{J}.gpus": 8, f"{J}.global_batch": 8})
    message = found[f"{J}.model"]
    assert "no layout of 8 x h100-sxm fits in memory" in message
    # Weights, gradients and optimizer states alone, fully sharded: 405 853 388 800 params x 18 B
    # (bf16-mixed) / 8 GPUs = 850.5 GiB per GPU; activations only add to it.
    assert gib(message) >= 405_853_388_800 * 18 / 8 / 2**30


def test_gpu_count_with_no_valid_layout_says_why():
    # 30 GPUs of 8-GPU domains for GPT-3 1.3B (24 layers, 32 heads), a global batch of 64: tp in
    # {1, 2} leaves 30 or 15 GPUs; pipelines of 1, 2, 3 or 6 stages split 24 layers evenly and 5
    # stages as 4 + 3 x 5 + 5 (10, 15 and 30 stages leave no split with every stage holding at
    # least one layer and the end stages no more than the others), so dp is one of
    # {30, 15, 10, 6, 5, 3}, and none of those divides 64.
    found = problems(**{f"{J}.gpus": 30, f"{J}.micro_batch": None})
    message = found[f"{J}.gpus"]
    assert message.startswith("no layout of 30 GPUs: global_batch 64 is not a multiple of micro_batch*dp")
    assert "(3, 5, 6, 10, 15, 30)" in message


def test_heads_that_no_tensor_parallel_degree_divides():
    # 5 GPUs: tp must divide 5 and the 8-GPU domain, so tp = 1 and pp*dp = 5; a 3-layer model
    # splits only into pp = 1 (5 does not divide 3), so dp = 5, which a batch of 64 cannot split.
    model = {"name": "m", "layers": 3, "hidden": 96, "heads": 3, "vocab": 100}
    found = problems(**{f"{J}.model": model, f"{J}.gpus": 5, f"{J}.global_batch": 64, f"{J}.micro_batch": None})
    assert "global_batch 64 is not a multiple of micro_batch*dp" in found[f"{J}.gpus"]


def test_envelope_below_the_idle_site_and_other_problems_together():
    found = problems(**{"site.power_envelope": "10kW", f"{J}.model": "llama3-405b", f"{J}.gpus": 8,
                        f"{J}.global_batch": 8})
    assert set(found) == {"site.power_envelope", f"{J}.model"}
    idle = float(re.search(r"idle facility load of ([0-9.]+) kW", found["site.power_envelope"]).group(1))
    # Idle IT of 4 DGX H100 (host 1500 W + 8 x 123 W each) = 9936 W, through a PDU (0.985), the
    # best UPS point (0.96) and the transformer (0.99): 10.61 kW before any cooling.
    assert idle >= 9936 / (0.985 * 0.96 * 0.99) / 1e3


def test_identical_jobs_share_one_plan():
    job = BASE["workloads"]["training"][0]
    twins = [dict(job, name=f"j{i}") for i in range(3)]
    plan = planned(**{"workloads.training": twins})
    assert len({id(p.plan) for p in plan.jobs}) == 1
    assert [p.index for p in plan.jobs] == [0, 1, 2]
