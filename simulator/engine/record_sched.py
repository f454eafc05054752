"""The scheduling part of the run record: what the trace replay measured (engine/world_trace.py).

Queueing delay = first start - submit; JCT (job completion time) = finish - submit; utilisation
= GPUs held by trace jobs / the trace groups' GPUs, time-averaged; fragmentation = GPUs idle
while at least one job waits, as a share of the trace GPUs' time (the capacity a waiting job
could not use: too few GPUs on a node, or not enough whole nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE_BUCKETS = ("1", "2-4", "5-8", ">8")       # Jeon et al. ATC'19 Fig. 2/3 buckets
LOCALITY = ("rack", "leaf", "spread")


def size_bucket(gpus: np.ndarray) -> np.ndarray:
    return np.select([gpus <= 1, gpus <= 4, gpus <= 8], [0, 1, 2], 3)


def _stats(values: np.ndarray) -> dict:
    if not len(values):
        return {"jobs": 0, "p50_s": None, "p90_s": None, "p99_s": None, "mean_s": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"jobs": len(values), "p50_s": float(p50), "p90_s": float(p90), "p99_s": float(p99),
            "mean_s": float(values.mean())}


@dataclass(frozen=True)
class SchedulingRecord:
    """Per-job results of the trace replay and its time integrals."""

    policy: str
    trace_gpus: int
    span_s: float
    submit_s: np.ndarray
    gpus: np.ndarray
    tenant: np.ndarray
    tenants: tuple[str, ...]
    start_s: np.ndarray
    end_s: np.ndarray
    gpus_alloc: np.ndarray
    preemptions: np.ndarray
    locality: np.ndarray
    held_gpu_s: float
    idle_while_waiting_gpu_s: float
    waiting_s: float
    energy_j: float

    def summary(self) -> dict:
        """The ``scheduling`` block of summary.json."""
        inside = self.submit_s <= self.span_s            # submitted within the horizon
        started = ~np.isnan(self.start_s)
        finished = ~np.isnan(self.end_s)
        wait = self.start_s - self.submit_s
        bucket = size_bucket(self.gpus)
        gang = started & (self.gpus > 1) & (self.locality >= 0) & (self.locality <= 2)
        capacity = self.trace_gpus * self.span_s
        return {
            "policy": self.policy,
            "jobs_submitted": int(np.sum(inside)),
            "jobs_started": int(started.sum()),
            "jobs_finished": int(finished.sum()),
            "single_gpu_share": float(np.mean(self.gpus[inside] == 1)) if inside.any() else None,
            "queueing_delay": _stats(wait[started]),
            "queueing_delay_by_size": {b: _stats(wait[started & (bucket == i)]) for i, b in enumerate(SIZE_BUCKETS)},
            "queueing_delay_by_tenant": {t: _stats(wait[started & (self.tenant == i)])
                                         for i, t in enumerate(self.tenants)},
            "jct": _stats((self.end_s - self.submit_s)[finished]),
            "utilization": self.held_gpu_s / capacity if capacity else None,
            "fragmentation": self.idle_while_waiting_gpu_s / capacity if capacity else None,
            "waiting_time_share": self.waiting_s / self.span_s if self.span_s else None,
            "preemptions": int(self.preemptions.sum()),
            "jobs_preempted": int(np.sum(self.preemptions > 0)),
            "elastic_shrunk_jobs": int(np.sum(started & (self.gpus_alloc < self.gpus))),
            "gang_placement": {name: int(np.sum(gang & (self.locality == i))) for i, name in enumerate(LOCALITY)},
            "energy_j": self.energy_j,
        }
