"""One explicit inference iteration of a replica: a prefill (a batch of prompts in one
iteration, the time to first token without queueing) or a decode step (one token for each
sequence of a batch with its KV cache), priced by the same iteration model the serving
simulation replays (costmodel/serving_iteration.py), with the engine's CPU time per iteration.

Decode-only iterations replay a CUDA graph when the engine captures one at that batch; a prefill
is launched kernel by kernel. Memory: whether the iteration runs at all on the accelerator --
weights, the KV cache it holds, its activations and the engine's runtime reserve within the
device's memory (the engine's utilisation cap is a budget for its KV pool, not a limit on what
fits: costmodel/serving_memory.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving_iteration import ItCol, build_iteration_model, iteration_cost, iteration_profile
from simulator.costmodel.serving_memory import (
    GIB,
    activation_bytes_per_gpu,
    kv_bytes_per_token,
    weights_bytes_per_gpu,
)
from simulator.costmodel.transformer import decode_flops, forward_flops
from simulator.domain.precision import ServingPrecision
from simulator.domain.specs import EngineSpec, ModelSpec
from simulator.errors import DoesNotFitError


@dataclass(frozen=True)
class ServeEstimate:
    """One prefill or decode iteration of a replica (per-accelerator memory and power)."""

    time_s: float
    tokens_per_s: float
    flops: float
    weights_bytes: float
    kv_cache_bytes: float
    peak_memory_bytes: float
    avg_power_w: float
    energy_j: float
    fits: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _check_fit(model: ModelSpec, device: DeviceModel, needed: float, what: str, check: bool) -> bool:
    hbm = device.spec.hbm
    if needed > hbm and check:
        raise DoesNotFitError(
            f"{model.name} {what} does not fit on {device.name}: needs {needed / GIB:.1f} GiB per accelerator "
            f"(weights, KV cache, activations and the engine's runtime reserve), {hbm / GIB:.1f} GiB on the device",
            needed, hbm)
    return needed <= hbm


def _iteration(model, device, comm, tp, prec, engine, tokens, sampled, decode_seqs, keys, attn_chunks):
    """(time, energy per accelerator) of one iteration; ``attn_chunks``: (count, chunk, prior)."""
    profile = iteration_profile(model, device, comm, tp, prec, engine, int(tokens), int(max(sampled, 1)))
    it = build_iteration_model(profile, float(device.spec.tdp))
    s = it.scalars
    count, chunk, prior = attn_chunks
    attn = 0.0
    if count > 0:
        work = s[ItCol.ATTN_FLOP_PER_TOKEN] * chunk * (prior + 0.5 * (chunk + 1.0))
        attn = count * work * (chunk + s[ItCol.ATTN_SEQ0]) / chunk
    graph_ok = engine.cuda_graphs and count == 0 and decode_seqs <= engine.cuda_graph_max_batch
    t, energy = iteration_cost(float(tokens), float(sampled), int(decode_seqs), float(keys), attn, graph_ok,
                               engine.mixed_graphs, *it.arrays()[:10], s)
    cpu = engine.iteration_overhead + engine.sequence_overhead * max(decode_seqs, count)
    if engine.overlap_scheduler:
        if cpu > t:
            energy += (cpu - t) * s[ItCol.IDLE_W]
            t = cpu
    else:
        energy += cpu * s[ItCol.IDLE_W]
        t += cpu
    return t, energy


def estimate_prefill(model: ModelSpec, device: DeviceModel, comm: CommModel, tp: int, prec: ServingPrecision,
                     engine: EngineSpec, batch: int, prompt: int, check_fit: bool = True) -> ServeEstimate:
    """``batch`` prompts of ``prompt`` tokens in one iteration (time to first token, no queueing)."""
    tokens = batch * prompt
    t, energy = _iteration(model, device, comm, tp, prec, engine, tokens, batch, 0, 0.0, (batch, prompt, 0.0))
    weights = weights_bytes_per_gpu(model, prec, tp)
    kv = batch * prompt * kv_bytes_per_token(model, prec.kv_bytes, tp)
    peak = weights + kv + activation_bytes_per_gpu(model, tp, tokens, batch) + engine.runtime_reserve
    fits = _check_fit(model, device, peak, f"prefill (batch {batch}, prompt {prompt}, tensor parallel {tp})",
                      check_fit)
    return ServeEstimate(t, tokens / t, forward_flops(model, batch, prompt), weights, kv, peak, energy / t, energy,
                         fits)


def estimate_decode(model: ModelSpec, device: DeviceModel, comm: CommModel, tp: int, prec: ServingPrecision,
                    engine: EngineSpec, batch: int, context: int, check_fit: bool = True) -> ServeEstimate:
    """One decode step for ``batch`` sequences with ``context`` cached tokens each."""
    t, energy = _iteration(model, device, comm, tp, prec, engine, batch, batch, batch, float(batch * context),
                           (0, 1.0, 0.0))
    weights = weights_bytes_per_gpu(model, prec, tp)
    kv = batch * (context + 1) * kv_bytes_per_token(model, prec.kv_bytes, tp)
    peak = weights + kv + activation_bytes_per_gpu(model, tp, batch, batch) + engine.runtime_reserve
    fits = _check_fit(model, device, peak, f"decode (batch {batch}, context {context}, tensor parallel {tp})",
                      check_fit)
    return ServeEstimate(t, batch / t, decode_flops(model, batch, context), weights, kv, peak, energy / t, energy,
                         fits)
