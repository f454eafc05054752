"""`dcsim estimate train`: one training step on one device, or a parallel layout over many (an
explicit one, or the fastest that fits), and with a GPU-hour price the cheapest GPU count per
token. The same cost model the engine replays (costmodel/training.py, training_plan.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from simulator.costmodel.precision import DEFAULT_STACK, Recipe
from simulator.costmodel.search import search_layouts
from simulator.costmodel.training import TrainEstimate
from simulator.costmodel.training import estimate_train as single_device_step
from simulator.costmodel.training_plan import plan_training
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.layout import ParallelLayout
from simulator.domain.model_ref import resolve_model
from simulator.domain.precision import DEFAULT_OPTIMIZER, DEFAULT_RECOMPUTE, DEFAULT_TRAINING_PRECISION
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem
from simulator.estimates.inputs import comm_for, device_model, read_fabric
from simulator.scenario.training_parts import Layout


@dataclass(frozen=True)
class SingleDeviceTrain:
    """One device's training step (host launch pipeline, power cap), named."""

    model: str
    accelerator: str
    step: TrainEstimate

    def to_dict(self) -> dict:
        return {**self.step.as_dict(), "model": self.model, "accelerator": self.accelerator, "gpus": 1}


@dataclass(frozen=True)
class ParallelTrain:
    """A parallel layout's step at the board's own power limit, with its breakdown."""

    model: str
    accelerator: str
    node: str
    gpus: int
    global_batch: int
    layout: dict
    layout_name: str
    layouts_evaluated: int
    step_time_s: float
    peak_memory_bytes: float
    usable_memory_bytes: float
    tokens_per_s: float
    model_flops_per_step: float
    mfu: float
    avg_power_w: float
    clock_fraction: float
    energy_per_step_j: float
    breakdown: dict
    cheapest: dict | None = None
    usd_per_mtoken: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("extra")
        if self.cheapest is None and self.usd_per_mtoken is None:
            out.pop("cheapest")
            out.pop("usd_per_mtoken")
        return out


def estimate_train(
    model: str | ModelSpec,
    accelerator: str,
    micro_batch: int | None,
    seq: int,
    gpus: int = 1,
    precision: str = DEFAULT_TRAINING_PRECISION,
    recompute: str = DEFAULT_RECOMPUTE,
    optimizer: str = DEFAULT_OPTIMIZER,
    global_batch: int | None = None,
    power_cap_w: float | None = None,
    catalog: Catalog | None = None,
    base_dir: Path | None = None,
    check_fit: bool = True,
    attention: str | None = None,
    layout: str | dict | None = None,
    fabric: str | Path | dict | None = None,
    gpu_hour_usd: float | None = None,
    stack: str | None = None,
    overlap_grad_reduce: bool | None = None,
) -> SingleDeviceTrain | ParallelTrain:
    """One GPU with no ``layout``: the single-device model. Otherwise a parallel layout over
    ``gpus``: ``layout`` "auto" (fastest that fits) or a dict with tp, cp, pp, dp, ep, zero,
    interleave, sequence_parallel, first_stage_layers, last_stage_layers, tp_comm_overlap;
    ``global_batch`` defaults to micro_batch * gpus. ``stack`` names a catalog software stack (its
    kernels and overlaps; ``attention`` and ``overlap_grad_reduce`` override it).
    ``gpu_hour_usd`` also finds the cheapest GPU count per token."""
    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = device_model(accelerator, catalog)
    if gpus == 1 and layout is None:
        if micro_batch is None:
            raise InputError([Problem("--micro-batch", "required unless --layout auto")])
        step = single_device_step(spec, device, micro_batch, seq, gpus=1, precision_name=precision,
                                  recompute=recompute, optimizer=optimizer, global_batch=global_batch,
                                  power_cap_w=power_cap_w, check_fit=check_fit, attention=attention or "flash")
        return SingleDeviceTrain(spec.name, device.name, step)
    stack_spec = catalog.stacks.get(stack or DEFAULT_STACK, "--stack")
    recipe = Recipe.from_stack(stack_spec, precision, recompute, optimizer, attention, overlap_grad_reduce)
    comm, node = comm_for(device, catalog, read_fabric(fabric, device.name, catalog, base_dir))
    if global_batch is None:
        global_batch = (micro_batch or 1) * gpus
    chosen: ParallelLayout | str = "auto" if layout == "auto" else \
        Layout.model_validate(layout if isinstance(layout, dict) else {"dp": gpus}).resolve(
            gpus, micro_batch, recipe.tp_comm_overlap)
    plan = plan_training(spec, device, gpus, global_batch, micro_batch, seq, recipe, chosen, comm)
    step_s, power, clock = plan.nominal()
    usd_per_mtoken = cheapest = None
    if gpu_hour_usd is not None:
        cheapest = _cheapest(spec, device, gpus, global_batch, seq, recipe, comm, micro_batch, gpu_hour_usd)
        usd_per_mtoken = gpu_hour_usd / 3600.0 * gpus * step_s / plan.tokens_per_step * 1e6
    return ParallelTrain(
        model=spec.name, accelerator=device.name, node=node.name, gpus=gpus, global_batch=global_batch,
        layout=plan.layout_dict(), layout_name=plan.layout.name, layouts_evaluated=plan.layouts_evaluated,
        step_time_s=step_s, peak_memory_bytes=plan.peak_memory_bytes, usable_memory_bytes=plan.usable_memory_bytes,
        tokens_per_s=plan.tokens_per_step / step_s, model_flops_per_step=plan.model_flops_per_step, mfu=plan.mfu,
        avg_power_w=power, clock_fraction=clock, energy_per_step_j=power * gpus * step_s,
        breakdown={k: v for k, v in plan.breakdown.items() if k not in ("step_time_s", "power_w", "peak_memory_bytes")},
        cheapest=cheapest, usd_per_mtoken=usd_per_mtoken)


def _cheapest(spec, device, gpus, global_batch, seq, recipe, comm, micro_batch, gpu_hour_usd) -> dict | None:
    """The GPU count (a power of two times the scale-up domain, up to ``gpus``) and layout with
    the lowest GPU-hour cost per token."""
    counts = sorted({n for n in (comm.scaleup_domain * 2**k for k in range(24)) if n <= gpus} | {gpus})
    best = None
    for n in counts:
        if global_batch % n and global_batch % max(n // comm.scaleup_domain, 1):
            continue
        found = search_layouts(spec, device, n, global_batch, seq, recipe, comm,
                               micro_batches=(micro_batch,) if micro_batch else None, top=1)
        if found.best is None:
            continue
        step = found.ranking[0][0]
        usd = gpu_hour_usd / 3600.0 * n * step / (global_batch * seq) * 1e6
        if best is None or usd < best["usd_per_mtoken"]:
            best = {"gpus": n, "layout": found.best.as_dict(), "step_time_s": step, "usd_per_mtoken": usd}
    return best
