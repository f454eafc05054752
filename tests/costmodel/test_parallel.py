"""Parallel layouts: validity, pipeline bubble, communication terms, placement, power table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator.costmodel.collective_tiers import tier_row
from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.parallel import evaluate
from simulator.costmodel.precision import Recipe
from simulator.costmodel.search import MICRO_BATCHES, candidate_layouts
from simulator.costmodel.training_plan import TrainingPlan, plan_training
from simulator.domain.catalog import shipped_catalog
from simulator.domain.layout import ParallelLayout, layout_problems
from simulator.domain.specs import ModelSpec
from simulator.scenario.schema import Layout


def model(name: str) -> ModelSpec:
    return shipped_catalog().models.get(name)


@pytest.fixture(scope="module")
def h100() -> DeviceModel:
    return DeviceModel.from_name("h100-sxm")


@pytest.fixture(scope="module")
def dgx() -> CommModel:
    cat = shipped_catalog()
    return CommModel.for_node(cat.nodes.get("dgx-h100"), cat.accelerators.get("h100-sxm"))


def lay(*, tp=1, pp=1, dp=1, mb=1, v=1, zero=0, sp=0, ep=1) -> ParallelLayout:
    return ParallelLayout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, interleave=v, sp=bool(sp), micro_batch=mb)


def validate_layout(spec: ModelSpec, gpus: int, global_batch: int, layout: ParallelLayout, domain: int) -> list[str]:
    return [message for _, message in layout_problems(layout, gpus=gpus, global_batch=global_batch, domain=domain,
                                                      heads=spec.heads, layers=spec.layers, experts=spec.experts)]


def run(h100, comm, layout, *, gpus, global_batch, spec="gpt3-350m", recompute="none", seq=1024):
    return evaluate(model(spec), h100, gpus, global_batch, seq, layout,
                    Recipe("bf16-amp", recompute, "adamw-foreach", overlap_p2p=False), comm)


# ------------------------------------------------------------------ validity


def test_validate_layout_reasons():
    spec = model("gpt3-350m")   # 16 heads, 24 layers
    assert validate_layout(spec, 8, 64, lay(tp=8, mb=1), 8) == []
    heads = validate_layout(spec, 6, 60, lay(tp=6, dp=1), 8)
    assert any("does not divide the 16 attention heads" in r for r in heads)
    count = validate_layout(spec, 16, 64, lay(tp=2, pp=2, dp=2), 8)
    assert count == ["tp*pp*dp = 8 but gpus = 16"]
    inter = validate_layout(spec, 2, 64, lay(dp=2, v=2), 8)
    assert inter == ["interleave needs pp > 1"]
    batch = validate_layout(spec, 4, 10, lay(dp=4, mb=1), 8)
    assert batch == ["global_batch 10 is not a multiple of micro_batch*dp = 4"]
    layers = validate_layout(spec, 5, 40, lay(pp=5, mb=1), 8)
    assert len(layers) == 1 and "24 layers" in layers[0]


@pytest.mark.parametrize("name, gpus, global_batch", [
    ("gpt3-350m", 16, 64), ("llama2-70b", 64, 128), ("mixtral-8x7b", 16, 32)])
def test_candidate_layouts_are_exactly_the_valid_ones(name, gpus, global_batch):
    spec = model(name)
    cands = candidate_layouts(spec, gpus, global_batch, 8)
    assert cands
    for c in cands:
        assert validate_layout(spec, gpus, global_batch, c, 8) == [], c
    # every valid evenly split (tp, pp, dp, interleave, micro-batch, ep) is offered, with every
    # interleave the stages' layers allow
    found = {(c.tp, c.pp, c.dp, c.interleave, c.micro_batch, c.ep) for c in cands if not c.uneven}
    divs = [d for d in range(1, gpus + 1) if gpus % d == 0]
    eps = [e for e in range(1, spec.experts + 1) if spec.experts % e == 0]
    interleaves = range(1, spec.layers + 1)
    for tp, pp, v, mb, ep in itertools.product(divs, divs, interleaves, MICRO_BATCHES, eps):
        if gpus % (tp * pp):
            continue
        layout = lay(tp=tp, pp=pp, dp=gpus // (tp * pp), mb=mb, v=v, ep=ep)
        if not validate_layout(spec, gpus, global_batch, layout, 8):
            assert (tp, pp, gpus // (tp * pp), v, mb, ep) in found, layout


def test_layout_names():
    assert lay(tp=8, pp=4, dp=16).name == "tp8-pp4-dp16-mb1"
    name = lay(tp=2, pp=4, dp=2, v=2, zero=1, ep=2, mb=4).name
    assert name == "tp2-pp4-dp2-ep2-v2-z1-mb4"


# ------------------------------------------------------------------ pipeline and comm terms


def test_pipeline_bubble_is_pp_minus_1_over_m(h100, dgx):
    m, pp = 16, 4
    r = run(h100, dgx, lay(pp=pp, mb=1), gpus=4, global_batch=m)
    assert r["micro_batches"] == m
    outside = r["dp_comm_exposed_s"] + r["zero3_comm_exposed_s"] + r["optimizer_s"]
    pipeline = r["step_time_s"] - outside
    steady = pipeline - r["bubble_s"]
    # 1F1B idles (pp-1) time units out of m + pp - 1
    assert r["bubble_s"] == pytest.approx((pp - 1) / m * steady, rel=1e-9)
    # the steady part is m stage times plus one activation and one gradient hop each
    assert steady == pytest.approx(r["compute_s"] + r["tp_comm_s"] + r["ep_comm_s"]
                                   + r["pp_comm_s"] * m / (m + pp - 1), rel=1e-9)
    # interleaving v chunks cuts the idle units to (pp-1)/v, but each unit now sends and
    # receives v activations and v gradients instead of one of each (blocking sends)
    v2 = run(h100, dgx, lay(pp=pp, mb=1, v=2), gpus=4, global_batch=m)
    hop = r["pp_comm_s"] / (2 * (m + pp - 1))
    unit = steady / m
    assert v2["bubble_s"] == pytest.approx((pp - 1) / 2 * (unit + 2 * hop), rel=1e-9)
    assert v2["pp_comm_s"] == pytest.approx((m + (pp - 1) / 2) * 2 * 2 * hop, rel=1e-9)
    assert run(h100, dgx, lay(mb=1), gpus=1, global_batch=m)["bubble_s"] == 0.0


def test_tp_and_dp_communication_vanish_at_degree_one(h100, dgx):
    base = run(h100, dgx, lay(mb=2), gpus=1, global_batch=8)
    assert base["tp_comm_s"] == 0.0 and base["dp_comm_exposed_s"] == 0.0
    tp2 = run(h100, dgx, lay(tp=2, mb=2), gpus=2, global_batch=8)
    assert tp2["tp_comm_s"] > 0.0 and tp2["dp_comm_exposed_s"] == 0.0
    dp2 = run(h100, dgx, lay(dp=2, mb=2), gpus=2, global_batch=8)
    assert dp2["tp_comm_s"] == 0.0 and dp2["dp_comm_exposed_s"] > 0.0


def test_full_recompute_repeats_forward_tp_collectives(h100, dgx):
    # 2 all-reduces forward + 2 backward per layer; full recompute re-runs the forward two
    none = run(h100, dgx, lay(tp=2, mb=2), gpus=2, global_batch=8)
    full = run(h100, dgx, lay(tp=2, mb=2), gpus=2, global_batch=8, recompute="full")
    assert full["tp_comm_s"] == pytest.approx(1.5 * none["tp_comm_s"], rel=1e-12)


def test_parameters_on_the_most_loaded_gpu(h100, dgx):
    # GPT-3 350M: 24 layers of 12h^2 + 13h (h = 1024); tied 50257-token embedding, 2048 learned
    # positions, final LayerNorm 2h.
    layer, emb, pos, norm = 12 * 1024**2 + 13 * 1024, 50257 * 1024, 2048 * 1024, 2 * 1024
    one = run(h100, dgx, lay(mb=1), gpus=1, global_batch=8)
    assert one["params_local"] == 24 * layer + emb + pos + norm
    # pp = 2: the first stage holds 12 layers, the token and position embeddings; the last
    # holds 12 layers, the final norm and the LM head, which for a tied model is a copy of the
    # token embedding (Megatron-LM keeps one on the last stage and all-reduces its gradient).
    two = run(h100, dgx, lay(pp=2, mb=1), gpus=2, global_batch=8)
    first, last = 12 * layer + emb + pos, 12 * layer + emb + norm
    assert two["params_local"] == pytest.approx(max(first, last), rel=1e-9)


# ------------------------------------------------------------------ placement and collectives


def toy_comm() -> CommModel:
    up = tier_row(450e9, 2e-6, 8, efficiency=0.8, half_bytes=4e6)
    out = tier_row(50e9, 5e-6, np.inf, efficiency=0.9)
    return CommModel(np.vstack([up, out]), 8)


def test_split_by_stride(dgx):
    # 8-GPU domains; ranks numbered tp innermost, so stride k keeps 8 // k group members
    # per domain
    assert dgx.scaleup_domain == 8
    assert dgx.split(16, 1) == (8, 2)
    assert dgx.split(4, 8) == (1, 4)
    assert dgx.split(4, 2) == (4, 1)
    assert dgx.split(8, 2) == (4, 2)
    assert dgx.split(1, 1) == (1, 1)


def test_ring_all_reduce_by_hand():
    c = toy_comm()
    s = 396e6
    busbw = 0.8 * 450e9 * s / (s + 4e6)            # 356.4 GB/s at this size
    ring = 2 * (7 / 8) * s / busbw + 14 * 2e-6      # 1.944444 ms + 28 us
    assert ring == pytest.approx(1.972444e-3, rel=1e-6)
    assert c.all_reduce(8, 1, s) == pytest.approx(ring, rel=1e-12)


# ------------------------------------------------------------------ power table


def hand_plan() -> TrainingPlan:
    return TrainingPlan(layout=lay(), micro_batches=1, clocks=np.array([0.5, 0.75, 1.0]),
                        step_time_s=np.array([2.0, 1.5, 1.2]),
                        gpu_power_w=np.array([300.0, 450.0, 650.0]), peak_memory_bytes=1.0,
                        usable_memory_bytes=2.0, model_flops_per_step=1.0, tokens_per_step=1.0,
                        mfu=0.5)


def test_at_power_by_hand():
    plan = hand_plan()
    assert plan.at_power(700.0) == (1.2, 650.0, 1.0)
    assert plan.at_power(450.0) == pytest.approx((1.5, 450.0, 0.75))
    # halfway in power between 300 W and 450 W: clock 0.625; in 1/clock (2 -> 1.6 of 2 -> 4/3)
    # that is 60% of the way, so the step is 2.0 - 0.6 * 0.5 = 1.7 s
    assert plan.at_power(375.0) == pytest.approx((1.7, 375.0, 0.625))


def test_at_power_on_a_planned_job(h100, dgx):
    plan = plan_training(model("gpt3-125m"), h100, 8, 64, 2, 2048, Recipe("bf16-amp", "none", "adamw-foreach"),
                         Layout(tp=2, pp=2, zero=1).resolve(8, 2), dgx)
    power, clocks, steps = plan.gpu_power_w, plan.clocks, plan.step_time_s
    assert np.all(np.diff(power) >= 0) and np.all(np.diff(steps) <= 0)
    # a cap above what compute-bound kernels draw flat out leaves the table's top row; a cap
    # between the step-average power and that draw still holds the GEMM phases lower
    assert plan.at_power(h100.compute_power_w() + 1.0) == (steps[-1], power[-1], clocks[-1])
    assert plan.at_power(power[-1] + 100.0)[0] > steps[-1]
    i = len(clocks) // 2
    cap = 0.5 * (power[i] + power[i + 1])
    step, p, clock = plan.at_power(cap)
    # the step-average limit alone would put the clock between grid points i and i+1 with the
    # board at the cap; the power limiter holds GEMM phases at the clock where compute-bound
    # kernels alone draw the cap: idle + (P_compute - idle) * clock^3 = cap
    limiter = ((cap - h100.spec.idle_power) / (h100.compute_power_w() - h100.spec.idle_power)) ** (1 / 3)
    average = clocks[i] + (cap - power[i]) / (power[i + 1] - power[i]) * (clocks[i + 1] - clocks[i])
    assert clock == pytest.approx(min(average, limiter, 1.0))
    assert p <= cap * (1 + 1e-12)
    assert steps[-1] < step < steps[0]


def test_step_volumes_by_hand():
    from simulator.costmodel.comm import step_volumes

    # tp 8, pp 8, dp 1 on 8-GPU domains, 512 micro-batches of S = 2048*12288*2 bytes, 12 layers a stage.
    s_bytes = 2048 * 12288 * 2.0
    v = step_volumes(lay(tp=8, pp=8, dp=1, sp=1), 8, 512, 12, s_bytes,
                     2.8e9, 4.0, 2.0)
    # TP: 2 passes x 2 all-reduce-equivalents x 2*(7/8)*S per layer and micro-batch, all on NVLink.
    assert v["tp_bytes"] == pytest.approx(2 * 2 * 2 * 7 / 8 * s_bytes * 12 * 512)
    # PP: one activation and one gradient of S/tp per micro-batch, between nodes (tp*dp = 8).
    assert v["pp_bytes"] == pytest.approx(2 * 512 * s_bytes / 8)
    assert v["scaleout_bytes"] == pytest.approx(v["pp_bytes"])
    assert v["scaleup_bytes"] == pytest.approx(v["tp_bytes"])
    # DP over 32 ranks of stride 1 on 8-GPU domains: reduce-scatter + all-gather, hierarchical:
    # inside the node 7/8 of each buffer, across the 4 nodes 3/4 of an eighth of it.
    w = step_volumes(lay(dp=32, zero=1), 8, 4, 24, s_bytes,
                     1e9, 4.0, 2.0)
    up = 7 / 8 * (4e9 + 2e9)
    out = 3 / 4 * (4e9 + 2e9) / 8
    assert w["scaleup_bytes"] == pytest.approx(up) and w["scaleout_bytes"] == pytest.approx(out)
    assert w["dp_bytes"] == pytest.approx(up + out)
