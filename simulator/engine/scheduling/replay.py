"""Replaying a job table (engine/trace/table.py) on the trace's rack groups under a scheduler
policy: an event loop over a heap of job ends and the sorted submissions, with no SimPy process
per job. A job's cost is a handful of heap and set operations, so a run grows as jobs x log(jobs).

Policies (scenario/scheduling.py): ``fifo`` starts the oldest job when it fits and nothing
passes it; ``easy-backfill`` orders by (priority, submit) and lets a later job start ahead of a
blocked head if it ends before the head's reserved start or uses only GPUs the head will not
need then (Lifka 1995; the reservation counts GPUs freed by running jobs in end order, looking
at ``backfill_depth`` queued jobs); ``priority`` is easy-backfill whose blocked head preempts
lower-priority running jobs (they keep their work up to the last checkpoint, pay the restore
cost and requeue); ``fair-share`` starts the oldest fitting job of the tenant with the lowest
allocated GPUs / quota. Run times are exact (a trace replays what happened), so a reservation
holds until the head changes.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from simulator.engine.scheduling.fair import next_tenant, tenant_shares
from simulator.engine.scheduling.pool import TracePool
from simulator.engine.trace.table import TraceTable


@dataclass(slots=True)
class Segment:
    """One stretch a job ran: [start, end) on a group with ``gpus`` busy GPUs, ``held`` held."""

    job: int
    group: int
    start_s: float
    end_s: float
    gpus: int
    held: int


@dataclass
class ReplayResult:
    """What the replay measured, per job and over time."""

    start_s: np.ndarray            # first start (NaN: never started)
    end_s: np.ndarray              # finish (NaN: not by the horizon)
    gpus_alloc: np.ndarray         # GPUs of the last start (elastic jobs may get fewer)
    preemptions: np.ndarray
    locality: np.ndarray           # pool.RACK/LEAF/SPREAD/NODE of the first start, -1 never started
    segments: list[Segment] = field(default_factory=list)
    idle_while_waiting_gpu_s: float = 0.0
    waiting_s: float = 0.0
    held_gpu_s: float = 0.0
    total_gpus: int = 0
    span_s: float = 0.0


class Replay:
    """One replay of ``table`` on ``pools`` (one per trace group) under ``policy``."""

    def __init__(self, table: TraceTable, pools: list[TracePool], policy, horizon_s: float):
        self.t = table
        self.pools = pools
        self.policy = policy
        self.kind = policy.type
        self.horizon_s = horizon_s
        n = len(table)
        self.remaining = table.duration_s.astype(float).copy()     # run time left at full size
        self.gpus_now = np.zeros(n, dtype=np.int64)
        self.res = ReplayResult(np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int64),
                                np.zeros(n, dtype=np.int32), np.full(n, -1, dtype=np.int8),
                                total_gpus=sum(p.total_gpus for p in pools))
        self.queue: list[tuple] = []          # sorted keys (policy order); fair share: per tenant
        self.tenant_q: dict[int, list[tuple]] = {}
        self.usage = np.zeros(len(table.tenants))
        self.share = self._shares()
        self.ends: list[tuple[float, int, int]] = []   # (end time, job, epoch)
        self.epoch = np.zeros(n, dtype=np.int64)
        self.running: dict[int, tuple] = {}   # job -> (group, nodes, per_node, start, segment index)
        self.shadow: tuple | None = None       # (head key, shadow time, extra GPUs)
        self.freed = True                      # GPUs freed since the last backfill pass
        self.fresh: list[int] = []             # jobs submitted at this instant
        self.queued = 0

    # ------------------------------------------------------------------ policy order
    def _key(self, j: int) -> tuple:
        t = self.t
        if self.kind in {"fifo", "fair-share"}:
            return (float(t.submit_s[j]), j)
        return (-int(t.priority[j]), float(t.submit_s[j]), j)

    def _shares(self) -> np.ndarray:
        if self.kind != "fair-share":
            return np.zeros(len(self.t.tenants))
        return tenant_shares(self.t.tenants, self.policy)

    def _enqueue(self, j: int) -> None:
        self.queued += 1
        if self.kind == "fair-share":
            q = self.tenant_q.setdefault(int(self.t.tenant[j]), [])
            bisect.insort(q, self._key(j))
        else:
            bisect.insort(self.queue, self._key(j))

    # ------------------------------------------------------------------ starts and ends
    def _fit(self, j: int) -> tuple[int, int]:
        """(group, GPUs) job ``j`` can start with now, or (-1, 0)."""
        g = int(self.t.gpus[j])
        min_g = int(self.t.min_gpus[j]) if self.policy.elastic else g
        for i, pool in enumerate(self.pools):
            if pool.fits(g):
                return i, g
        if min_g < g:
            for i, pool in enumerate(self.pools):
                got = pool.largest_fit(g, min_g)
                if got:
                    return i, got
        return -1, 0

    def _start(self, j: int, group: int, gpus: int, now: float) -> None:
        pool = self.pools[group]
        nodes, per_node, where = pool.take(gpus)
        full = int(self.t.gpus[j])
        run_s = self.remaining[j] * full / gpus
        res = self.res
        if math.isnan(res.start_s[j]):
            res.start_s[j] = now
            res.locality[j] = where
        res.gpus_alloc[j] = gpus
        self.gpus_now[j] = gpus
        held = per_node * len(nodes)
        res.segments.append(Segment(j, group, now, math.inf, gpus, held))
        self.running[j] = (group, nodes, per_node, now, len(res.segments) - 1)
        self.epoch[j] += 1
        heapq.heappush(self.ends, (now + run_s, j, int(self.epoch[j])))
        self.usage[self.t.tenant[j]] += gpus
        self.queued -= 1

    def _stop(self, j: int, now: float) -> None:
        group, nodes, per_node, _, seg = self.running.pop(j)
        self.pools[group].give_back(nodes, per_node)
        self.freed = True
        self.epoch[j] += 1                     # its pending end, if any, is void
        self.res.segments[seg].end_s = now
        self.usage[self.t.tenant[j]] -= self.gpus_now[j]

    def _preempt(self, j: int, now: float) -> None:
        """Stop running job ``j``: it keeps its work to its last checkpoint, pays the restore
        cost when it runs again, and queues with its first submit time."""
        start = self.running[j][3]
        ran_s = now - start
        full, got = int(self.t.gpus[j]), int(self.gpus_now[j])
        interval = self.policy.checkpoint_interval
        kept_s = math.floor(ran_s / interval) * interval if interval > 0 else ran_s
        self.remaining[j] = self.remaining[j] - kept_s * got / full + self.policy.preemption_cost * got / full
        self._stop(j, now)
        self.res.preemptions[j] += 1
        self._enqueue(j)

    # ------------------------------------------------------------------ passes
    def _pass(self, now: float) -> None:
        if self.kind == "fair-share":
            self._fair_pass(now)
            return
        q = self.queue
        while q:
            j = q[0][-1]
            group, gpus = self._fit(j)
            if group < 0:
                break
            q.pop(0)
            self._start(j, group, gpus, now)
            self.shadow = None
        if not q or self.kind == "fifo":
            return
        if self.kind == "priority" and self._preempt_for(q[0][-1], now):
            self._pass(now)
            return
        self._backfill(now)

    def _reservation(self, head: int) -> tuple[float, float]:
        """(time, spare GPUs then) at which the head should fit, counting GPUs freed in end order."""
        need = int(self.t.gpus[head])
        gpn = self.pools[0].gpn
        need = need if need < gpn else -(-need // gpn) * gpn
        free = sum(p.free_gpus for p in self.pools)
        heap = list(self.ends)                 # popped in end order until the head would fit
        while heap:
            t_end, j, e = heapq.heappop(heap)
            if e != self.epoch[j]:
                continue
            _, nodes, per_node, _, _ = self.running[j]
            free += per_node * len(nodes)
            if free >= need:
                return t_end, free - need
        return math.inf, 0.0

    def _backfill(self, now: float) -> None:
        """Start queued jobs behind the blocked head that cannot delay it. Only a change can let
        one start: GPUs freed or a new reservation (then the first ``backfill_depth`` queued jobs
        are looked at), else just the jobs submitted now. Free capacity only shrinks during a
        pass, so jobs that cannot fit at its start are screened out at once (arrays)."""
        q = self.queue
        head = q[0]
        full = self.freed
        if self.shadow is None or self.shadow[0] != head or self.shadow[1] <= now:
            self.shadow = (head, *self._reservation(head[-1]))
            full = True
        _, shadow_t, extra = self.shadow
        depth = getattr(self.policy, "backfill_depth", 500)
        if full:
            keys = q[1:depth + 1]
        else:
            fresh = {self._key(j) for j in self.fresh}
            keys = [k for k in q[1:depth + 1] if k in fresh] if fresh else []
        self.freed = False
        if not keys or not any(p.free_gpus for p in self.pools):
            return
        ids = np.array([k[-1] for k in keys], dtype=np.int64)
        t = self.t
        g = t.gpus[ids]
        small = t.min_gpus[ids] if self.policy.elastic else g
        gpn = self.pools[0].gpn
        sub_cap = max(p.most_free_on_a_node() for p in self.pools)
        whole = max(len(p.buckets[p.gpn]) for p in self.pools)
        fit = np.where(small < gpn, small <= sub_cap, (small + gpn - 1) // gpn <= whole)
        ends = now + self.remaining[ids]
        maybe = fit & ((ends <= shadow_t) | (small <= extra))
        started = []
        for pos in np.flatnonzero(maybe):
            need = int(small[pos])
            if (need <= sub_cap) if need < gpn else (-(-need // gpn) <= whole):
                j = int(ids[pos])
                group, gpus = self._fit(j)
            else:
                group = -1
            if group < 0:
                continue
            job_end = now + self.remaining[j] * int(t.gpus[j]) / gpus
            if job_end <= shadow_t or gpus <= extra:
                if job_end > shadow_t:
                    extra -= gpus
                started.append(keys[pos])
                self._start(j, group, gpus, now)
                sub_cap = max(p.most_free_on_a_node() for p in self.pools)
                whole = max(len(p.buckets[p.gpn]) for p in self.pools)
                if not sub_cap:
                    break
        if started:                 # the window moves on: the next pass looks at it whole
            gone = set(started)
            self.queue = [q[0], *(k for k in q[1:depth + 1] if k not in gone), *q[depth + 1:]]
            self.freed = True
        self.shadow = (head, shadow_t, extra)

    def _preempt_for(self, head: int, now: float) -> bool:
        prio = int(self.t.priority[head])
        victims = sorted((j for j in self.running if int(self.t.priority[j]) < prio),
                         key=lambda j: (int(self.t.priority[j]), -self.running[j][3], -j))
        if not victims:
            return False
        gpn = self.pools[0].gpn
        need = int(self.t.gpus[head])
        need = need if need < gpn else -(-need // gpn) * gpn
        could = sum(p.free_gpus for p in self.pools) + sum(
            self.running[j][2] * len(self.running[j][1]) for j in victims)
        if could < need:
            return False
        for j in victims:
            self._preempt(j, now)
            if self._fit(head)[0] >= 0:
                break
        self.shadow = None
        return True

    def _fair_pass(self, now: float) -> None:
        total = self.res.total_gpus
        while True:
            heads = []
            for tenant, q in self.tenant_q.items():
                if q:
                    group, gpus = self._fit(q[0][-1])
                    if group >= 0:
                        heads.append((tenant, gpus))
            best = next_tenant(heads, self.usage, self.share, total, self.policy.borrow)
            if best < 0:
                return
            j = self.tenant_q[best].pop(0)[-1]
            group, gpus = self._fit(j)
            self._start(j, group, gpus, now)

    # ------------------------------------------------------------------ the loop
    def run(self) -> ReplayResult:
        t, res = self.t, self.res
        submit = t.submit_s
        n = len(t)
        nxt = 0
        last = 0.0
        horizon = self.horizon_s
        while True:
            t_sub = float(submit[nxt]) if nxt < n else math.inf
            while self.ends and self.ends[0][2] != self.epoch[self.ends[0][1]]:
                heapq.heappop(self.ends)
            t_end = self.ends[0][0] if self.ends else math.inf
            now = min(t_sub, t_end)
            if now > horizon or now == math.inf:
                break
            self._book(last, now)
            last = now
            while self.ends and self.ends[0][0] <= now:
                _, j, e = heapq.heappop(self.ends)
                if e != self.epoch[j]:
                    continue
                self._stop(j, now)
                res.end_s[j] = now
            self.fresh = []
            while nxt < n and submit[nxt] <= now:
                self._enqueue(nxt)
                self.fresh.append(nxt)
                nxt += 1
            self._pass(now)
        self._book(last, horizon)
        for seg in res.segments:
            seg.end_s = min(seg.end_s, horizon)
        res.span_s = horizon
        return res

    def _book(self, t0: float, t1: float) -> None:
        dt = t1 - t0
        if dt <= 0:
            return
        res = self.res
        free = sum(p.free_gpus for p in self.pools)
        res.held_gpu_s += (res.total_gpus - free) * dt
        if self.queued:
            res.waiting_s += dt
            res.idle_while_waiting_gpu_s += free * dt
