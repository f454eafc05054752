"""A serving replica's memory budget (costmodel/serving_memory.py) by hand, and its tabulated
load curves (costmodel/serving_plan.py): caps held and slowing it, throughput rising with load
up to its capacity, the batch its KV cache admits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving_memory import kv_budget, kv_bytes_per_token, weights_bytes_per_gpu
from simulator.costmodel.serving_plan import concurrency_grid, plan_serving
from simulator.costmodel.serving_replica import EngineSettings, Replica, Workload
from simulator.domain.catalog import shipped_catalog
from simulator.domain.precision import serving_precision
from simulator.errors import DoesNotFitError

CATALOG = shipped_catalog()
NODE = CATALOG.nodes.get("dgx-h100")
H100 = DeviceModel.from_name("h100-sxm", CATALOG)
COMM = CommModel.for_node(NODE, H100.spec)
LLAMA8 = CATALOG.models.get("llama-3-8b")
LLAMA70 = CATALOG.models.get("llama-3-70b")
GIB = 2**30


def recipe(weights="bf16", kv=None):
    return serving_precision(weights, None, kv, tuple(H100.spec.peak_flops))[0]


def replica(model=LLAMA8, tp=1, prompt=512, output=128, engine="tensorrt-llm", weights="bf16", kv=None, **settings):
    eng = CATALOG.engines.get(engine)
    return Replica(model, H100, COMM, tp, recipe(weights, kv), EngineSettings.of(eng, **settings),
                   Workload.fixed(prompt, output))


def test_concurrency_grid():
    assert concurrency_grid(1).tolist() == [1.0]
    assert concurrency_grid(48).tolist() == [1, 2, 4, 8, 16, 32, 48]


def test_kv_bytes_per_token_by_hand():
    # Llama-3 8B: 2 (K, V) x 32 layers x 8 KV heads x 128 x 2 bytes = 131,072 B; fp8 half; TP 2
    # splits the 8 KV heads.
    assert kv_bytes_per_token(LLAMA8, 2.0) == 131_072
    assert kv_bytes_per_token(LLAMA8, 1.0) == 65_536
    assert kv_bytes_per_token(LLAMA8, 2.0, tp=2) == 65_536
    # 70B on TP 16: 8 KV heads are replicated to one per rank.
    assert kv_bytes_per_token(LLAMA70, 2.0, tp=16) == 2 * 80 * 1 * 128 * 2


def test_vllm_budget_is_a_share_of_total_memory_and_trtllm_a_share_of_what_is_free():
    vllm, trt = CATALOG.engines.get("vllm"), CATALOG.engines.get("tensorrt-llm")
    hbm = H100.spec.hbm
    w = weights_bytes_per_gpu(LLAMA8, recipe())
    b = kv_budget(LLAMA8, recipe(), vllm, hbm, 1, 0.9, 8192, 1024, 16)
    assert b.weights_bytes == w
    assert b.kv_bytes == pytest.approx(0.9 * hbm - w - b.activation_bytes - vllm.runtime_reserve)
    t = kv_budget(LLAMA8, recipe(), trt, hbm, 1, 0.9, 8192, 2048, 32)
    assert t.kv_bytes == pytest.approx(0.9 * (hbm - w - t.activation_bytes - trt.runtime_reserve))
    # Whole blocks of tokens.
    assert b.kv_tokens % 16 == 0 and b.kv_tokens * 131_072 <= b.kv_bytes < (b.kv_tokens + 16) * 131_072


def test_a_replica_whose_one_request_cannot_fit_says_how_much_it_needs():
    with pytest.raises(DoesNotFitError) as err:
        replica(LLAMA70)
    assert err.value.needed_bytes > err.value.available_bytes
    assert "gpus_per_replica" in str(err.value)


def test_the_batch_is_what_the_kv_cache_admits():
    # Llama-3 8B bf16, 4096 + 4096 tokens each: the TensorRT-LLM budget (reserve admission)
    # holds floor(blocks / 256) requests at once, under its 2048-sequence limit.
    r = replica(prompt=4096, output=4096)
    blocks = r.budget.kv_tokens // 32
    sat = r.saturated(float(H100.spec.tdp))
    assert sat.running_mean == pytest.approx(blocks // 256, rel=0.02)
    # max_num_seqs below that caps it.
    capped = replica(prompt=4096, output=4096, max_num_seqs=16).saturated(float(H100.spec.tdp))
    assert capped.running_mean == pytest.approx(16, rel=0.01)
    assert capped.output_tokens_per_s < sat.output_tokens_per_s


def test_load_curves_rise_to_the_capacity_and_caps_slow_them():
    plan = plan_serving(replica())
    for curve in plan.curves:
        assert curve.rate_per_s[0] == 0 and np.all(np.diff(curve.rate_per_s) > 0)
        assert curve.rate_per_s[-1] == pytest.approx(curve.capacity_per_s)
        assert np.all(np.diff(curve.tpot_s) >= -1e-12)         # more load, never faster tokens
    capacities = [c.capacity_per_s for c in plan.curves]
    assert all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(capacities))
    for cap, curve in zip(plan.caps_w, plan.curves, strict=True):
        assert np.all(curve.power_w <= cap * (1 + 1e-6))
    assert plan.peak_power_w(float(H100.spec.tdp)) <= H100.spec.tdp * (1 + 1e-6)


def test_operating_point_between_idle_and_capacity():
    curve = plan_serving(replica()).at_cap(float(H100.spec.tdp))
    low, low_w = curve.point(0.0)
    assert low.batch == 0 and low_w == pytest.approx(H100.spec.idle_power)
    mid, _ = curve.point(curve.capacity_per_s / 2)
    assert 0 < mid.batch < curve.batch[-1] and 0 < mid.prefill_share < 1
    assert curve.prefill_s == pytest.approx(curve.ttft_s[1])
