"""A serving replica's costs, computed once and replayed by the engine: the time and board
power of one prefill (one prompt) and of one decode iteration at each batch size, on a grid of
power caps, for a replica of ``tp`` accelerators (Megatron-style tensor parallelism).

Each layer of a TP replica all-reduces its attention and MLP outputs (2 per layer, Shoeybi et
al., 2019); the all-reduce runs at idle compute power and is priced by costmodel/collectives.py
on the scale-up domain. Decode iterations use the mean context of a request's life (prompt plus
half the output) so the KV-cache read is right on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.costmodel import memory as mem
from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.ops import MAX_LAYER_OPS, new_table
from simulator.costmodel.precision import precision_vector
from simulator.costmodel.queueing import OperatingPoint, operating_point
from simulator.costmodel.serving import build_decode, build_prefill
from simulator.costmodel.timeline import ResultCol, play_parts
from simulator.costmodel.transformer import model_vector, param_count
from simulator.domain.precision import SERVING_PRECISION, precision
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError

# Board power caps (fractions of TDP) at which the plan is tabulated; the engine interpolates.
CAP_FRACTIONS = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def batch_grid(max_batch: int) -> np.ndarray:
    """Batch sizes to tabulate: powers of two up to ``max_batch``, and ``max_batch`` itself."""
    sizes = {1, max_batch}
    b = 2
    while b < max_batch:
        sizes.add(b)
        b *= 2
    return np.array(sorted(sizes), dtype=float)


@dataclass(frozen=True)
class ServingPoint:
    """One replica's iteration costs at one power cap."""

    prefill_s: float
    prefill_power_w: float
    batches: np.ndarray
    decode_s: np.ndarray
    decode_power_w: np.ndarray

    def decode_at(self, batch: float) -> tuple[float, float]:
        """(decode iteration time, board power) at a (fractional) batch, linear between grid points."""
        b = min(max(batch, 1.0), float(self.batches[-1]))
        return (float(np.interp(b, self.batches, self.decode_s)),
                float(np.interp(b, self.batches, self.decode_power_w)))


@dataclass(frozen=True)
class ServingPlan:
    """Prefill and decode costs of one replica over (cap, batch) grids, and its memory."""

    tp: int
    prompt_tokens: int
    output_tokens: int
    max_batch: int
    caps_w: np.ndarray              # ascending board power caps
    batches: np.ndarray             # ascending batch sizes
    prefill_s: np.ndarray           # [cap]
    prefill_power_w: np.ndarray     # [cap]
    decode_s: np.ndarray            # [cap, batch]
    decode_power_w: np.ndarray      # [cap, batch]
    idle_power_w: float
    memory_bytes: float             # per accelerator at max_batch, full context
    usable_memory_bytes: float

    def peak_power_w(self, cap_w: float) -> float:
        """The most a board draws at ``cap_w``: in a prefill or a full-batch decode, whichever is more."""
        at = self.at_cap(cap_w)
        return max(at.prefill_power_w, float(np.max(at.decode_power_w)))

    def at_cap(self, cap_w: float) -> ServingPoint:
        """Costs with every board capped at ``cap_w``, linear between tabulated caps."""
        caps = self.caps_w
        c = min(max(cap_w, caps[0]), caps[-1])
        i = min(int(np.searchsorted(caps, c, side="right")) - 1, len(caps) - 2)
        w = (c - caps[i]) / (caps[i + 1] - caps[i])

        def lerp(table):
            return table[i] + w * (table[i + 1] - table[i])

        return ServingPoint(float(lerp(self.prefill_s)), float(lerp(self.prefill_power_w)), self.batches,
                            lerp(self.decode_s), lerp(self.decode_power_w))


def _with_comm(time_s: float, power_w: float, comm_s: float, idle_w: float) -> tuple[float, float]:
    """Add TP all-reduce time at idle compute power to one iteration."""
    total = time_s + comm_s
    return total, (power_w * time_s + idle_w * comm_s) / total


def replica_memory_bytes(model: ModelSpec, tp: int, batch: int, context: int, dtype: str = "bf16") -> float:
    """Per-accelerator bytes of one replica: weights / tp, KV cache of ``batch`` full contexts,
    and the prefill transient and logits of one prompt."""
    prec = precision(SERVING_PRECISION[dtype])
    weights = float(param_count(model)) * prec.infer_weight_bytes / tp
    kv = mem.kv_cache_bytes(model, batch, context, tp=tp)
    width = max(3 * model.hidden, model.d_ffn * (2 if model.mlp == "swiglu" else 1)) / tp
    transient = context * width * 2.0 * 2 + batch * model.vocab / tp * 6.0
    return weights + kv + transient


def plan_serving(model: ModelSpec, device: DeviceModel, comm: CommModel, tp: int, prompt_tokens: int,
                 output_tokens: int, max_batch: int, dtype: str = "bf16") -> ServingPlan:
    """Tabulate a replica's prefill and decode costs; raises DoesNotFitError when the weights
    and a full batch's KV cache do not fit on the ``tp`` accelerators."""
    spec = device.spec
    context = prompt_tokens + output_tokens
    need = replica_memory_bytes(model, tp, max_batch, context, dtype)
    usable = mem.usable_bytes(spec.hbm)
    if need > usable:
        raise DoesNotFitError(
            f"{model.name} with a batch of {max_batch} at {context} tokens of context needs "
            f"{need / mem.GIB:.1f} GiB per accelerator with tensor parallelism {tp}, "
            f"{usable / mem.GIB:.1f} GiB usable of {spec.hbm / mem.GIB:.1f} GiB "
            "(lower max_batch or raise gpus_per_replica)", need, usable)
    prec = precision(SERVING_PRECISION[dtype])
    pv = precision_vector(prec)
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    ops = new_table((model.layers + 4) * MAX_LAYER_OPS)
    act = 2.0                                                      # bf16 activations
    mean_context = prompt_tokens + output_tokens / 2.0

    def ar_s(tokens: float) -> float:
        return 2.0 * model.layers * comm.all_reduce(tp, 1, tokens * model.hidden * act) if tp > 1 else 0.0

    caps = CAP_FRACTIONS * spec.tdp
    batches = batch_grid(max_batch)
    pre_s = np.zeros(len(caps))
    pre_w = np.zeros(len(caps))
    dec_s = np.zeros((len(caps), len(batches)))
    dec_w = np.zeros((len(caps), len(batches)))
    n_pre = build_prefill(ops, mv, pv, 1.0, float(prompt_tokens), model.layers, float(tp))
    pre_ops = ops.copy()
    pre_comm = ar_s(prompt_tokens)
    for i, cap in enumerate(caps):
        _, (res,), power = play_parts([(pre_ops, n_pre, 1.0)], dv, cap)
        pre_s[i], pre_w[i] = _with_comm(res[ResultCol.TIME], power, pre_comm, spec.idle_power)
        for j, b in enumerate(batches):
            n = build_decode(ops, mv, pv, b, mean_context, model.layers, float(tp))
            _, (res,), power = play_parts([(ops, n, 1.0)], dv, cap, graph=True)
            dec_s[i, j], dec_w[i, j] = _with_comm(res[ResultCol.TIME], power, ar_s(b), spec.idle_power)
    return ServingPlan(tp, prompt_tokens, output_tokens, max_batch, caps, batches, pre_s, pre_w,
                       dec_s, dec_w, float(spec.idle_power), need, usable)


def replica_point(at: ServingPoint, rate_per_s: float, capacity_per_replica_s: float, output_tokens: int,
                  idle_w: float) -> tuple[OperatingPoint, float]:
    """A replica's steady state at ``rate_per_s`` (held just below its capacity) and its mean
    board power: prefill for its share of the time, decode while any request is in flight,
    idle otherwise."""
    point = operating_point(min(rate_per_s, capacity_per_replica_s * (1.0 - 1e-12)), at.prefill_s, at.batches,
                            at.decode_s, output_tokens)
    decoding = min(point.batch, 1.0) * (1.0 - point.prefill_share)
    idle = max(1.0 - point.prefill_share - decoding, 0.0)
    power = (point.prefill_share * at.prefill_power_w + decoding * at.decode_at(point.batch)[1] + idle * idle_w)
    return point, power
