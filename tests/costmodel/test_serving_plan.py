"""A serving replica's tabulated costs (costmodel/serving_plan.py): memory by hand, tensor
parallelism, power caps held, and agreement with the single-GPU estimates."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving import estimate_decode, estimate_prefill
from simulator.costmodel.serving_plan import batch_grid, plan_serving, replica_memory_bytes
from simulator.domain.catalog import shipped_catalog
from simulator.errors import DoesNotFitError

CATALOG = shipped_catalog()
NODE = CATALOG.nodes.get("dgx-h100")
ACCEL = CATALOG.accelerators.get(NODE.accelerator)
H100 = DeviceModel.from_name(ACCEL.name, CATALOG)
COMM = CommModel.for_node(NODE, ACCEL)
LLAMA8 = CATALOG.models.get("llama-3-8b")
LLAMA70 = CATALOG.models.get("llama-3-70b")


def test_batch_grid():
    assert batch_grid(1).tolist() == [1.0]
    assert batch_grid(48).tolist() == [1, 2, 4, 8, 16, 32, 48]
    assert batch_grid(64).tolist() == [1, 2, 4, 8, 16, 32, 64]


def test_replica_memory_by_hand():
    # Llama-3 8B: 8.03e9 parameters x 2 bytes; KV cache 2 x 32 layers x 8 KV heads x 128 x
    # 1000 tokens x 4 requests x 2 bytes = 524,288,000 bytes; plus a prefill transient < 1 GB.
    need = replica_memory_bytes(LLAMA8, 1, 4, 1000)
    floor = 8_030_261_248 * 2 + 524_288_000
    assert floor < need < floor + 1e9
    # Tensor parallelism 2 halves weights and the KV heads each rank holds.
    assert replica_memory_bytes(LLAMA8, 2, 4, 1000) == pytest.approx(need / 2, rel=0.02)


def test_a_replica_that_does_not_fit_says_how_much_it_needs():
    with pytest.raises(DoesNotFitError) as err:
        plan_serving(LLAMA70, H100, COMM, 1, 1024, 256, 64)
    assert err.value.needed_bytes > err.value.available_bytes
    assert "gpus_per_replica" in str(err.value)


def test_single_gpu_plan_matches_the_estimates_at_full_power():
    plan = plan_serving(LLAMA8, H100, COMM, 1, 512, 128, 16)
    top = plan.at_cap(ACCEL.tdp)
    assert top.prefill_s == pytest.approx(estimate_prefill(LLAMA8, H100, 1, 512).time_s, rel=1e-9)
    # Decode is tabulated at the mean context of a request's life: prompt + output / 2.
    for b, t in zip(plan.batches, top.decode_s, strict=True):
        assert t == pytest.approx(estimate_decode(LLAMA8, H100, int(b), 512 + 64).time_s, rel=1e-9)


def test_tensor_parallel_replica_is_faster_but_not_perfectly():
    one = plan_serving(LLAMA8, H100, COMM, 1, 1024, 256, 32).at_cap(ACCEL.tdp)
    four = plan_serving(LLAMA8, H100, COMM, 4, 1024, 256, 32).at_cap(ACCEL.tdp)
    assert one.prefill_s / 4 < four.prefill_s < one.prefill_s
    assert one.decode_s[0] / 4 < four.decode_s[0] < one.decode_s[0]


def test_caps_are_held_and_slow_the_replica():
    plan = plan_serving(LLAMA8, H100, COMM, 1, 1024, 256, 64)
    # Every tabulated board power is within its cap (memory-bound decode at a low cap idles
    # between kernels rather than overshooting), and lower caps never speed anything up.
    assert np.all(plan.decode_power_w <= plan.caps_w[:, None] * (1 + 1e-9))
    assert np.all(plan.prefill_power_w <= plan.caps_w * (1 + 1e-9))
    assert np.all(np.diff(plan.decode_s, axis=0) <= 1e-15)
    assert np.all(np.diff(plan.prefill_s) <= 1e-15)
    # Decode time grows with the batch at every cap.
    assert np.all(np.diff(plan.decode_s, axis=1) > 0)


def test_peak_power_is_the_hungrier_of_prefill_and_full_decode():
    plan = plan_serving(LLAMA8, H100, COMM, 1, 1024, 256, 64)
    top = plan.at_cap(ACCEL.tdp)
    # Prefill is compute-bound and draws more than any decode batch at full power.
    assert plan.peak_power_w(ACCEL.tdp) == pytest.approx(top.prefill_power_w)
    assert top.prefill_power_w > top.decode_power_w.max()
    assert plan.peak_power_w(300.0) <= 300.0 * (1 + 1e-9)
