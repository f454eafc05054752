"""Node failures, repairs, checkpoints and restarts of training jobs; goodput.

Each node of a running job fails independently at rate 1/MTBF, so a job on n nodes fails at
n/MTBF (a Poisson process; Llama 3 saw 419 unexpected interruptions in 54 days on 16,384
H100s, Dubey et al. 2024, section 3.3.4). A job checkpoints every tau seconds of running
time, spending delta seconds writing (checkpoint bytes / storage bandwidth); by default tau is
Young's interval sqrt(2 * delta * M) for the job's MTBF M (Young 1974; Daly 2006). A failure
throws away the progress since the last checkpoint; the job then waits for a healthy node
(a free one at once, else one coming back from repair or another job), restarts (fixed
restart time plus reading the checkpoint back) and goes on. The failed node is out for the
repair time. Failure causes and their blast radius are engine/failure_classes.py, planned
maintenance engine/maintenance.py, the storage tier engine/storage.py.

Goodput = (wall time running - checkpoint writing - recomputed lost work - downtime) / wall
time, over the time the job held its nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import simpy

from simulator.engine.storage import checkpoint_timing, drain_excess_s
from simulator.scenario.failures import Failures
from simulator.scenario.storage import Storage


class HoldsNodes(Protocol):
    """Anything that holds nodes that can fail (a training job, a service)."""

    node_ids: np.ndarray


H = TypeVar("H", bound=HoldsNodes)


@dataclass(frozen=True)
class CheckpointPlan:
    """How a job checkpoints: bytes per checkpoint, write/read time, interval, job MTBF."""

    checkpoint_bytes: float
    write_s: float
    interval_s: float
    job_mtbf_s: float
    read_s: float | None = None      # reading it back at a restart (None: as long as the write)

    @property
    def restore_s(self) -> float:
        """Seconds to read the checkpoint back at a restart."""
        return self.write_s if self.read_s is None else self.read_s

    @property
    def efficiency(self) -> float:
        """Share of running time spent making progress (the rest writes checkpoints)."""
        if not math.isfinite(self.interval_s):
            return 1.0
        return self.interval_s / (self.interval_s + self.write_s)

    @property
    def cycle_s(self) -> float:
        return self.interval_s + self.write_s


def young_interval_s(write_s: float, job_mtbf_s: float) -> float:
    """Young's optimal checkpoint interval sqrt(2 * delta * M) (first order, delta << M)."""
    return math.sqrt(2.0 * write_s * job_mtbf_s)


def checkpoint_plan(params: float, bytes_per_param: float, nodes: int, node_mtbf_s: float,
                    node_write_bw: float, storage_bw: float, interval_s: float | None) -> CheckpointPlan:
    """Checkpoint size, write time (nodes write in parallel, capped by the storage system) and
    interval (``None``: Young's) for a job on ``nodes`` nodes."""
    size = params * bytes_per_param
    bw = min(nodes * node_write_bw, storage_bw)
    write = size / bw
    mtbf = node_mtbf_s / max(nodes, 1)
    tau = young_interval_s(write, mtbf) if interval_s is None else interval_s
    return CheckpointPlan(size, write, tau, mtbf)


def plan_checkpoint(params: float, bytes_per_param: float, nodes: int, node_mtbf_s: float, f: Failures,
                    storage: Storage | None) -> CheckpointPlan:
    """A job's checkpoint plan: through the failures section's bandwidths (``checkpoint_plan``), or
    through the storage tier when there is one (engine/storage.py: sync or async stall, drain,
    read-back at its read bandwidth)."""
    if storage is None:
        return checkpoint_plan(params, bytes_per_param, nodes, node_mtbf_s, f.node_checkpoint_bw, f.storage_bw,
                               f.checkpoint_interval)
    size = params * bytes_per_param
    timing = checkpoint_timing(size, nodes, f.node_checkpoint_bw, storage)
    mtbf = node_mtbf_s / max(nodes, 1)
    tau = young_interval_s(timing.stall_s, mtbf) if f.checkpoint_interval is None else f.checkpoint_interval
    return CheckpointPlan(size, timing.stall_s + drain_excess_s(timing, tau), tau, mtbf, timing.read_s)


def lost_since_checkpoint(run_s: float, plan: CheckpointPlan) -> float:
    """Running seconds since the last completed checkpoint, ``run_s`` seconds into a segment
    (segments start at a restart; checkpoints complete every interval + write seconds)."""
    if not math.isfinite(plan.interval_s):
        return run_s
    cycle = plan.cycle_s
    return run_s - math.floor(run_s / cycle) * cycle


def goodput(wall_s: float, checkpoint_s: float, lost_s: float, down_s: float) -> float:
    """Useful share of the wall time a job held its nodes."""
    if wall_s <= 0:
        return math.nan
    return max(0.0, 1.0 - (checkpoint_s + lost_s + down_s) / wall_s)


def node_failures(env: simpy.Environment, rng: np.random.Generator, mean_gap_s: float, holder: H,
                  can_fail: Callable[[H], bool], on_failure: Callable[[H, int], None],
                  ended: simpy.Event | None = None):
    """The one failure process of anything that holds nodes (a training job, a service): its
    nodes fail as a Poisson process with mean gap ``mean_gap_s`` (node MTBF / nodes held); each
    failure takes a random node out of ``holder.node_ids`` and hands it to ``on_failure``
    (which books the loss, starts the repair and finds a replacement). Failures while
    ``can_fail(holder)`` is false (already down, no node left) are absorbed. Ends with ``ended``."""
    while True:
        gap = rng.exponential(mean_gap_s)
        if ended is None:
            yield env.timeout(gap)
        else:
            yield env.timeout(gap) | ended
            if ended.triggered:
                return
        if not can_fail(holder):
            continue
        nodes = holder.node_ids
        broken = int(nodes[int(rng.integers(len(nodes)))])
        holder.node_ids = nodes[nodes != broken]
        on_failure(holder, broken)
