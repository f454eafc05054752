"""Single-device training and serving estimates: identities, monotonic trends, bounds."""

from __future__ import annotations

from itertools import pairwise

import pytest

from simulator.costmodel.device import DeviceModel
from simulator.costmodel.memory import usable_bytes
from simulator.costmodel.training import estimate_train
from simulator.domain.catalog import shipped_catalog
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError

H100_BF16_PEAK = 989.4e12


def model(name: str) -> ModelSpec:
    return shipped_catalog().models.get(name)


@pytest.fixture(scope="module")
def h100() -> DeviceModel:
    return DeviceModel.from_name("h100-sxm")


def gpt3_350m_model_flops(b: int, s: int) -> float:
    """6*N*tokens + 3x causal attention (QK^T, PV) by hand for GPT-3 350M."""
    n = 24 * 12 * 1024**2 + 50257 * 1024
    attn = 4 * b * s * s * 16 * 64 * 24 * (s + 1) / (2 * s)
    return 6 * n * b * s + 3 * attn


# ------------------------------------------------------------------ training


@pytest.mark.parametrize("gpus, global_batch", [(1, None), (2, None), (1, 8)])
def test_train_throughput_and_mfu_identities(h100, gpus, global_batch):
    mb, seq = 2, 2048
    est = estimate_train(model("gpt3-350m"), h100, mb, seq, gpus=gpus, global_batch=global_batch)
    micro_batches = 1 if global_batch is None else global_batch // (mb * gpus)
    step = est.step_time_s
    assert est.tokens_per_s == pytest.approx(micro_batches * mb * seq * gpus / step, rel=1e-12)
    flops = micro_batches * gpt3_350m_model_flops(mb, seq)
    assert est.model_flops_per_step == pytest.approx(gpus * flops, rel=1e-12)
    assert est.mfu == pytest.approx(flops / (step * H100_BF16_PEAK), rel=1e-12)
    assert 0.0 < est.mfu < 0.8
    assert est.energy_per_step_j == pytest.approx(est.avg_power_w * step, rel=1e-12)


def test_train_hardware_flops_exceed_model_flops(h100):
    est = estimate_train(model("gpt3-350m"), h100, 2, 2048)
    # whole flash-attention tiles and the recomputed scores of its backward add work
    assert est.hardware_flops_per_step > est.model_flops_per_step


def test_larger_micro_batch_never_lowers_throughput(h100):
    rates = [estimate_train(model("gpt3-350m"), h100, mb, 2048).tokens_per_s for mb in (1, 2, 4, 8)]
    assert all(b >= a for a, b in pairwise(rates)), rates


def test_full_recompute_is_slower_and_smaller(h100):
    spec = model("gpt3-350m")
    none = estimate_train(spec, h100, 4, 2048, recompute="none")
    full = estimate_train(spec, h100, 4, 2048, recompute="full")
    assert full.step_time_s > none.step_time_s
    assert full.peak_memory_bytes < none.peak_memory_bytes
    assert full.memory["activations"] < none.memory["activations"]
    # the re-run forward adds its GEMM work: at least 2 * N * tokens more hardware FLOPs
    layer_matmul = 24 * 12 * 1024**2
    assert full.hardware_flops_per_step - none.hardware_flops_per_step == pytest.approx(
        2 * layer_matmul * 4 * 2048 + 4 * 4 * 2048**2 * 16 * 64 * 24 * 17 / 32, rel=1e-9)


def test_llama2_70b_does_not_fit_one_h100(h100):
    spec = model("llama2-70b")
    with pytest.raises(DoesNotFitError) as err:
        estimate_train(spec, h100, 1, 4096)
    e = err.value
    assert e.available_bytes == pytest.approx(usable_bytes(h100.spec.hbm))
    # 69e9 parameters at 16 B (AMP + Adam) alone are ~1.1 TB
    assert e.needed_bytes > 68.9e9 * 16 > e.available_bytes
    assert "GiB" in str(e)


def test_power_cap_slows_the_step(h100):
    spec = model("gpt3-350m")
    free = estimate_train(spec, h100, 8, 2048)
    capped = estimate_train(spec, h100, 8, 2048, power_cap_w=400.0)
    assert capped.step_time_s > free.step_time_s
    assert capped.avg_power_w <= 400.0 + 1e-9
    assert capped.clock_fraction < free.clock_fraction <= 1.0
    assert free.avg_power_w <= h100.spec.tdp + 1e-9


def test_estimates_are_deterministic(h100):
    gpt = model("gpt3-350m")
    for run in (lambda: estimate_train(gpt, h100, 2, 1024),):
        assert run().as_dict() == run().as_dict()
