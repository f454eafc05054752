"""Inference services in a run: their start, Poisson arrivals per sample, placement on nodes
ahead of queued training jobs, and node failures under them (replicas lost, swapped in,
reloaded). Split from engine/world.py, which owns one of these per run.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.engine.cluster import Group, eligible_groups
from simulator.engine.disruptions import service_can_fail
from simulator.engine.failure_classes import FailureClassPlan, pick_cause
from simulator.engine.failures import node_failures
from simulator.engine.record import ServiceStatus
from simulator.engine.serving import ServiceRun


class ServiceWiring:
    """The services' side of one World."""

    def __init__(self, world):
        """``world``: the engine/world.py World (untyped: world imports this)."""
        self.world = world

    def start(self, svc: ServiceRun):
        """At its start time the service's arrivals begin; it queues them until it has nodes."""
        w = self.world
        yield w.env.timeout(svc.config.start)
        w._integrate_jobs(w.env.now)
        svc.status = ServiceStatus.QUEUED
        svc.last_t = w.env.now
        interval = w.recorder.sample_interval_s
        end = min((math.floor(w.env.now / interval + 1e-9) + 1) * interval, w.recorder.horizon_s)
        self.draw_arrivals(svc, w.env.now, end)
        w.recorder.count("services_started")
        w._schedule()

    def draw_arrivals(self, svc: ServiceRun, start: float, end: float) -> None:
        """Poisson arrivals for [start, end), spread evenly over it."""
        w = self.world
        if end <= start:
            svc.arrival_per_s = 0.0
            return
        mean = svc.config.arrival_rate * svc.multiplier(start, end, w.loaded.scenario.simulation.start_hour)
        if svc.index in w.plan.demand_months and w.plan.calendar is not None:
            mean *= w.plan.demand_months[svc.index][w.plan.calendar.month_of(start)]
        count = w._service_rngs[svc.index].poisson(mean * (end - start))
        svc.arrival_per_s = float(count) / (end - start)

    def place(self) -> None:
        """Services waiting for nodes take them before queued training jobs, if the site has the
        power for them at full load."""
        w = self.world
        for svc in w.services:
            if svc.status != ServiceStatus.QUEUED:
                continue
            for group in eligible_groups(w.groups, svc.config.rack_group, svc.gpus):
                if w.pool.fits(group, svc.gpus) and \
                        w.power.admits((group, svc.gpus, svc.plan.peak_power_w), w._hour_now()):
                    svc.group = group.index
                    svc.nodes = group.nodes_for(svc.gpus)
                    svc.node_ids = w.pool.take(group, svc.nodes)
                    svc.status = ServiceStatus.RUNNING
                    svc.start_s = w.env.now
                    w.recorder.count("services_placed")
                    if w.failure_model is not None and w.failure_model.node_classes \
                            and svc.name not in w._failing:
                        w._failing.add(svc.name)
                        w.env.process(node_failures(
                            w.env, w._service_failure_rngs[svc.index], w.failure_model.node_gap_s(svc.nodes),
                            svc, service_can_fail, self.failed))
                    break

    def failed(self, svc: ServiceRun, broken: int, cls: FailureClassPlan | None = None,
               planned: bool = False) -> None:
        """A node under a running service failed (or was drained): the replicas on it stop serving
        until a free node or spare is swapped in and they reload."""
        w = self.world
        w._integrate_jobs(w.env.now)
        cls = cls or pick_cause(w.failure_model, w._service_failure_rngs[svc.index])
        group = w.groups[svc.group]
        lost = min(svc.replicas_per_node(group.gpus_per_node), svc.units - svc.replicas_down)
        svc.replicas_down += lost
        if planned:
            w.recorder.count("maintenance")
        else:
            svc.failures += 1
            w.recorder.count("failures")
            w.recorder.count(f"failures:{cls.name}")
        w.env.process(w._repair(group, broken, cls.repair_s))
        if not self.swap_in(svc, group, lost, cls.restart_s):
            svc.waiting_lost.append(lost)
        w.update()

    def swap_in(self, svc: ServiceRun, group: Group, lost: int, restart_s: float) -> bool:
        """Give the service a replacement node and reload its ``lost`` replicas; False if none."""
        w = self.world
        new = w._replacement(group)
        if new is None:
            return False
        svc.node_ids = np.sort(np.concatenate([svc.node_ids, new]))
        w.env.process(self.restart(svc, lost, restart_s))
        return True

    def restart(self, svc: ServiceRun, lost: int, restart_s: float):
        w = self.world
        yield w.env.timeout(restart_s)
        w._integrate_jobs(w.env.now)
        svc.replicas_down -= lost
        w.update()
