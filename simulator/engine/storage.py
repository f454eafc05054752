"""The shared storage tier: how long a job stalls to write a checkpoint and to read it back, what
the dataset reads take from it, and how jobs writing at the same time share its bandwidth.

Write (sync): the job stalls for bytes / min(nodes x per-node bandwidth, storage write bandwidth).
Write (async): the job stalls only for the copy off the GPUs, to local NVMe when there is a
local tier (bytes / (nodes x NVMe write bandwidth)) else to host memory (bytes / (nodes x copy
bandwidth)); the copy then drains to the shared tier while the job trains. A drain longer than
the checkpoint interval holds the next checkpoint back: the job also stalls for the excess.
Restore: bytes / min(nodes x per-node bandwidth, storage read bandwidth).
Sharing: writes in flight at once share the storage bandwidth equally (processor sharing), each
also capped by its own nodes' bandwidth (``shared_finish_s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from simulator.scenario.storage import Storage


@dataclass(frozen=True)
class CheckpointTiming:
    """Seconds a job spends on one checkpoint: stalled writing, draining in the background, and
    reading it back at a restart."""

    stall_s: float
    drain_s: float
    read_s: float


def checkpoint_timing(size_bytes: float, nodes: int, node_bw: float, storage: Storage) -> CheckpointTiming:
    """Write stall, background drain and read-back time of one checkpoint of ``size_bytes`` from
    ``nodes`` nodes writing at ``node_bw`` each (before the interval is chosen)."""
    n = max(nodes, 1)
    shared_write = size_bytes / min(n * node_bw, storage.write_bw)
    read = size_bytes / min(n * node_bw, storage.read_bw)
    if storage.checkpoint_mode == "sync":
        return CheckpointTiming(shared_write, 0.0, read)
    local_bw = storage.local.write_bw_per_node if storage.local is not None else storage.copy_bw_per_node
    return CheckpointTiming(size_bytes / (n * local_bw), shared_write, read)


def drain_excess_s(timing: CheckpointTiming, interval_s: float) -> float:
    """Extra stall when the background drain of one checkpoint outlasts the interval to the next."""
    if not math.isfinite(interval_s):
        return 0.0
    return max(0.0, timing.drain_s - interval_s)


def dataset_read_bw(tokens_per_s: float, bytes_per_token: float) -> float:
    """Bandwidth a training job's data loader reads from storage."""
    return tokens_per_s * bytes_per_token


def shared_finish_s(sizes_bytes: list[float], starts_s: list[float], caps_bw: list[float],
                    total_bw: float) -> list[float]:
    """When each of several writes finishes if they share ``total_bw`` (processor sharing: the
    writes in flight split it equally; one capped by its own bandwidth leaves the rest to the
    others). Exact, event by event."""
    n = len(sizes_bytes)
    left = [float(s) for s in sizes_bytes]
    done = [math.nan] * n
    t = min(starts_s) if n else 0.0
    while any(math.isnan(d) for d in done):
        active = [i for i in range(n) if math.isnan(done[i]) and starts_s[i] <= t + 1e-12]
        rates = _shares([caps_bw[i] for i in active], total_bw)
        pending = [starts_s[i] for i in range(n) if math.isnan(done[i]) and starts_s[i] > t + 1e-12]
        next_start = min(pending) if pending else math.inf
        finish = min((left[i] / r for i, r in zip(active, rates, strict=True) if r > 0), default=math.inf)
        step = min(finish, next_start - t)
        for i, r in zip(active, rates, strict=True):
            left[i] -= r * step
            if left[i] <= 1e-9 * max(sizes_bytes[i], 1.0):
                done[i] = t + step
        t += step
    return done


def _shares(caps: list[float], total: float) -> list[float]:
    """Max-min fair split of ``total`` among flows capped at ``caps``."""
    rates = [0.0] * len(caps)
    order = sorted(range(len(caps)), key=lambda i: caps[i])
    left = total
    for k, i in enumerate(order):
        fair = left / (len(caps) - k)
        rates[i] = min(caps[i], fair)
        left -= rates[i]
    return rates




class StorageShare:
    """Sync checkpoint writes of the jobs running at once share the storage write bandwidth.

    Jobs checkpoint at independent phases, so on average a job's write meets the others'
    writes for the share of time they keep the storage busy, rho = sum over the others of
    (their bytes / storage bandwidth) / (their interval + write): the write gets
    min(its nodes' bandwidth, storage bandwidth x (1 - rho)) (processor sharing, capped at
    rho = 0.95). Applied whenever the running set changes (engine/world.py update); the interval
    stays the one planned for the uncontended write. ``shared_finish_s`` is the exact sharing
    of writes that start together (two at once take twice as long)."""

    MAX_RHO = 0.95

    def __init__(self, storage: Storage | None):
        self.bw = storage.write_bw if storage is not None and storage.checkpoint_mode == "sync" else None
        self._alone: dict[str, Any] = {}      # each job's checkpoint plan when it writes alone

    def apply(self, running: list, now: float) -> None:
        """Set each running job's checkpoint write time for the others running now (booking its
        progress at the old one first)."""
        if self.bw is None:
            return
        jobs = [j for j in running if j.checkpoint is not None]
        alone = [self._alone.setdefault(j.name, j.checkpoint) for j in jobs]
        busy = [(a.checkpoint_bytes / self.bw) / a.cycle_s if math.isfinite(a.cycle_s) else 0.0 for a in alone]
        total = sum(busy)
        for job, a, own in zip(jobs, alone, busy, strict=True):
            rho = min(total - own, self.MAX_RHO)
            bw = min(a.checkpoint_bytes / a.write_s, self.bw * (1.0 - rho)) if a.write_s > 0 else math.inf
            write = a.checkpoint_bytes / bw if math.isfinite(bw) else a.write_s
            if abs(write - job.checkpoint.write_s) > 1e-12 * max(write, 1.0):
                job.book(now)
                job.checkpoint = replace(a, write_s=write)


__all__ = ["CheckpointTiming", "StorageShare", "checkpoint_timing", "dataset_read_bw", "drain_excess_s",
           "shared_finish_s"]
