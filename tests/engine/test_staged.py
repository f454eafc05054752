"""Staged training runs (engine/staged.py) as the planner builds them: sequence-length phases,
batch ramp-up and evaluation passes, each checked against token and step counts by hand; and
the Llama 3 405B layout on 16,384 H100s written in a scenario and found by ``layout: auto``."""

from __future__ import annotations

import copy
import math

import pytest

from simulator.engine.planning import plan_run
from simulator.errors import ScenarioError
from simulator.scenario.load import load_scenario, set_path

# One rack group of 1 rack x 4 DGX H100 = 32 GPUs.
BASE: dict = {
    "name": "staged",
    "simulation": {"horizon": "1d", "sample_interval": "5min"},
    "site": {"power_envelope": "1MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "g", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1}]},
    "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "1B", "global_batch": 128,
                                "micro_batch": 1, "seq": 2048, "gpus": 32, "layout": {"dp": 32}}]},
}
J = "workloads.training[0]"


def planned(base: dict = BASE, **changes):
    data = copy.deepcopy(base)
    for path, value in changes.items():
        set_path(data, path, value)
    return plan_run(load_scenario(data))


def test_sequence_length_phases_each_plan_their_own_steps():
    (job,) = planned(**{f"{J}.phases": [{"name": "short", "tokens": "600M"},
                                        {"name": "long", "tokens": "400M", "seq": 4096}]}).jobs
    assert job.first_phase == "short"
    # 600M tokens / (128 x 2048 tokens a step), rounded up
    assert job.steps_total == math.ceil(600e6 / (128 * 2048))
    ((name, long_plan, long_steps),) = job.later_phases
    assert name == "long" and long_plan.tokens_per_step == 128 * 4096
    assert long_steps == math.ceil(400e6 / (128 * 4096))
    # twice the tokens a step, and attention grows with the sequence: more than twice the time
    assert long_plan.nominal()[0] > 2 * job.plan.nominal()[0]


def test_phases_must_add_up_to_the_job_tokens():
    with pytest.raises(ScenarioError) as info:
        planned(**{f"{J}.phases": [{"tokens": "600M"}, {"tokens": "300M", "seq": 4096}]})
    (problem,) = info.value.problems
    assert problem.path.endswith("phases") and "must add up" in problem.message


def test_batch_rampup_trains_equal_shares_at_each_smaller_batch():
    (job,) = planned(**{f"{J}.batch_rampup": {"start": 32, "increment": 32, "tokens": "96M"}}).jobs
    # batches 32, 64, 96 below the job's 128, each 32M tokens on the job's dp32 layout
    assert job.first_phase == "rampup-32"
    assert job.plan.tokens_per_step == 32 * 2048
    assert job.steps_total == math.ceil(32e6 / (32 * 2048))
    names = [n for n, _, _ in job.later_phases]
    assert names == ["rampup-64", "rampup-96", "main"]
    main_plan, main_steps = job.later_phases[-1][1:]
    assert main_plan.tokens_per_step == 128 * 2048 and main_steps == math.ceil(904e6 / (128 * 2048))


def test_rampup_batch_that_does_not_split_over_the_replicas_is_refused():
    with pytest.raises(ScenarioError) as info:
        planned(**{f"{J}.batch_rampup": {"start": 16, "increment": 16, "tokens": "96M"}})
    assert any("micro_batch*dp = 32" in p.message for p in info.value.problems)


def test_evaluation_time_is_spread_over_the_steps_between_evaluations():
    (plain,) = planned().jobs
    (job,) = planned(**{f"{J}.evaluation": {"every_steps": 100, "duration": "60s"}}).jobs
    # 60 s every 100 steps: 0.6 s added to every step, at every clock of the power table
    assert job.plan.step_time_s == pytest.approx(plain.plan.step_time_s + 0.6)
    assert job.plan.nominal()[0] == pytest.approx(plain.plan.nominal()[0] + 0.6)
    assert job.plan.breakdown["evaluation_per_step_s"] == pytest.approx(0.6)



def test_evaluation_tokens_run_in_whole_padded_global_batches():
    """128 x 2048 = 262,144 tokens a global batch: 1.5 batches of tokens run as 2 forward passes
    (the last padded, as NeMo does), 2 batches' worth as 2 as well, 2.01 batches as 3."""
    (plain,) = planned().jobs
    forward_s = plain.plan.breakdown["forward_s"]
    for batches, passes in ((1.5, 2), (2.0, 2), (2.01, 3)):
        ev = {"every_steps": 10, "tokens": batches * 128 * 2048}
        (job,) = planned(**{f"{J}.evaluation": ev}).jobs
        assert job.plan.breakdown["evaluation_s"] == pytest.approx(passes * forward_s)
        assert job.plan.step_time_s == pytest.approx(plain.plan.step_time_s + passes * forward_s / 10)

# Llama 3 405B on 16,384 H100s (Dubey et al. 2024, "The Llama 3 Herd of Models", Table 4):
# TP8 CP1 PP16 DP128, sequence 8192, 16M tokens a step (global batch 2048), bf16, about
# 400 TFLOP/s per GPU; 126 layers as 7 + 14 x 8 + 7 (one fewer layer on each end stage for
# the embedding and the head), interleaved, FSDP sharding gradients and optimizer states (ZeRO 2).
LLAMA: dict = {
    "name": "llama3-405b-16k",
    "simulation": {"horizon": "1d", "sample_interval": "1h"},
    "site": {"power_envelope": "60MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "g", "node": "dgx-h100", "nodes_per_rack": 4, "count": 512}]},
    "workloads": {"training": [{"name": "pretrain", "model": "llama3-405b", "tokens": "1T", "global_batch": 2048,
                                "seq": 8192, "gpus": 16384, "precision": "bf16-mixed", "recompute": "none",
                                "stack": "llama3-2024",
                                "layout": {"tp": 8, "pp": 16, "interleave": 8, "zero": 2,
                                           "first_stage_layers": 7, "last_stage_layers": 7}}]},
}
PUBLISHED_TFLOPS = 400e12


def tflops_per_gpu(job) -> float:
    return job.plan.model_flops_per_step / job.plan.nominal()[0] / job.config.gpus


def test_llama3_405b_published_layout_in_a_scenario():
    (job,) = planned(LLAMA).jobs
    lay = job.plan.layout
    assert (lay.tp, lay.cp, lay.pp, lay.dp, lay.interleave) == (8, 1, 16, 128, 8)
    assert "f7l7" in lay.name
    assert tflops_per_gpu(job) == pytest.approx(PUBLISHED_TFLOPS, rel=0.05)


def test_llama3_405b_layout_auto_finds_uneven_deep_pipelines():
    (explicit,) = planned(LLAMA).jobs
    (job,) = planned(LLAMA, **{"workloads.training[0].layout": "auto"}).jobs
    lay = job.plan.layout
    # 126 layers only split over 16 stages unevenly; the search finds such a pipeline, at
    # least as fast (by the model) as the published one, near the published throughput
    assert lay.pp >= 8 and "f" in lay.name
    assert job.plan.nominal()[0] <= explicit.plan.nominal()[0] * (1 + 1e-9)
    assert tflops_per_gpu(job) == pytest.approx(PUBLISHED_TFLOPS, rel=0.10)
