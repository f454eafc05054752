"""Job queue with priorities, whole-node placement on rack groups, and EASY backfill.

Jobs wait in (priority desc, submit time, index) order. The head job starts as soon as a rack
group has its nodes free (and the site has the power); later jobs may start ahead of it
(backfill) only if they cannot delay it: they run on another group, or are expected to finish
before the head job's reserved start (Lifka, "The ANL/IBM SP scheduling system", 1995). Under
fair share (scheduling/fair.py) jobs wait in submit order per tenant and each start goes to the
tenant furthest below its share whose oldest job fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from simulator.engine.cluster import Group, eligible_groups
from simulator.engine.node_pool import NodePool
from simulator.engine.scheduling.fair import next_tenant, tenant_shares
from simulator.engine.training import JobRun
from simulator.scenario.scheduling import FairShare


class Scheduler:
    """Decides which queued jobs start now and where, and takes their nodes from the pool."""

    def __init__(self, groups: list[Group], pool: NodePool, power_allows: Callable[[JobRun, Group], bool],
                 backfill: bool = True, fair: FairShare | None = None, tenants: tuple[str, ...] = ()):
        self.groups = groups
        self.backfill = backfill              # False under the fifo policy: nothing passes a blocked head
        self.pool = pool
        self.power_allows = power_allows
        self.queue: list[JobRun] = []
        self.fair = fair
        self.tenant_index = {name: i for i, name in enumerate(tenants)}
        self.share = tenant_shares(tenants, fair) if fair is not None else np.zeros(0)

    def submit(self, job: JobRun) -> None:
        self.queue.append(job)
        if self.fair is not None:
            self.queue.sort(key=lambda j: (j.submit_s, j.index))
        else:
            self.queue.sort(key=lambda j: (-j.config.priority, j.submit_s, j.index))

    def eligible(self, job: JobRun) -> list[Group]:
        return eligible_groups(self.groups, job.config.rack_group, job.gpus)

    def _fits_now(self, job: JobRun) -> Group | None:
        for group in self.eligible(job):
            if self.pool.fits(group, job.gpus) and self.power_allows(job, group):
                return group
        return None

    def _reservation(self, head: JobRun, running: list[JobRun], now: float) -> tuple[float, int]:
        """(time, group index) at which the head job could start, from running jobs' finish times."""
        best = (math.inf, -1)
        for group in self.eligible(head):
            need = group.nodes_for(head.gpus)
            free = self.pool.free_nodes(group)
            if free >= need:
                return now, group.index
            ends = sorted((now + j.time_to_finish(), j.nodes) for j in running if j.group == group.index)
            for t_end, nodes in ends:
                free += nodes
                if free >= need:
                    best = min(best, (t_end, group.index))
                    break
        return best

    def _fair_pick(self, running: list[JobRun]) -> list[tuple[JobRun, Group, np.ndarray]]:
        """Fair share: start the oldest fitting job of the tenant furthest below its share, again
        and again, until no tenant's oldest job can start."""
        assert self.fair is not None
        usage = np.zeros(len(self.tenant_index))
        for job in running:
            usage[self.tenant_index[job.config.tenant]] += job.gpus
        total = float(sum(g.gpus_total for g in self.groups))
        started: list[tuple[JobRun, Group, np.ndarray]] = []
        while True:
            heads: dict[int, tuple[JobRun, Group | None]] = {}
            for job in self.queue:                   # submit order: the first seen is the oldest
                tenant = self.tenant_index[job.config.tenant]
                if tenant not in heads:
                    heads[tenant] = (job, self._fits_now(job))
            fitting = [(t, job.gpus) for t, (job, group) in heads.items() if group is not None]
            best = next_tenant(fitting, usage, self.share, total, self.fair.borrow)
            if best < 0:
                return started
            job, group = heads[best]
            assert group is not None
            self.queue.remove(job)
            started.append((job, group, self.pool.take(group, group.nodes_for(job.gpus))))
            usage[best] += job.gpus

    def pick(self, now: float, running: list[JobRun]) -> list[tuple[JobRun, Group, np.ndarray]]:
        """Jobs to start now, in order, with their groups and the nodes taken for them."""
        if self.fair is not None:
            return self._fair_pick(running)
        started: list[tuple[JobRun, Group, np.ndarray]] = []
        head_blocked = False
        shadow_t, shadow_g = math.inf, -1
        for job in list(self.queue):
            group = self._fits_now(job)
            if group is None and not self.backfill:
                break
            if group is None:
                if not head_blocked:
                    head_blocked = True
                    shadow_t, shadow_g = self._reservation(job, running, now)
                continue
            if head_blocked and group.index == shadow_g:
                runtime = job.steps_total * job.plan.nominal()[0] + sum(
                    steps * plan.nominal()[0] for _, plan, steps in job.later_phases)
                if now + runtime > shadow_t:
                    continue
            self.queue.remove(job)
            started.append((job, group, self.pool.take(group, group.nodes_for(job.gpus))))
        return started
