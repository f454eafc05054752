"""Inference iterations: prefill (eager forward over the prompt) and decode (one token per
sequence, replayed as a CUDA graph), each with time, throughput, memory and power.

Prefill writes the prompt's K and V into the cache and computes logits for the last position
only (as serving engines do). Decode reads every weight once per step (GEMMs with M = batch are
bandwidth-bound) and the whole KV cache once (flash-decoding splits the keys so the read runs
at memory bandwidth, Dao et al., 2023).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from numba import njit

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.ops import (
    H_OP,
    K_ATTN_FWD,
    MAX_LAYER_OPS,
    PH_FWD,
    fill_head,
    fill_layer,
    new_table,
    put,
    put_gemm,
    put_mem,
)
from simulator.costmodel.precision import PrecCol, precision_vector
from simulator.costmodel.timeline import ResultCol, play_parts
from simulator.costmodel.transformer import ModelCol, decode_flops, forward_flops, model_vector, param_count
from simulator.domain.precision import SERVING_PRECISION, precision
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError


@njit(cache=True)
def fill_kv_write(ops, n, mv, b, tokens, tp, elem):
    """Copy new K and V rows into the cache (two kernels)."""
    kvd = max(mv[ModelCol.KV_HEADS], tp) * mv[ModelCol.HEAD_DIM] / tp
    return put_mem(ops, n, 2.0 * elem * b * tokens * kvd, PH_FWD, 0.0, 2.0)


@njit(cache=True)
def build_prefill(ops, mv, pv, b, s, layers, tp):
    """Eager forward over a prompt of ``s`` tokens for ``b`` sequences."""
    n = 0
    h = mv[ModelCol.HIDDEN]
    n = put_mem(ops, n, 4.0 * b * s * h, PH_FWD, 0.0, 1.0)            # embedding gather
    if mv[ModelCol.LEARNED_POS] > 0.5:
        n = put_mem(ops, n, 6.0 * b * s * h, PH_FWD, 0.0, 1.0)
    for _ in range(layers):
        n = fill_layer(ops, n, mv, pv, b, s, tp, 0.0, 1.0, 0, 0)
        n = fill_kv_write(ops, n, mv, b, s, tp, 2.0)
    n = fill_head(ops, n, mv, pv, b, s, tp, 0.0, 0, b)
    return n


@njit(cache=True)
def fill_decode_layer(ops, n, mv, pv, b, context, tp):
    """One decode step of one layer: M = b GEMMs, KV append, attention over ``context`` keys."""
    h = mv[ModelCol.HIDDEN]
    a = mv[ModelCol.HEADS]
    g = mv[ModelCol.KV_HEADS]
    d = mv[ModelCol.HEAD_DIM]
    f = mv[ModelCol.FFN] / tp
    e = pv[PrecCol.ACT]
    ge = pv[PrecCol.GEMM_ELEM]
    qd = a * d / tp
    kvd = max(g, tp) * d / tp
    swiglu = mv[ModelCol.SWIGLU] > 0.5
    n = put_mem(ops, n, 2.0 * e * b * h, PH_FWD, 0.0, 1.0)                  # norm 1
    n = put_gemm(ops, n, b, qd + 2.0 * kvd, h, ge, PH_FWD, 0.0, 1.0)      # QKV
    if mv[ModelCol.ROPE] > 0.5:
        n = put_mem(ops, n, 2.0 * e * b * (qd + kvd), PH_FWD, 0.0, 1.0)
    n = fill_kv_write(ops, n, mv, b, 1.0, tp, e)
    keys = context + 1.0
    n = put(ops, n, K_ATTN_FWD, keys, 1.0, d, 4.0 * b * keys * qd,
            e * b * (2.0 * keys * kvd + 2.0 * qd), H_OP, 1.0, PH_FWD, 0.0)
    n = put_mem(ops, n, 4.0 * b * a / tp * 8.0, PH_FWD, 0.0, 1.0)           # split-KV combine
    n = put_gemm(ops, n, b, h, qd, ge, PH_FWD, 0.0, 1.0)                   # out proj
    n = put_mem(ops, n, 3.0 * e * b * h, PH_FWD, 0.0, 1.0)                  # residual
    n = put_mem(ops, n, 2.0 * e * b * h, PH_FWD, 0.0, 1.0)                  # norm 2
    experts = mv[ModelCol.EXPERTS]
    if experts > 1.5:
        top_k = mv[ModelCol.TOP_K]
        active = min(experts, b * top_k)                                  # experts whose weights are read
        n = put_gemm(ops, n, b, experts, h, 4.0, PH_FWD, 0.0, 1.0)
        n = put_mem(ops, n, 12.0 * b * experts, PH_FWD, 0.0, 1.0)
        tok = b * top_k / active
        n = put_gemm(ops, n, tok, f * (2.0 if swiglu else 1.0), h, ge, PH_FWD, 0.0, active)
        n = put_mem(ops, n, 3.0 * e * b * top_k * f, PH_FWD, 0.0, 1.0)
        n = put_gemm(ops, n, tok, h, f, ge, PH_FWD, 0.0, active)
        n = put_mem(ops, n, 2.0 * e * b * top_k * h, PH_FWD, 0.0, 1.0)
    elif swiglu:
        n = put_gemm(ops, n, b, f, h, ge, PH_FWD, 0.0, 2.0)
        n = put_mem(ops, n, 2.0 * e * b * f, PH_FWD, 0.0, 1.0)
        n = put_mem(ops, n, 3.0 * e * b * f, PH_FWD, 0.0, 1.0)
        n = put_gemm(ops, n, b, h, f, ge, PH_FWD, 0.0, 1.0)
    else:
        n = put_gemm(ops, n, b, f, h, ge, PH_FWD, 0.0, 1.0)
        n = put_mem(ops, n, 2.0 * e * b * f, PH_FWD, 0.0, 1.0)
        n = put_gemm(ops, n, b, h, f, ge, PH_FWD, 0.0, 1.0)
    n = put_mem(ops, n, 3.0 * e * b * h, PH_FWD, 0.0, 1.0)                  # residual
    return n


@njit(cache=True)
def build_decode(ops, mv, pv, b, context, layers, tp):
    """One decode step for ``b`` sequences whose caches hold ``context`` tokens."""
    n = 0
    h = mv[ModelCol.HIDDEN]
    v = mv[ModelCol.VOCAB] / tp
    n = put_mem(ops, n, 4.0 * b * h, PH_FWD, 0.0, 1.0)
    if mv[ModelCol.LEARNED_POS] > 0.5:
        n = put_mem(ops, n, 6.0 * b * h, PH_FWD, 0.0, 1.0)
    for _ in range(layers):
        n = fill_decode_layer(ops, n, mv, pv, b, context, tp)
    n = put_mem(ops, n, 4.0 * b * h, PH_FWD, 0.0, 1.0)                      # final norm
    n = put_gemm(ops, n, b, v, h, 2.0, PH_FWD, 0.0, 1.0)                   # LM head
    n = put_mem(ops, n, 2.0 * b * v, PH_FWD, 0.0, 1.0)                      # argmax / sample
    return n


@dataclass(frozen=True)
class ServeEstimate:
    """One prefill or decode iteration on one device."""

    time_s: float
    tokens_per_s: float
    flops: float
    weights_bytes: float
    kv_cache_bytes: float
    peak_memory_bytes: float
    avg_power_w: float
    energy_j: float
    clock_fraction: float
    fits: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _weights_bytes(model: ModelSpec, dtype_bytes: float) -> float:
    return float(param_count(model)) * dtype_bytes


def _check_fit(model: ModelSpec, device: DeviceModel, needed: float, what: str, check: bool) -> bool:
    usable = mem.usable_bytes(device.spec.hbm)
    if needed > usable and check:
        raise DoesNotFitError(
            f"{model.name} {what} does not fit on {device.name}: needs {needed / mem.GIB:.1f} GiB, "
            f"{usable / mem.GIB:.1f} GiB usable of {device.spec.hbm / mem.GIB:.1f} GiB", needed, usable)
    return needed <= usable


def estimate_prefill(model: ModelSpec, device: DeviceModel, batch: int, prompt: int,
                     dtype: str = "bf16", power_cap_w: float | None = None,
                     check_fit: bool = True) -> ServeEstimate:
    """Time to run the prompt through the model (time to first token, without queueing)."""
    prec = precision(SERVING_PRECISION[dtype])
    pv = precision_vector(prec)
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    ops = new_table((model.layers + 4) * MAX_LAYER_OPS)
    n = build_prefill(ops, mv, pv, float(batch), float(prompt), model.layers, 1.0)
    cap = device.spec.tdp if power_cap_w is None else min(power_cap_w, device.spec.tdp)
    clock, (res,), power = play_parts([(ops, n, 1.0)], dv, cap)
    weights = _weights_bytes(model, prec.infer_weight_bytes)
    kv = mem.kv_cache_bytes(model, batch, prompt)
    transient = batch * prompt * max(3 * model.hidden, model.d_ffn * (2 if model.mlp == "swiglu" else 1)) * 2.0 * 2
    peak = weights + kv + transient + batch * model.vocab * 6.0
    fits = _check_fit(model, device, peak, f"prefill (batch {batch}, prompt {prompt})", check_fit)
    t = res[ResultCol.TIME]
    return ServeEstimate(t, batch * prompt / t, forward_flops(model, batch, prompt),
                         weights, kv, peak, power, power * t, clock, fits)


def estimate_decode(model: ModelSpec, device: DeviceModel, batch: int, context: int,
                    dtype: str = "bf16", power_cap_w: float | None = None,
                    check_fit: bool = True) -> ServeEstimate:
    """One decode step (CUDA graph) for ``batch`` sequences with ``context`` cached tokens."""
    prec = precision(SERVING_PRECISION[dtype])
    pv = precision_vector(prec)
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    ops = new_table((model.layers + 4) * MAX_LAYER_OPS)
    n = build_decode(ops, mv, pv, float(batch), float(context), model.layers, 1.0)
    cap = device.spec.tdp if power_cap_w is None else min(power_cap_w, device.spec.tdp)
    clock, (res,), power = play_parts([(ops, n, 1.0)], dv, cap, graph=True)
    weights = _weights_bytes(model, prec.infer_weight_bytes)
    kv = mem.kv_cache_bytes(model, batch, context + 1)
    peak = weights + kv + batch * (model.vocab * 6.0 + model.d_ffn * 8.0)
    fits = _check_fit(model, device, peak, f"decode (batch {batch}, context {context})", check_fit)
    t = res[ResultCol.TIME]
    return ServeEstimate(t, batch / t, decode_flops(model, batch, context),
                         weights, kv, peak, power, power * t, clock, fits)
