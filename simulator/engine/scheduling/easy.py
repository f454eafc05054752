"""Job queue with priorities, whole-node placement on rack groups, and EASY backfill.

Jobs wait in (priority desc, submit time, index) order. The head job starts as soon as a rack
group has its nodes free (and the site has the power); later jobs may start ahead of it
(backfill) only if they cannot delay it: they run on another group, or are expected to finish
before the head job's reserved start (Lifka, "The ANL/IBM SP scheduling system", 1995).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from simulator.engine.cluster import Group, eligible_groups
from simulator.engine.node_pool import NodePool
from simulator.engine.training import JobRun


class Scheduler:
    """Decides which queued jobs start now and where, and takes their nodes from the pool."""

    def __init__(self, groups: list[Group], pool: NodePool, power_allows: Callable[[JobRun, Group], bool],
                 backfill: bool = True):
        self.groups = groups
        self.backfill = backfill              # False under the fifo policy: nothing passes a blocked head
        self.pool = pool
        self.power_allows = power_allows
        self.queue: list[JobRun] = []

    def submit(self, job: JobRun) -> None:
        self.queue.append(job)
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

    def pick(self, now: float, running: list[JobRun]) -> list[tuple[JobRun, Group, np.ndarray]]:
        """Jobs to start now, in order, with their groups and the nodes taken for them."""
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
