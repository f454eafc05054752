"""A serving replica's costs, computed once and replayed by the engine: at each of a grid of
board power caps, its load curve from the iteration-level simulation (costmodel/serving_sim.py)
-- throughput, time to first token, time per output token, batch, prompt-stage share and board
power at 1, 2, 4, ... concurrent requests up to the batch its KV cache admits -- and its maximum
sustained throughput (the capacity).

The engine maps a request rate to the load at which the replica delivers that rate (Little's
law: a closed loop of N clients and an open stream with N requests in flight see the same
iterations), so its cost per sample never depends on the rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:  # np.interp's compiled kernel without its wrapper's checks (numpy 2 keeps it in numpy._core)
    from numpy._core.multiarray import interp as _interp
except ImportError:  # numpy 1.x
    _interp = np.interp

from simulator.costmodel.queueing import OperatingPoint
from simulator.costmodel.serving_replica import LoadPoint, Replica

# Board power caps (fractions of TDP) at which the plan is tabulated; the engine interpolates.
CAP_FRACTIONS = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def concurrency_grid(top: float) -> np.ndarray:
    """Concurrent requests to tabulate: powers of two below ``top``, and ``top``."""
    top = max(round(top), 1)
    points = {1, top}
    c = 2
    while c < top:
        points.add(c)
        c *= 2
    return np.array(sorted(points), dtype=float)


@dataclass(frozen=True)
class LoadCurve:
    """A replica's steady states at one power cap, from idle (first point) to its capacity (last)."""

    capacity_per_s: float
    output_tokens_per_s: float         # at capacity
    rate_per_s: np.ndarray             # ascending, from 0
    ttft_s: np.ndarray
    ttft_p99_s: np.ndarray
    tpot_s: np.ndarray
    batch: np.ndarray
    prefill_share: np.ndarray          # share of time the prompt stage is busy
    power_w: np.ndarray                # mean per accelerator
    preemptions: np.ndarray | None = None   # per request

    @property
    def prefill_s(self) -> float:
        """Time to first token of a request alone."""
        return float(self.ttft_s[1])

    def preemptions_at(self, rate_per_s: float) -> float:
        """Preemptions per request at ``rate_per_s`` per replica."""
        if self.preemptions is None:
            return 0.0
        return float(_interp(min(rate_per_s, self.capacity_per_s), self.rate_per_s, self.preemptions, None, None))

    def point(self, rate_per_s: float) -> tuple[OperatingPoint, float]:
        """(operating point, board power) at ``rate_per_s`` per replica, held just below capacity."""
        r = min(max(rate_per_s, 0.0), self.capacity_per_s * (1.0 - 1e-12))
        rates = self.rate_per_s
        # np.interp's compiled kernel directly (np.interp checks its real-valued float arrays
        # for complex values, then calls this same kernel: the same bits, a quarter the cost).
        ttft = float(_interp(r, rates, self.ttft_s, None, None))
        wait = max(ttft - self.prefill_s, 0.0)
        share = float(_interp(r, rates, self.prefill_share, None, None))
        tpot = float(self.tpot_s[1]) if r <= rates[1] else float(_interp(r, rates, self.tpot_s, None, None))
        return (OperatingPoint(r, float(_interp(r, rates, self.batch, None, None)), tpot, share, wait),
                float(_interp(r, rates, self.power_w, None, None)))


def _curve(points: list[LoadPoint], saturated: LoadPoint, idle_w: float) -> LoadCurve:
    """A curve from closed-loop points (ascending concurrency) capped by the saturated point."""
    pts = [p for p in points if p.requests_per_s < saturated.requests_per_s]
    first = points[0]
    rows = [(0.0, first.ttft_mean_s, first.ttft_p99_s, first.tpot_mean_s, 0.0, 0.0, idle_w, 0.0)]
    for p in [*pts, saturated]:
        if p.requests_per_s <= rows[-1][0]:
            continue
        share = p.prefill_busy_share
        rows.append((p.requests_per_s, p.ttft_mean_s if p is not saturated else rows[-1][1],
                     p.ttft_p99_s if p is not saturated else rows[-1][2], p.tpot_mean_s, p.running_mean, share,
                     p.board_power_w, p.preemptions_per_request))
    if len(rows) < 2:
        rows.append((max(saturated.requests_per_s, 1e-12), *rows[0][1:]))
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    return LoadCurve(saturated.requests_per_s, saturated.output_tokens_per_s, *cols)


@dataclass(frozen=True)
class ServingPlan:
    """A replica's load curves over a grid of power caps, and its memory."""

    tp: int
    caps_w: np.ndarray                 # ascending board power caps
    curves: tuple[LoadCurve, ...]      # one per cap
    idle_power_w: float
    memory: dict                       # per accelerator: weights, activations, reserve, KV cache
    usable_memory_bytes: float
    max_num_seqs: int

    @property
    def memory_bytes(self) -> float:
        m = self.memory
        return m["weights_bytes"] + m["activation_bytes"] + m["runtime_reserve_bytes"] + m["kv_cache_bytes"]

    def peak_power_w(self, cap_w: float) -> float:
        """The most a board draws at ``cap_w`` (at its busiest load)."""
        return float(np.max(self.at_cap(cap_w).power_w))

    def at_cap(self, cap_w: float) -> LoadCurve:
        """The load curve with every board capped at ``cap_w``: the nearest tabulated cap at or
        below it (a cap between grid points gets the slower curve)."""
        caps = self.caps_w
        i = int(np.searchsorted(caps, cap_w * (1.0 + 1e-9), side="right")) - 1
        return self.curves[max(i, 0)]


def load_curve(replica: Replica, cap_w: float, saturated: LoadPoint | None = None,
               grid: np.ndarray | None = None) -> LoadCurve:
    """The replica's load curve at ``cap_w``: closed loops at 1, 2, 4, ... clients up to the
    batch it sustains, capped by its maximum sustained throughput."""
    sat = saturated if saturated is not None else replica.saturated(cap_w)
    if grid is None:
        grid = concurrency_grid(min(sat.running_mean, replica.settings.max_num_seqs))
    return _curve([replica.run(cap_w, int(c)) for c in grid], sat, float(replica.device.spec.idle_power))


def plan_serving(replica: Replica) -> ServingPlan:
    """Tabulate a replica's load curves at every cap (DoesNotFitError from the replica when one
    request's KV cache does not fit). Caps the full-power curve never reaches share it."""
    spec = replica.device.spec
    caps = CAP_FRACTIONS * spec.tdp
    idle = float(spec.idle_power)
    full = replica.saturated(float(spec.tdp))
    grid = concurrency_grid(min(full.running_mean, replica.settings.max_num_seqs))
    top = load_curve(replica, float(spec.tdp), full, grid)
    curves = [top if cap >= float(np.max(top.power_w)) * (1.0 - 1e-9) else load_curve(replica, float(cap), None, grid)
              for cap in caps]
    return ServingPlan(replica.tp, caps, tuple(curves), idle, replica.budget.as_dict(),
                       replica.settings.gpu_memory_utilization * replica.budget.hbm_bytes,
                       replica.settings.max_num_seqs)


def replica_point(curve: LoadCurve, rate_per_s: float) -> tuple[OperatingPoint, float]:
    """A replica's steady state at ``rate_per_s`` and its mean board power."""
    return curve.point(rate_per_s)


