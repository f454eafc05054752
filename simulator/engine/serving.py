"""An inference service in the event loop, aggregated: requests are counted, not simulated one
by one. Each sample interval draws its Poisson arrival count; between engine changes the
service is a fluid queue in front of its replicas, whose capacity, batch, time per token, time
to first token and board power come from the serving plan's load curve at the current power cap
(costmodel/serving_plan.py: the iteration-level simulation of each replica, tabulated before the
loop, so the cost per sample never depends on the request rate).

Time to first token = the replica's prompt time alone + its wait at that load (the load curve;
a share ``prefill_share`` of requests waits, exponentially) + backlog wait (Little's law on the
fluid backlog); a request meets its SLO when its TTFT and the interval's TPOT are both within
target.

Abandonment: clients wait at most the service's ``patience``; the queue keeps at most capacity x
patience requests and the flow above that gives up (costmodel/queueing.py patient_fluid_step),
so requests are conserved: arrived = served + abandoned + backlog.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from simulator.costmodel.queueing import (
    OperatingPoint,
    patient_fluid_step,
    quantile_from_exceedance,
    share_within,
)
from simulator.costmodel.serving_plan import ServingPlan
from simulator.engine.record import REQUEST_COLUMNS, ServiceStatus
from simulator.engine.service_plan import ServiceCosts
from simulator.scenario.demand import mean_growth_factor
from simulator.scenario.schema import InferenceService

HOUR_S = 3600.0
# Latencies at which each service counts the requests slower than that (for percentiles):
# 0.1 ms to 1e6 s, 50 points a decade, so a percentile is within one 4.7% step.
LATENCY_GRID_S = np.logspace(-4, 6, 501)
_GRID_LIST = LATENCY_GRID_S.tolist()
MAX_CACHED = 64             # per-service memo entries kept (prefill times, caps: a handful recur)


class _TtftGrid:
    """The parts of ``wait_exceedance(LATENCY_GRID_S - prefill_s, ...)`` that depend only on the
    prompt time, computed once per distinct ``prefill_s`` (the hot path of every sample): the
    negated clipped limits and the grid points below zero. ``exceedance`` then returns the same
    bits as costmodel/queueing.py ``wait_exceedance`` with one exp and no temporaries."""

    __slots__ = ("below", "n_below", "neg_limits")

    def __init__(self, prefill_s: float):
        limits = LATENCY_GRID_S - prefill_s
        self.below = limits < 0
        self.n_below = int(np.count_nonzero(self.below))    # the grid ascends: the first n_below
        self.neg_limits = -np.maximum(limits, 0.0)

    def exceedance(self, mean_wait_s: float, p_wait: float) -> np.ndarray:
        if mean_wait_s <= 0 or p_wait <= 0:
            return self.below.astype(float)
        tail = self.neg_limits * p_wait
        tail /= mean_wait_s
        np.exp(tail, out=tail)
        tail *= p_wait
        tail[:self.n_below] = 1.0
        return tail


@dataclass(frozen=True)
class ServiceState:
    """A service's rates over one segment at one power cap."""

    capacity_per_s: float          # all placed replicas with full batches
    point: OperatingPoint
    prefill_s: float
    board_power_w: float           # mean per accelerator
    preemptions_per_request: float = 0.0


@dataclass
class ServiceRun:
    """Runtime state and running totals of one inference service."""

    config: InferenceService
    costs: ServiceCosts
    model_name: str
    index: int
    n_samples: int
    status: ServiceStatus = ServiceStatus.PENDING
    group: int = -1
    nodes: int = 0
    node_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    start_s: float = math.nan
    arrival_per_s: float = 0.0      # this interval's arrivals / its length
    backlog: float = 0.0
    state: ServiceState | None = None
    last_t: float = 0.0
    arrived: float = 0.0
    served: float = 0.0
    abandoned: float = 0.0          # requests that gave up after waiting ``patience``
    met: float = 0.0
    ttft_weighted_s: float = 0.0    # sum over served requests of their mean TTFT
    tpot_weighted_s: float = 0.0
    energy_j: float = 0.0
    batch_weighted: float = 0.0     # sum over served requests of the batch they were served in
    preemptions: float = 0.0
    # Node failures (engine/world.py): replicas down until their node is swapped and reloaded.
    replicas_down: int = 0
    waiting_lost: list = field(default_factory=list)   # per failed node with no replacement yet: replicas lost
    failures: int = 0
    replica_s: float = 0.0          # replica-seconds placed
    replica_up_s: float = 0.0       # of which serving
    per_sample: np.ndarray = field(init=False, repr=False)   # [sample, REQUEST_COLUMNS]
    ttft_exceed: np.ndarray = field(init=False, repr=False)  # served requests slower than each grid latency
    tpot_exceed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.per_sample = np.zeros((self.n_samples, len(REQUEST_COLUMNS)))
        self._gpus = self.config.gpus
        self._ttft_grids: dict[float, _TtftGrid] = {}
        self.ttft_exceed = np.zeros(len(LATENCY_GRID_S))
        self.tpot_exceed = np.zeros(len(LATENCY_GRID_S))

    def ttft_quantile_s(self, q: float) -> float:
        """Time to first token that a share ``q`` of the served requests beat (NaN: none served)."""
        return quantile_from_exceedance(LATENCY_GRID_S, self.ttft_exceed, self.served, q)

    def tpot_quantile_s(self, q: float) -> float:
        """Time per output token that a share ``q`` of the served requests beat."""
        return quantile_from_exceedance(LATENCY_GRID_S, self.tpot_exceed, self.served, q)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def plan(self) -> ServingPlan:
        return self.costs.plan

    @property
    def gpus(self) -> int:
        return self._gpus

    def _ttft_grid(self, prefill_s: float) -> _TtftGrid:
        grid = self._ttft_grids.get(prefill_s)
        if grid is None:
            if len(self._ttft_grids) >= MAX_CACHED:
                self._ttft_grids.clear()
            grid = self._ttft_grids[prefill_s] = _TtftGrid(prefill_s)
        return grid

    @property
    def units(self) -> int:
        """Replicas (a disaggregated deployment counts as one)."""
        return self.costs.units

    @property
    def replicas_up(self) -> int:
        return max(self.units - self.replicas_down, 0)

    def replicas_per_node(self, gpus_per_node: int) -> int:
        """Replicas a node failure takes down: those packed on it, or the one spanning it."""
        return max(1, min(self.units, gpus_per_node // self.costs.unit_gpus))

    @property
    def availability(self) -> float:
        """Share of placed replica-time spent serving (NaN before placement)."""
        return self.replica_up_s / self.replica_s if self.replica_s > 0 else math.nan

    def multiplier(self, start_s: float, end_s: float, start_hour: float) -> float:
        """The arrival rate's mean multiplier over [start_s, end_s): the daily profile's for the
        local hour at its start, times the service's growth over it (exact mean of the curve)."""
        hour = int((start_hour + start_s / HOUR_S) % 24.0)
        return self.config.daily_profile[hour] * mean_growth_factor(self.config.growth, start_s, end_s)

    def evaluate(self, cap_w: float) -> ServiceState:
        """Rates for the current arrivals and backlog with every board capped at ``cap_w``."""
        curve = self.plan.at_cap(cap_w)
        up = self.replicas_up
        if self.status != ServiceStatus.RUNNING or up == 0:
            idle = self.plan.idle_power_w if self.status == ServiceStatus.RUNNING else 0.0
            return ServiceState(0.0, OperatingPoint(0.0, 0.0, math.inf, 0.0, 0.0), curve.prefill_s, idle)
        per_replica = curve.capacity_per_s
        capacity = per_replica * up
        saturated = self.backlog > 0 or self.arrival_per_s >= capacity
        rate = per_replica if saturated else self.arrival_per_s / up
        point, power = curve.point(rate)
        # Boards of replicas that are down draw idle power.
        board = (up * power + self.replicas_down * self.plan.idle_power_w) / self.units
        return ServiceState(capacity, point, curve.prefill_s, board, curve.preemptions_at(rate))

    def book(self, now: float, row: int) -> None:
        """Advance the queue from the last change to ``now`` at the current state; add the
        arrivals, completions and SLO hits to the totals and to sample ``row``."""
        dt = now - self.last_t
        self.last_t = now
        if dt <= 0:
            return
        capacity = self.state.capacity_per_s if self.state is not None else 0.0
        if self.status == ServiceStatus.RUNNING:
            self.replica_s += self.units * dt
            self.replica_up_s += self.replicas_up * dt
        patience = self.config.patience if self.config.patience is not None else math.inf
        step = patient_fluid_step(self.backlog, self.arrival_per_s, capacity, dt, patience)
        arrived = self.arrival_per_s * dt
        self.backlog = step.backlog_end
        self.arrived += arrived
        self.abandoned += step.abandoned
        met = 0.0
        if step.served > 0:
            state = self.state
            assert state is not None  # something was served: the service had capacity
            queue_wait = step.mean_backlog / capacity
            prefill_wait = state.point.prefill_wait_s
            ttft = state.prefill_s + prefill_wait + queue_wait
            budget = self.config.slo.ttft - state.prefill_s
            # Everyone waits behind a backlog; else a share rho waits for the prefill engine.
            mean_wait, p_wait = ((prefill_wait + queue_wait, 1.0) if queue_wait > 0
                                 else (prefill_wait, state.point.prefill_share))
            within = share_within(budget, mean_wait, p_wait)
            exceed = self._ttft_grid(state.prefill_s).exceedance(mean_wait, p_wait)
            # A served request waited at most the patience (a client waiting longer gave up).
            if math.isfinite(patience):
                exceed = np.where(patience > LATENCY_GRID_S, exceed, 0.0)
            exceed *= step.served
            self.ttft_exceed += exceed
            # The grid points below the TPOT gain every served request (the same bits as adding
            # served x the 0/1 indicator: x + 0.0 = x).
            tpot = state.point.tpot_s
            if not math.isnan(tpot):
                self.tpot_exceed[:bisect.bisect_left(_GRID_LIST, tpot)] += step.served
            tpot_ok = state.point.tpot_s <= self.config.slo.tpot
            met = step.served * within * tpot_ok
            self.served += step.served
            self.met += met
            self.batch_weighted += step.served * state.point.batch
            self.preemptions += step.served * state.preemptions_per_request
            self.ttft_weighted_s += step.served * ttft
            self.tpot_weighted_s += step.served * state.point.tpot_s
        if 0 <= row < self.n_samples:
            sample = self.per_sample[row]
            sample[0] += arrived
            sample[1] += step.served
            sample[2] += met
            sample[3] = self.backlog
            sample[4] += step.abandoned
