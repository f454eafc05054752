"""One explicit serving iteration (costmodel/serving.py): weight streaming at batch 1, the KV read
by hand, quantised weights, prefill throughput, and whether an iteration fits the device."""

from __future__ import annotations

from itertools import pairwise

import pytest

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving import estimate_decode, estimate_prefill
from simulator.domain.catalog import shipped_catalog
from simulator.domain.precision import serving_precision
from simulator.errors import DoesNotFitError

CATALOG = shipped_catalog()
NODE = CATALOG.nodes.get("dgx-h100")
H100 = DeviceModel.from_name("h100-sxm", CATALOG)
COMM = CommModel.for_node(NODE, H100.spec)
TRT = CATALOG.engines.get("tensorrt-llm")
PEAKS = tuple(H100.spec.peak_flops)
BW = H100.calibration["memory_bw_fraction"] * H100.spec.hbm_bw


def prec(weights="bf16", kv=None):
    return serving_precision(weights, None, kv, PEAKS)[0]


def decode(model, batch, context, tp=1, recipe=None, engine=TRT):
    return estimate_decode(CATALOG.models.get(model), H100, COMM, tp, recipe or prec(), engine, batch, context)


def test_decode_batch1_near_weight_streaming_bound():
    est = decode("llama2-7b", 1, 128)
    assert est.weights_bytes == 6_738_415_616 * 2         # every weight in 16 bits
    # Streaming the weights, plus the engine's per-iteration host time (not overlapped).
    bound = est.weights_bytes / BW
    host = TRT.iteration_overhead + TRT.sequence_overhead
    assert bound + host <= est.time_s <= 1.25 * bound + host
    assert est.tokens_per_s == pytest.approx(1 / est.time_s)


def test_fp8_and_int4_weights_shrink_what_decode_streams():
    m = CATALOG.models.get("llama2-7b")
    embed = 2 * 32000 * 4096                              # token embedding + LM head, kept 16-bit
    layers = 6_738_415_616 - embed - 4096                 # and the final norm
    bf16, fp8, int4 = (decode("llama2-7b", 1, 128, recipe=prec(w)) for w in ("bf16", "fp8", "int4"))
    assert fp8.weights_bytes == pytest.approx(layers * 1.0 + (embed + 4096) * 2.0)
    assert int4.weights_bytes == pytest.approx(layers * (0.5 + 4 / 128) + (embed + 4096) * 2.0)
    # Batch-1 decode is a weight read: the time saved is the bytes saved over the copy bandwidth
    # (TensorRT-LLM quantises the activations inside the norm and GEMM-epilogue kernels).
    saved = (bf16.weights_bytes - fp8.weights_bytes) / BW
    assert bf16.time_s - fp8.time_s == pytest.approx(saved, rel=0.02)
    assert int4.time_s < fp8.time_s < bf16.time_s
    # Unfused (vLLM 0.2), fp8 adds two activation-quantisation kernels per layer (~2 us each).
    old = CATALOG.engines.get("vllm-0.2").model_copy(update={"cuda_graphs": True, "cuda_graph_max_batch": 8,
                                                             "kernel_fusion": "none", "iteration_overhead": 0.0,
                                                             "sequence_overhead": 0.0})
    a, b = (decode("llama2-7b", 1, 128, recipe=prec(w), engine=old) for w in ("bf16", "fp8"))
    quant = 2 * 32 * H100.calibration["kernel_overhead"]
    assert a.time_s - b.time_s == pytest.approx((a.weights_bytes - b.weights_bytes) / BW - quant, rel=0.03)
    del m


def test_decode_time_grows_with_context():
    times = [decode("llama2-7b", 4, c).time_s for c in (128, 1024, 4096, 8192)]
    assert all(b > a for a, b in pairwise(times)), times


@pytest.mark.parametrize("kv", ["bf16", "fp8"])
def test_decode_kv_read_by_hand(kv):
    # From 1024 to 4096 cached tokens each of 8 sequences reads 3072 more K and V rows of
    # 32 heads x 128 in each of 32 layers, at the decode kernel's share of copy bandwidth.
    recipe = prec("bf16" if kv == "bf16" else "fp8", kv)
    t1 = decode("llama2-7b", 8, 1024, recipe=recipe).time_s
    t4 = decode("llama2-7b", 8, 4096, recipe=recipe).time_s
    elem = 2 if kv == "bf16" else 1
    extra = 2 * 32 * 4096 * 3072 * 8 * elem / (BW * TRT.decode_attention_bw_fraction)
    assert t4 - t1 == pytest.approx(extra, rel=0.02)


def test_prefill_throughput_grows_at_small_batch():
    # 128 tokens of a 7B model read the weights (13.5 GB, ~4.5 ms) in about the time they compute
    # (1.7 TFLOP): a second prompt shares the read, beyond that the GEMMs are compute-bound.
    m = CATALOG.models.get("llama2-7b")
    rates = [estimate_prefill(m, H100, COMM, 1, prec(), TRT, b, 128).tokens_per_s for b in (1, 2, 4)]
    assert rates[1] > 1.5 * rates[0] and rates[2] > 0.95 * rates[1], rates


def test_tensor_parallelism_splits_the_weights_and_speeds_decode():
    one, two = decode("llama3-8b", 8, 1024), decode("llama3-8b", 8, 1024, tp=2)
    assert two.weights_bytes == pytest.approx(one.weights_bytes / 2)
    assert one.time_s / 2 < two.time_s < one.time_s


def test_a_6_7b_model_decoding_128_sequences_of_1024_tokens_fits_an_h100():
    # gpt3-6.7b in bf16: 13.3 GB of weights; KV 2 x 32 layers x 4096 x 2 B = 512 KiB per token,
    # x 128 x 1025 tokens = 68.8 GB: 76.5 GiB in all, within the H100's 79.2 GiB with the
    # engine's 2 GiB runtime reserve (it ran on a real H100 80GB).
    est = decode("gpt3-6.7b", 128, 1024)
    kv = 2 * 32 * 4096 * 2 * 128 * 1025
    assert est.kv_cache_bytes == kv
    assert est.fits and est.peak_memory_bytes < H100.spec.hbm
    assert (est.weights_bytes + kv) / 2**30 == pytest.approx(76.5, abs=0.1)


def test_an_iteration_beyond_the_device_says_so():
    with pytest.raises(DoesNotFitError) as err:
        decode("llama3-70b", 8, 1024)
    assert err.value.needed_bytes > err.value.available_bytes == H100.spec.hbm
    assert "GiB" in str(err.value)


def test_estimates_are_deterministic():
    m = CATALOG.models.get("llama2-7b")
    for run in (lambda: decode("llama2-7b", 4, 512), lambda: estimate_prefill(m, H100, COMM, 1, prec(), TRT, 2, 256)):
        assert run().as_dict() == run().as_dict()
