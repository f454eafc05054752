"""Transformer parameter counts and FLOPs against published sizes and hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.costmodel import ops as optab
from simulator.costmodel import transformer as tfm
from simulator.costmodel.precision import precision_vector
from simulator.domain.catalog import shipped_catalog
from simulator.domain.precision import precision
from simulator.domain.specs import ModelSpec


def model(name: str) -> ModelSpec:
    return shipped_catalog().models.get(name)


# ------------------------------------------------------------------ parameter counts


def test_gpt3_175b_closed_form_with_tied_embeddings():
    # GPT-3 uses GPT-2's architecture: tied input/output embeddings, learned positions.
    # Per layer 12h^2 + 13h (QKV+out 4h^2+4h, MLP 8h^2+5h, two LayerNorms 4h), h = 12288:
    #   12 * 150,994,944 + 13 * 12288 = 1,812,099,072;  x96 = 173,961,510,912
    # tokens 50257*12288 = 617,558,016; positions 2048*12288 = 25,165,824; final LN 24,576
    spec = model("gpt3-175b").model_copy(update={"tied_embeddings": True})
    assert tfm.layer_params(spec) == 1_812_099_072
    assert tfm.param_count(spec) == 173_961_510_912 + 617_558_016 + 25_165_824 + 24_576
    assert tfm.param_count(spec) == pytest.approx(174.6e9, rel=1e-3)


def test_gpt3_175b_catalog_entry_matches_published_size():
    # The published 175B (174.6e9) counts the LM head once: it is the token embedding.
    assert tfm.param_count(model("gpt3-175b")) == pytest.approx(174.6e9, rel=1e-3)


def test_llama2_7b_exact():
    # layer: attention 4*4096^2 = 67,108,864; SwiGLU 3*4096*11008 = 135,266,304; 2 RMSNorms 8192
    # = 202,383,360; x32 = 6,476,267,520; embedding + untied head 2*32000*4096; final norm 4096.
    spec = model("llama2-7b")
    assert tfm.layer_params(spec) == 202_383_360
    assert tfm.param_count(spec) == 6_738_415_616


def test_llama3_8b_exact_with_gqa():
    # attention 4096*(32+2*8)*128 + 32*128*4096 = 41,943,040; MLP 3*4096*14336 = 176,160,768
    spec = model("llama3-8b")
    assert tfm.attention_params_per_layer(spec) == 41_943_040
    assert tfm.mlp_params_per_expert(spec) == 176_160_768
    assert tfm.param_count(spec) == 8_030_261_248


def test_mixtral_total_and_active():
    spec = model("mixtral-8x7b")
    # layer: 41,943,040 attention + 8 experts * 176,160,768 + router 4096*8 + norms 8192
    layer = 41_943_040 + 8 * 176_160_768 + 32_768 + 8_192
    assert tfm.layer_params(spec) == layer
    assert tfm.param_count(spec) == 32 * layer + 2 * 32_000 * 4096 + 4096
    assert tfm.param_count(spec) == pytest.approx(46.7e9, rel=1e-3)
    # A token passes through 2 of 8 experts: 32*(attention + 2*3*h*f + router) + LM head.
    active = 32 * (41_943_040 + 2 * 176_160_768 + 32_768) + 32_000 * 4096
    assert tfm.active_matmul_params(spec) == active == 12_748_587_008
    # Mixtral reports 12.9e9 active parameters (these plus the input embedding rows).
    assert active + 32_000 * 4096 == pytest.approx(12.9e9, rel=1e-2)


# ------------------------------------------------------------------ FLOPs


def _gpt3_350m_matmul_params() -> int:
    # 24 layers of 12*h^2 matmul weights (h = 1024) + LM head 50257*1024
    return 24 * 12 * 1024**2 + 50257 * 1024


@pytest.mark.parametrize("b, s", [(1, 2048), (4, 2048), (2, 1000)])
def test_six_n_d_plus_causal_attention(b, s):
    spec = model("gpt3-350m")
    n = _gpt3_350m_matmul_params()
    assert tfm.active_matmul_params(spec) == n == 353_453_056
    # QK^T and PV: 4*b*s*s*heads*head_dim per layer over (s+1)/(2s) of the square (causal)
    attn = 4 * b * s * s * 16 * 64 * 24 * (s + 1) / (2 * s)
    expected = 6 * n * b * s + 3 * attn
    assert 3 * tfm.forward_flops(spec, b, s) == pytest.approx(expected, rel=1e-12)
    assert tfm.model_flops_per_step(spec, b, s) == pytest.approx(expected, rel=1e-12)


def test_llama2_7b_training_flops_by_hand():
    spec = model("llama2-7b")
    n = 32 * (4 * 4096**2 + 3 * 4096 * 11008) + 32000 * 4096
    b, s = 1, 4096
    attn = 4 * b * s * s * 32 * 128 * 32 * (s + 1) / (2 * s)
    expected = 6 * n * b * s + 3 * attn
    assert tfm.model_flops_per_step(spec, b, s) == pytest.approx(expected, rel=1e-12)


def test_bert_is_not_causal():
    spec = model("bert-large")
    n = 24 * 12 * 1024**2 + 30522 * 1024
    b, s = 8, 512
    attn = 4 * b * s * s * 16 * 64 * 24  # fraction 1.0: every key attended
    assert 3 * tfm.forward_flops(spec, b, s) == pytest.approx(6 * n * b * s + 3 * attn, rel=1e-12)
    assert tfm.forward_flops(spec, b, s, tile=128) == tfm.forward_flops(spec, b, s)


def test_moe_flops_use_top_k_experts():
    spec = model("mixtral-8x7b")
    dense_equiv = spec.model_copy(update={"experts": 1, "top_k": 1})
    b, s = 1, 1024
    # top-2 routing: one more expert MLP (3*h*f) per layer plus the router (h*E) per token
    extra = 32 * (3 * 4096 * 14336 + 4096 * 8)
    assert tfm.forward_flops(spec, b, s) - tfm.forward_flops(dense_equiv, b, s) == pytest.approx(
        2 * extra * b * s, rel=1e-12)


def test_causal_fractions():
    assert tfm.causal_fraction(2048, True, 128) == 17 / 32        # 16 tile rows: (16+1)/(2*16)
    assert tfm.causal_fraction(2048, True) == 2049 / 4096         # exact: (s+1)/(2s)
    assert tfm.causal_fraction(2048, False, 128) == 1.0
    assert tfm.causal_fraction(100, True, 128) == 1.0             # one tile, computed whole
    assert tfm.causal_fraction(129, True, 128) == 3 / 4           # 2 tile rows: 3 of 4 tiles


def test_decode_flops_small_config_by_hand():
    spec = ModelSpec(name="tiny", layers=2, hidden=64, heads=4, kv_heads=2, ffn_hidden=128,
                     mlp="swiglu", norm="rmsnorm", bias=False, position="rope", vocab=100)
    # per layer: QKV 64*(4+2*2)*16 = 8192, out 4*16*64 = 4096, SwiGLU 3*64*128 = 24576
    # -> 36,864; x2 layers = 73,728; LM head 100*64 = 6400 -> 80,128 matmul params
    assert tfm.active_matmul_params(spec) == 80_128
    # b = 3, 10 cached tokens + the new one: 2*80128*3 + 4*3*11*(4 heads*16)*2 layers
    assert tfm.decode_flops(spec, 3, 10) == 480_768 + 16_896


# ------------------------------------------------------------------ op table agrees


@pytest.mark.parametrize("name, layer_matmul", [
    ("gpt3-350m", 12 * 1024**2),
    ("llama3-8b", 41_943_040 + 176_160_768),
    ("mixtral-8x7b", 41_943_040 + 2 * 176_160_768 + 4096 * 8),
])
def test_op_table_gemm_flops_match_closed_form(name, layer_matmul):
    spec = model(name)
    mv = tfm.model_vector(spec)
    pv = precision_vector(precision("bf16-amp"))
    b, s = 2.0, 2048.0
    ops = optab.new_table(3 * optab.MAX_LAYER_OPS)
    n_fwd = optab.fill_layer(ops, 0, mv, pv, b, s, 1.0, 0.0, 1.0, 0, optab.RC_NONE)
    n = optab.fill_layer(ops, n_fwd, mv, pv, b, s, 1.0, 0.0, 1.0, 1, optab.RC_NONE)
    flop = ops[:n, optab.OpCol.FLOP] * ops[:n, optab.OpCol.COUNT]
    gemm = ops[:n, optab.OpCol.KIND] == optab.K_GEMM
    fwd = np.arange(n) < n_fwd
    assert flop[fwd & gemm].sum() == pytest.approx(2 * layer_matmul * b * s, rel=1e-12)
    # backward: input and weight gradients, twice the forward GEMM work
    assert flop[~fwd & gemm].sum() == pytest.approx(4 * layer_matmul * b * s, rel=1e-12)
    # flash attention forward computes 17/32 of the 2048x2048 square (128-wide tiles)
    attn = 4 * b * s * s * spec.heads * spec.d_head * 17 / 32
    attn_rows = ops[:n, optab.OpCol.KIND] == optab.K_ATTN_FWD
    assert flop[fwd & attn_rows].sum() == pytest.approx(attn, rel=1e-12)
