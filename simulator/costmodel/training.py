"""Training-step estimate on one device: time, memory, throughput, MFU, power.

The step is the kernels of every micro-batch (embedding, layers, LM head and loss, forward
then backward) followed by the optimizer, played through the host/GPU pipeline under the
board's power limit (costmodel/timeline.py). Micro-batches are identical, so one is played
and multiplied; the optimizer is played once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import (
    MAX_LAYER_OPS,
    RC_FULL,
    RC_NONE,
    RC_SELECTIVE,
    OpCol,
    fill_layer,
    new_table,
)
from simulator.costmodel.ops_ends import fill_embedding, fill_head, fill_optimizer
from simulator.costmodel.precision import PrecCol, precision_vector
from simulator.costmodel.timeline import ResultCol, play_parts
from simulator.costmodel.transformer import ModelCol, model_flops_per_step, model_vector, param_count
from simulator.domain.precision import Precision, precision
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError

RECOMPUTE = {"none": RC_NONE, "selective": RC_SELECTIVE, "full": RC_FULL}

# Tensors per layer (weights, biases, norm scales): used to count multi-tensor launches.
TENSORS_PER_LAYER = 12


@kernel
def build_micro_batch(ops, mv, pv, b, s, layers, tp, sp, ep, recompute, first, last):
    """Forward and backward kernels of one micro-batch over ``layers`` layers (one stage)."""
    n = 0
    if first:
        n = fill_embedding(ops, n, mv, pv, b, s, tp, 0)
    for _ in range(layers):
        n = fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, 0, recompute)
    if last:
        n = fill_head(ops, n, mv, pv, b, s, tp, sp, 0, b * s)
        n = fill_head(ops, n, mv, pv, b, s, tp, sp, 1, b * s)
    for _ in range(layers):
        n = fill_layer(ops, n, mv, pv, b, s, tp, sp, ep, 1, recompute)
    if first:
        n = fill_embedding(ops, n, mv, pv, b, s, tp, 1)
    return n


@kernel
def saved_bytes(mv, pv, b, s, layers, tp, sp, ep, recompute, resid_bytes):
    """Activation bytes alive at the start of backward: every layer's saved tensors plus the
    embedding's and final norm's. Full recompute keeps only each layer's input plus one
    layer's activations (re-created during its backward)."""
    ops = np.zeros((2 * MAX_LAYER_OPS, 10))
    n = fill_layer(ops, 0, mv, pv, b, s, tp, sp, ep, 0, RC_NONE)
    per_layer = 0.0
    for i in range(n):
        per_layer += ops[i, OpCol.SAVED]
    n = fill_embedding(ops, 0, mv, pv, b, s, tp, 0)
    n = fill_head(ops, n, mv, pv, b, s, tp, sp, 0, b * s)
    outside = 0.0
    for i in range(n):
        outside += ops[i, OpCol.SAVED]
    if recompute == RC_FULL:
        tokens = b * s / tp if sp > 0.5 else b * s
        return layers * resid_bytes * tokens * mv[ModelCol.HIDDEN] + per_layer + outside
    if recompute == RC_SELECTIVE:
        n = fill_layer(ops, 0, mv, pv, b, s, tp, sp, ep, 0, RC_SELECTIVE)
        per_layer = 0.0
        for i in range(n):
            per_layer += ops[i, OpCol.SAVED]
    return layers * per_layer + outside


@dataclass(frozen=True)
class TrainEstimate:
    """One training step on one device (or one rank of a parallel layout)."""

    step_time_s: float
    peak_memory_bytes: float
    tokens_per_s: float
    model_flops_per_step: float
    mfu: float
    hardware_flops_per_step: float
    compute_time_s: float
    memory_time_s: float
    host_time_s: float
    avg_power_w: float
    energy_per_step_j: float
    clock_fraction: float
    memory: dict
    fits: bool
    usable_memory_bytes: float

    def as_dict(self) -> dict:
        return asdict(self)


def estimate_train(
    model: ModelSpec,
    device: DeviceModel,
    micro_batch: int,
    seq: int,
    gpus: int = 1,
    precision_name: str = "bf16-amp",
    recompute: str = "none",
    optimizer: str = "adamw-foreach",
    global_batch: int | None = None,
    power_cap_w: float | None = None,
    check_fit: bool = True,
    attention: str = "flash",
) -> TrainEstimate:
    """Estimate one data-parallel-free training step (each of ``gpus`` runs its own replica)."""
    prec: Precision = precision(precision_name)
    pv = precision_vector(prec, optimizer, attention)
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    rc = RECOMPUTE[recompute]
    micro_batches = 1
    if global_batch is not None:
        micro_batches = max(1, global_batch // (micro_batch * gpus))
    layers = model.layers
    rows = (2 * layers + 4) * MAX_LAYER_OPS
    ops = new_table(rows)
    n = build_micro_batch(ops, mv, pv, float(micro_batch), float(seq), layers, 1.0, 0.0, 1.0, rc, True, True)

    params = float(param_count(model))
    tensors = float(TENSORS_PER_LAYER * layers + 4)
    opt_ops = new_table(4)
    n_opt = fill_optimizer(opt_ops, 0, pv, params, tensors, float(micro_batches))

    cap = device.spec.tdp if power_cap_w is None else min(power_cap_w, device.spec.tdp)
    clock, (res_mb, res_opt), avg_power = play_parts(
        [(ops, n, float(micro_batches)), (opt_ops, n_opt, 1.0)], dv, cap)
    step_time = micro_batches * res_mb[ResultCol.TIME] + res_opt[ResultCol.TIME]
    compute = micro_batches * res_mb[ResultCol.COMPUTE] + res_opt[ResultCol.COMPUTE]
    memory_t = micro_batches * res_mb[ResultCol.MEMORY] + res_opt[ResultCol.MEMORY]
    host = micro_batches * res_mb[ResultCol.HOST] + res_opt[ResultCol.HOST]
    hw_flop = micro_batches * res_mb[ResultCol.FLOP]

    tokens = micro_batches * micro_batch * seq
    model_flops = micro_batches * model_flops_per_step(model, micro_batch, seq)
    peak = device.peak(prec.compute_dtype)
    activations = saved_bytes(mv, pv, float(micro_batch), float(seq), layers, 1.0, 0.0, 1.0, rc, prec.resid_bytes)
    loss_buffers = _loss_buffers(model, micro_batch, seq, prec)
    temp = 4.0 if optimizer == "adamw-foreach" and prec.weight_bytes >= 4 else 0.0
    memory = mem.training_memory(
        params_local=params,
        weight_bytes=prec.weight_bytes,
        grad_bytes=prec.grad_bytes,
        state_bytes=pv[PrecCol.STATE_BYTES],
        weight_cache_bytes=2.0 if prec.weight_cast_bytes > 0 else 0.0,
        activations=activations,
        loss_buffers=loss_buffers,
        optimizer_temp_bytes=temp,
        grads_live_in_forward=micro_batches > 1 or prec.weight_bytes < 4,
    )
    usable = mem.usable_bytes(device.spec.hbm)
    fits = memory.peak <= usable
    if check_fit and not fits:
        raise DoesNotFitError(
            f"{model.name} does not fit on {device.name}: needs {memory.peak / mem.GIB:.1f} GiB "
            f"per device (weights {memory.weights / mem.GIB:.1f}, gradients {memory.gradients / mem.GIB:.1f}, "
            f"optimizer {memory.optimizer_states / mem.GIB:.1f}, activations {memory.activations / mem.GIB:.1f} GiB), "
            f"{usable / mem.GIB:.1f} GiB usable of {device.spec.hbm / mem.GIB:.1f} GiB",
            memory.peak, usable)
    return TrainEstimate(
        step_time_s=step_time,
        peak_memory_bytes=memory.peak,
        tokens_per_s=gpus * tokens / step_time,
        model_flops_per_step=gpus * model_flops,
        mfu=model_flops / (step_time * peak),
        hardware_flops_per_step=gpus * hw_flop,
        compute_time_s=compute,
        memory_time_s=memory_t,
        host_time_s=host,
        avg_power_w=avg_power,
        energy_per_step_j=avg_power * step_time,
        clock_fraction=clock,
        memory=memory.as_dict(),
        fits=fits,
        usable_memory_bytes=usable,
    )


def _loss_buffers(model: ModelSpec, micro_batch: int, seq: int, prec: Precision) -> float:
    """The loss's largest moment, at the start of its backward (PyTorch ``F.cross_entropy``, which
    autocast runs in fp32): the logits in the compute dtype (still referenced by the caller),
    the fp32 log-probabilities log_softmax saved for backward, the dense fp32 gradient
    nll_loss hands back for them, and the fp32 logit gradient log_softmax's backward writes
    next to it: act + 4 + 4 + 4 bytes per logit."""
    logits = micro_batch * seq * model.vocab
    return logits * (prec.act_bytes + 12.0)
