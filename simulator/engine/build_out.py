"""Racks arriving and retiring during a run (a phased build-out, engine/schedules.py).

At a delivery the group's nodes join the pool (its spares too) and it starts drawing power; at
a retirement its nodes leave the pool and it stops drawing power. Work on a retiring group is
treated like a failure of all its nodes: a training job loses the progress since its last
checkpoint and goes back to the queue (it restarts from the checkpoint wherever it is placed
next); an inference service's replicas stop and the service waits for nodes elsewhere, its
arrivals queueing meanwhile.
"""

from __future__ import annotations

import numpy as np

from simulator.engine.record import ServiceStatus
from simulator.engine.schedules import HOUR_S, Calendar
from simulator.engine.training import fail


class BuildOut:
    """The world's deliveries and retirements, as one SimPy process."""

    def __init__(self, calendar: Calendar, world):
        self.calendar = calendar
        self.world = world
        for group in world.groups:
            arrive, _ = calendar.phases[group.index]
            if arrive > 0:
                world.pool.withdraw(group)
        world.plan.site.set_installed(calendar.installed(0.0))
        self.gpus_installed = self._gpus(0.0)

    def _gpus(self, t_s: float) -> float:
        return float(sum(g.gpus_total * m for g, m in zip(self.world.groups, self.calendar.installed(t_s),
                                                             strict=True)))

    def process(self):
        world = self.world
        for t in self.calendar.changes(world.recorder.horizon_s):
            yield world.env.timeout(t - world.env.now)
            world._integrate_jobs(world.env.now)
            for group in world.groups:
                arrive, retire = self.calendar.phases[group.index]
                if arrive == t:
                    world.pool.deliver(group)
                    world.recorder.count("racks_delivered", group.config.count)
                if retire == t:
                    self._retire(group)
                    world.recorder.count("racks_retired", group.config.count)
            world.plan.site.set_installed(self.calendar.installed(t))
            self.gpus_installed = self._gpus(t)
            world._schedule()

    def _retire(self, group) -> None:
        world = self.world
        now = world.env.now
        world.pool.withdraw(group)
        for job in [j for j in world.running if j.group == group.index]:
            if not job.down:
                fail(job, now)
            world.requeue(job)
            world.recorder.count("jobs_requeued")
        for svc in world.services:
            if svc.status == ServiceStatus.RUNNING and svc.group == group.index:
                svc.status = ServiceStatus.QUEUED
                svc.node_ids = np.zeros(0, dtype=np.int64)
                svc.replicas_down = 0
                svc.waiting_lost = []
                svc.state = None
                world.recorder.count("services_requeued")


def envelope_rises_s(envelope_w: np.ndarray | None, horizon_s: float) -> list[float]:
    """The hour starts within (0, horizon) at which the hourly site envelope rises (a substation
    commissioned, a contract stepped up)."""
    if envelope_w is None or len(envelope_w) < 2:
        return []
    hours = np.flatnonzero(envelope_w[1:] > envelope_w[:-1]) + 1
    return [float(h) * HOUR_S for h in hours if float(h) * HOUR_S < horizon_s]


def reconsider_at_rises(world, rises_s: list[float]):
    """A SimPy process: when the envelope rises, queued work the old envelope held back is
    reconsidered at once, not at the next job event (which may be a year away)."""
    for t in rises_s:
        yield world.env.timeout(t - world.env.now)
        world.update()            # the new envelope first: admission reads it
        world._schedule()
