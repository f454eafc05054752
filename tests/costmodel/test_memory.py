"""Device memory: KV cache, training-state composition, ZeRO sharding, saved activations."""

from __future__ import annotations

import pytest

from simulator.costmodel import memory as mem
from simulator.costmodel import ops as optab
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.precision import precision_vector
from simulator.costmodel.training import estimate_train
from simulator.costmodel.transformer import model_vector
from simulator.domain.catalog import shipped_catalog
from simulator.domain.precision import precision
from simulator.domain.specs import ModelSpec

GIB = 2**30


def model(name: str) -> ModelSpec:
    return shipped_catalog().models.get(name)


def h100() -> DeviceModel:
    return DeviceModel.from_name("h100-sxm")


def gpt(layers: int) -> ModelSpec:
    """A GPT layer as in Korthikanti et al. (gelu MLP of 4h, learned positions, MHA)."""
    return ModelSpec(name=f"gpt-{layers}l", layers=layers, hidden=1024, heads=16, vocab=32000,
                     mlp="gelu", max_seq=2048)


# ------------------------------------------------------------------ KV cache


def test_kv_cache_llama2_70b_by_hand():
    # 2 (K, V) * 80 layers * 8 KV heads * 128 * 4096 tokens * 8 sequences * 2 bytes = 10 GiB
    assert 2 * 80 * 8 * 128 * 4096 * 8 * 2 == 10_737_418_240 == 10 * GIB
    assert mem.kv_cache_bytes(model("llama2-70b"), 8, 4096, 2.0) == 10_737_418_240


def test_kv_cache_tp_shards_kv_heads_and_replicates_below_one_per_rank():
    spec = model("llama2-70b")
    assert mem.kv_cache_bytes(spec, 8, 4096, 2.0, tp=2) == 10 * GIB / 2   # 4 KV heads per rank
    assert mem.kv_cache_bytes(spec, 8, 4096, 2.0, tp=8) == 10 * GIB / 8   # 1 KV head per rank
    # 8 KV heads over 16 ranks: each head is held by two ranks, still one head per rank
    assert mem.kv_cache_bytes(spec, 8, 4096, 2.0, tp=16) == 10 * GIB / 8
    # MHA Llama-2-7B: 32 KV heads / 4 = 8 per rank, fp8 cache (1 byte)
    assert mem.kv_cache_bytes(model("llama2-7b"), 1, 1000, 1.0, tp=4) == 2 * 32 * 8 * 128 * 1000


def test_serving_estimates_report_the_kv_cache():
    from simulator import api

    spec = model("llama2-7b")
    pre = api.estimate_prefill(spec, "h100-sxm", 2, 512)
    assert pre["kv_cache_bytes"] == 2 * 32 * 32 * 128 * 512 * 2 * 2
    dec = api.estimate_decode(spec, "h100-sxm", 4, 1000)
    assert dec["kv_cache_bytes"] == 2 * 32 * 32 * 128 * 1001 * 4 * 2   # cache incl. the new token


# ------------------------------------------------------------------ training state


def _tm(**kw):
    base = {"params_local": 1e9, "weight_bytes": 2.0, "grad_bytes": 4.0, "state_bytes": 12.0,
            "weight_cache_bytes": 0.0, "activations": 5e9, "loss_buffers": 1e9,
            "optimizer_temp_bytes": 0.0, "grads_live_in_forward": True}
    return mem.training_memory(**(base | kw))


def test_training_memory_composition_by_hand():
    m = _tm()
    # bf16 weights 2 GB, fp32 grads 4 GB, master + Adam 12 GB, activations 5 GB, loss 1 GB
    assert (m.weights, m.gradients, m.optimizer_states) == (2e9, 4e9, 12e9)
    assert m.peak == pytest.approx(2e9 + 12e9 + 5e9 + 1e9 + 4e9)
    assert _tm(grads_live_in_forward=False).peak == pytest.approx(20e9)
    # the optimizer step dominates when activations are small: weights + grads + states + temp
    step = _tm(activations=0.0, loss_buffers=0.0, grads_live_in_forward=False,
               optimizer_temp_bytes=4.0)
    assert step.optimizer_temporaries == 4e9
    assert step.peak == pytest.approx(2e9 + 4e9 + 12e9 + 4e9)
    cached = _tm(weight_cache_bytes=2.0)
    assert cached.weight_cache == 2e9 and cached.peak == pytest.approx(26e9)


@pytest.mark.parametrize("zero, weights, grads, states", [
    (0, 2e9, 4e9, 12e9),
    (1, 2e9, 4e9, 12e9 / 8),
    (2, 2e9, 4e9 / 8, 12e9 / 8),
    (3, 2e9 / 8, 4e9 / 8, 12e9 / 8),
])
def test_zero_stages_shard_over_dp(zero, weights, grads, states):
    m = _tm(zero_stage=zero, dp=8, optimizer_temp_bytes=4.0)
    assert (m.weights, m.gradients, m.optimizer_states) == pytest.approx((weights, grads, states))
    assert m.optimizer_temporaries == pytest.approx(4e9 / (8 if zero else 1))
    assert m.peak == pytest.approx(weights + states + 5e9 + 1e9 + grads)


def test_usable_bytes():
    # an absolute runtime reserve (0.75 GiB: CUDA context, workspaces, allocator slack), not a
    # share of the capacity; 1 GiB more for NCCL when the job's GPUs communicate
    assert mem.usable_bytes(80 * GIB) == pytest.approx(79.25 * GIB)
    assert mem.usable_bytes(h100().spec.hbm) == pytest.approx((79.18 - 0.75) * GIB)
    assert mem.usable_bytes(141e9) == pytest.approx(141e9 - 0.75 * GIB)
    assert mem.usable_bytes(80 * GIB, collectives=True) == pytest.approx(78.25 * GIB)


def test_estimate_train_state_bytes_bf16_amp():
    spec = model("gpt3-350m")
    # GPT-3 layers 12h^2 + 13h, tied head, 2048 learned positions, final LayerNorm (h = 1024)
    params = 24 * (12 * 1024**2 + 13 * 1024) + 50257 * 1024 + 2048 * 1024 + 2 * 1024
    est = estimate_train(spec, h100(), 1, 2048, precision_name="bf16-amp")
    m = est.memory
    # AMP: fp32 weights, fp32 grads, two fp32 Adam moments, a bf16 weight copy per forward
    assert (m["weights"], m["gradients"], m["optimizer_states"], m["weight_cache"]) == \
        pytest.approx((4 * params, 4 * params, 8 * params, 2 * params), rel=1e-12)


# ------------------------------------------------------------------ saved activations


def _layer_saved(prec_name: str, b: float, s: float, tp: float = 1.0, sp: float = 0.0) -> float:
    spec = gpt(1)
    ops = optab.new_table(optab.MAX_LAYER_OPS)
    n = optab.fill_layer(ops, 0, model_vector(spec), precision_vector(precision(prec_name)),
                     b, s, tp, sp, 1.0, 0, optab.RC_NONE)
    return float(ops[:n, optab.OpCol.SAVED].sum())


def test_bf16_mixed_gpt_layer_saves_34_sbh():
    # Korthikanti et al. (2022) eq. 2, 2-byte activations, no attention-score term:
    #   LN1 input 2sbh, QKV input 2sbh, Q K V 6sbh, attention output O 2sbh (flash keeps it,
    #   plus its fp32 logsumexp 4*b*s*heads), out-proj input 2sbh, LN2 input 2sbh, fc1 input
    #   2sbh, GeLU input 8sbh, fc2 input 8sbh  = 34 sbh (O standing in for the dropout masks).
    b, s, h, a = 2.0, 1024.0, 1024.0, 16.0
    saved = _layer_saved("bf16-mixed", b, s)
    assert saved == pytest.approx(34 * s * b * h, rel=0.01)
    assert saved == pytest.approx(34 * s * b * h + 4 * b * s * a, rel=1e-12)


def test_bf16_amp_gpt_layer_saves_fp32_norm_inputs():
    # As above with fp32 LayerNorm inputs (4sbh each instead of 2sbh): 38 sbh
    b, s, h, a = 2.0, 1024.0, 1024.0, 16.0
    saved = _layer_saved("bf16-amp", b, s)
    assert saved == pytest.approx(38 * s * b * h + 4 * b * s * a, rel=1e-12)


def _acts(layers: int, recompute: str) -> dict:
    est = estimate_train(gpt(layers), h100(), 2, 1024, precision_name="bf16-mixed",
                         recompute=recompute, check_fit=False)
    return est.memory


def test_estimate_train_activations_per_layer_bf16_mixed():
    # Two models that differ only in depth: the difference is two layers' saved tensors.
    per_layer = (_acts(4, "none")["activations"] - _acts(2, "none")["activations"]) / 2
    s, b, h = 1024, 2, 1024
    assert per_layer == pytest.approx(34 * s * b * h, rel=0.01)


def test_loss_tensors_counted_once():
    # Beyond the layers, a step keeps the final-norm input and output (the LM head's input),
    # 2sbh each, and the loss tensors at the start of its backward: bf16 logits (2 B), the fp32
    # log-probabilities saved for backward (4 B), their dense fp32 gradient from nll_loss (4 B)
    # and the fp32 logit gradient (4 B) per token and vocabulary entry.
    s, b, h, v = 1024, 2, 1024, 32000
    two, four = _acts(2, "none"), _acts(4, "none")
    per_layer = (four["activations"] - two["activations"]) / 2
    outside_layers = two["activations"] - 2 * per_layer + two["loss_buffers"]
    assert outside_layers == pytest.approx(4 * s * b * h + s * b * v * (2 + 4 + 4 + 4), rel=1e-9)


def test_full_recompute_keeps_layer_inputs_only():
    s, b, h = 1024, 2, 1024
    two, four = _acts(2, "none"), _acts(4, "none")
    per_layer = (four["activations"] - two["activations"]) / 2
    outside_layers = four["activations"] - 4 * per_layer
    full = _acts(4, "full")
    # each layer's input (bf16, 2sbh) + one layer re-created during its backward + what lies
    # outside the layers (final norm, loss tensors), which recompute does not touch
    assert full["activations"] == pytest.approx(4 * 2 * s * b * h + per_layer + outside_layers,
                                                rel=1e-9)
    assert full["activations"] < four["activations"]
