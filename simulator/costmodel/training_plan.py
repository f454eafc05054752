"""A training job's costs computed once for the engine: its layout (explicit or searched) and
step time and board power at a grid of clocks and network shares, looked up while it runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.parallel import evaluate
from simulator.costmodel.precision import Recipe
from simulator.costmodel.search import MICRO_BATCHES, cp_options, search_layouts
from simulator.costmodel.timeline import duty_cycle_stretch
from simulator.costmodel.transformer import model_flops_per_step
from simulator.domain.layout import ParallelLayout, layout_problems, no_layout_reason
from simulator.domain.specs import ModelSpec
from simulator.errors import DoesNotFitError, InputError, Problem

DEFAULT_CLOCKS = np.linspace(0.1, 1.0, 19)


@dataclass(frozen=True)
class TrainingPlan:
    """A training job's chosen layout and its costs, computed once, replayed by the engine."""

    layout: ParallelLayout
    micro_batches: int
    clocks: np.ndarray
    step_time_s: np.ndarray
    gpu_power_w: np.ndarray
    peak_memory_bytes: float
    usable_memory_bytes: float
    model_flops_per_step: float
    tokens_per_step: float
    mfu: float
    tdp_w: float = float("inf")
    breakdown: dict = field(default_factory=dict)
    layouts_evaluated: int = 1
    network_shares: np.ndarray = field(default_factory=lambda: np.ones(1))
    step_time_by_share: np.ndarray | None = None
    power_by_share: np.ndarray | None = None
    idle_w: float = 0.0
    compute_w: float = 0.0
    dvfs_exponent: float = 3.0

    def limiter_clock(self, cap_w: float) -> float:
        """Clock at which compute-bound kernels alone draw ``cap_w`` (the board's power limiter
        holds each long GEMM phase there, parallel.compute_bound_clock); 1 when unknown."""
        above = self.compute_w - self.idle_w
        if above <= 0.0 or cap_w >= self.compute_w:
            return 1.0
        return max((cap_w - self.idle_w) / above, 1e-6) ** (1.0 / self.dvfs_exponent)

    def _at_clock(self, steps: np.ndarray, power: np.ndarray, clock: float) -> tuple[float, float, float]:
        """(step time, board power, clock) at a clock inside the grid: step time ~ a + b/clock
        between grid points (interpolated in 1/clock), power linearly."""
        i = min(max(int(np.searchsorted(self.clocks, clock, side="right")) - 1, 0), len(self.clocks) - 2)
        inv = 1.0 / self.clocks
        u = (1.0 / clock - inv[i]) / (inv[i + 1] - inv[i])
        w = (clock - self.clocks[i]) / (self.clocks[i + 1] - self.clocks[i])
        return (float(steps[i] + u * (steps[i + 1] - steps[i])), float(power[i] + w * (power[i + 1] - power[i])),
                float(clock))

    def _row(self, steps: np.ndarray, power: np.ndarray, cap_w: float) -> tuple[float, float, float]:
        """(step time, board power, clock) of one table row at the highest clock within cap_w
        on average and no higher than the power limiter's clock for compute-bound work,
        interpolating between the tabulated clocks (power rises with clock)."""
        step, drawn, clock = self._row_average(steps, power, cap_w)
        limit = self.limiter_clock(cap_w)
        if limit < clock and len(self.clocks) > 1 and limit >= self.clocks[0]:
            return self._at_clock(steps, power, limit)
        return step, drawn, clock

    def _row_average(self, steps: np.ndarray, power: np.ndarray, cap_w: float) -> tuple[float, float, float]:
        """``_row`` under the step-average power limit only."""
        if cap_w >= power[-1]:
            return float(steps[-1]), float(power[-1]), float(self.clocks[-1])
        if cap_w <= power[0]:
            # Below the lowest clock's draw the board idles between kernels (duty cycling).
            stretch = duty_cycle_stretch(float(power[0]), cap_w, self.idle_w)
            drawn = self.idle_w + (float(power[0]) - self.idle_w) / stretch
            return float(steps[0]) * stretch, drawn, float(self.clocks[0])
        i = int(np.searchsorted(power, cap_w, side="right")) - 1
        w = (cap_w - power[i]) / (power[i + 1] - power[i])
        clock = min(self.clocks[i] + w * (self.clocks[i + 1] - self.clocks[i]), self.clocks[i + 1])
        # Step time is ~ a + b/clock between grid points: interpolate in 1/clock.
        inv = 1.0 / self.clocks
        u = (1.0 / clock - inv[i]) / (inv[i + 1] - inv[i])
        step = steps[i] + u * (steps[i + 1] - steps[i])
        return float(step), float(cap_w), float(clock)

    def at_power(self, cap_w: float, network_share: float = 1.0) -> tuple[float, float, float]:
        """(step time, board power, clock) at the highest clock whose power stays within cap_w,
        with the job's scale-out links at ``network_share`` of their bandwidth (contention)."""
        if network_share >= 1.0 or self.step_time_by_share is None or self.power_by_share is None:
            return self._row(self.step_time_s, self.gpu_power_w, cap_w)
        shares = self.network_shares                     # descending, shares[0] == 1
        k = min(int(np.searchsorted(-shares, -network_share, side="right")), len(shares) - 1)
        k = max(k, 1)
        lo = self._row(self.step_time_by_share[k - 1], self.power_by_share[k - 1], cap_w)
        hi = self._row(self.step_time_by_share[k], self.power_by_share[k], cap_w)
        # Communication time goes as 1/bandwidth: interpolate in 1/share.
        a, b = 1.0 / shares[k - 1], 1.0 / shares[k]
        u = min(max((1.0 / network_share - a) / (b - a), 0.0), 1.0) if b > a else 0.0
        step, power, clock = (float(x + u * (y - x)) for x, y in zip(lo, hi, strict=True))
        return step, power, clock

    def nominal(self) -> tuple[float, float, float]:
        """(step time, board power, clock) with the board at its own power limit (no site cap)."""
        return self.at_power(self.tdp_w)

    def layout_dict(self) -> dict[str, int]:
        """The layout as written in outputs, with its micro-batches per step."""
        return {**self.layout.as_dict(), "micro_batches": self.micro_batches}


def plan_training(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int,
                  micro_batch: int | None, seq: int, recipe: Recipe, layout: ParallelLayout | str, comm,
                  clocks: np.ndarray = DEFAULT_CLOCKS,
                  network_shares: tuple[float, ...] = (1.0,)) -> TrainingPlan:
    """Cost tables of one training job for the engine: a layout (explicit, or the fastest that
    fits when ``layout == 'auto'``, over micro-batch sizes too when ``micro_batch`` is None)
    evaluated at a grid of clocks. An explicit layout's micro-batch is ``micro_batch`` or 1."""
    usable = mem.usable_bytes(device.spec.hbm, collectives=gpus > 1)
    evaluated = 1
    if layout == "auto":
        found = search_layouts(model, device, gpus, global_batch, seq, recipe, comm,
                               micro_batches=(micro_batch,) if micro_batch else None)
        if found.evaluated == 0:
            raise InputError([Problem("gpus", no_layout_reason(
                gpus=gpus, global_batch=global_batch, domain=comm.scaleup_domain, heads=model.heads,
                layers=model.layers, micro_batches=(micro_batch,) if micro_batch else MICRO_BATCHES,
                cps=cp_options(seq)))])
        if found.best is None:
            raise DoesNotFitError(
                f"{model.name}: no layout of {gpus} x {device.name} fits in memory "
                f"(smallest need {found.min_memory_bytes / mem.GIB:.1f} GiB per GPU, "
                f"{usable / mem.GIB:.1f} GiB usable)", found.min_memory_bytes, usable)
        chosen = found.best
        evaluated = found.evaluated
    elif isinstance(layout, ParallelLayout):
        chosen = layout
        found_problems = layout_problems(chosen, gpus=gpus, global_batch=global_batch, domain=comm.scaleup_domain,
                                         heads=model.heads, layers=model.layers, experts=model.experts, seq=seq)
        if found_problems:
            raise InputError([Problem(f"layout.{field}" if field and field not in ("global_batch", "seq")
                                      else field or "layout",
                                      message) for field, message in found_problems])
    else:
        raise TypeError(f"layout must be 'auto' or a ParallelLayout, got {layout!r}")
    steps = []
    powers = []
    base = None
    for c in clocks:
        r = evaluate(model, device, gpus, global_batch, seq, chosen, recipe, comm, clock=float(c))
        steps.append(r["step_time_s"])
        powers.append(r["power_w"])
        if c == clocks[-1]:
            base = r
    assert base is not None
    if base["peak_memory_bytes"] > usable:
        raise DoesNotFitError(
            f"{model.name} with layout {chosen.name} needs {base['peak_memory_bytes'] / mem.GIB:.1f} GiB "
            f"per GPU; {device.name} has {usable / mem.GIB:.1f} GiB usable",
            base["peak_memory_bytes"], usable)
    steps_arr = np.array(steps)
    powers_arr = np.maximum.accumulate(np.array(powers))
    shares = np.array(sorted(set(network_shares) | {1.0}, reverse=True))
    by_share_steps = [steps_arr]
    by_share_power = [powers_arr]
    for share in shares[1:]:
        slow = comm.scaled(float(share))
        rows = [evaluate(model, device, gpus, global_batch, seq, chosen, recipe, slow, clock=float(c))
                for c in clocks]
        by_share_steps.append(np.array([r["step_time_s"] for r in rows]))
        by_share_power.append(np.maximum.accumulate(np.array([r["power_w"] for r in rows])))
    tokens = float(global_batch * seq)
    model_flops = model_flops_per_step(model, global_batch, seq)
    plan = TrainingPlan(chosen, int(base["micro_batches"]), np.asarray(clocks, dtype=float), steps_arr, powers_arr,
                        base["peak_memory_bytes"], usable, model_flops, tokens, 0.0, device.spec.tdp,
                        dict(base), evaluated, shares, np.array(by_share_steps), np.array(by_share_power),
                        float(device.spec.idle_power), device.compute_power_w(),
                        float(device.calibration["power"].dvfs_exponent))
    step_nominal = plan.nominal()[0]
    peak = device.peak(recipe.prec.compute_dtype)
    return dataclasses.replace(plan, mfu=model_flops / (step_nominal * gpus * peak))
