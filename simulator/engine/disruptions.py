"""Events that take down many nodes at once: rack- and leaf-scoped failures
(engine/failure_classes.py) and planned maintenance windows (engine/maintenance.py).

When a unit (a rack, a leaf switch's nodes, a drained node or the site) goes down, its free
nodes and idle spares leave the pool, every job holding any of its nodes loses them (a failure
throws away the work since the last checkpoint; a drain checkpoints first and loses nothing)
and restarts on replacement nodes, or waits for them; every service loses the replicas on
them. The unit's nodes come back after the class's repair time, or when the window closes.
"""

from __future__ import annotations

import numpy as np

from simulator.engine.failure_classes import FailureClassPlan, unit_failures, units_of
from simulator.engine.maintenance import maintenance_windows
from simulator.engine.record import ServiceStatus
from simulator.engine.serving import ServiceRun
from simulator.engine.training import JobRun, drain, fail
from simulator.scenario.failures import Failures

PLANNED = "maintenance"


def job_can_fail(job: JobRun) -> bool:
    return not job.down                      # already restarting: nothing more to lose


def service_can_fail(svc: ServiceRun) -> bool:
    return len(svc.node_ids) > 0             # every node already failed: nothing left to lose


class Disruptions:
    """Starts the site-wide unit processes of one run and applies their events to the world."""

    def __init__(self, world):
        """``world``: the engine/world.py World these events act on (untyped: world imports this)."""
        self.world = world
        plan = world.plan
        spans = [(g.first_node, g.nodes_total, g.config.nodes_per_rack) for g in plan.groups]
        self._spans = spans
        self._per_leaf = plan.fabric.nodes_per_leaf
        # Its own random stream, derived from the failures seed, so the per-job streams are untouched.
        self.rng = np.random.default_rng([plan.seeds["failures"], 1])

    @staticmethod
    def needed(plan) -> bool:
        """Whether a run has unit events: rack/leaf-scoped failure classes or maintenance windows."""
        model = plan.failure_model
        return bool(model is not None and model.scoped_classes) or plan.maintenance is not None

    def start(self) -> None:
        w = self.world
        model = w.plan.failure_model
        if model is not None:
            for cls in model.scoped_classes:
                units = units_of(cls.scope, self._spans, self._per_leaf)
                w.env.process(unit_failures(w.env, self.rng, cls, units, self.failed))
        m = w.plan.maintenance
        if m is not None:
            units = units_of(m.scope, self._spans, self._per_leaf)
            w.env.process(maintenance_windows(w.env, m, units, w.recorder.horizon_s, self.drained))

    def failed(self, cls: FailureClassPlan, nodes: np.ndarray) -> None:
        self.down(nodes, cls, planned=False)

    def drained(self, nodes: np.ndarray, duration_s: float) -> None:
        f = self.world.failures_cfg or Failures()      # restart time: the section's, else its default
        self.down(nodes, FailureClassPlan(PLANNED, 0.0, "unit", f.restart_time, duration_s), planned=True)

    def down(self, nodes: np.ndarray, cls: FailureClassPlan, planned: bool) -> None:
        """Take ``nodes`` out of service for ``cls.repair_s``; stop whatever ran on them."""
        w = self.world
        now = w.env.now
        w._integrate_jobs(now)
        for group in w.groups:
            for node in w.pool.take_out(group, nodes):
                w.env.process(w._repair(group, int(node), cls.repair_s))
        for job in list(w.running):
            mask = np.isin(job.node_ids, nodes)
            if not mask.any():
                continue
            group = w.groups[job.group]
            lost = job.node_ids[mask]
            job.node_ids = job.node_ids[~mask]
            for node in lost:
                w.env.process(w._repair(group, int(node), cls.repair_s))
            restart_s = cls.restart_s
            if not job.down:
                if planned:
                    drain(job, now)
                    w.recorder.count(PLANNED)
                    assert job.checkpoint is not None
                    restart_s += job.checkpoint.write_s      # the checkpoint written at the drain
                else:
                    fail(job, now)
                    w.recorder.count("failures")
                    w.recorder.count(f"failures:{cls.name}")
            job.restart_s = restart_s
            if not w._replace_node(job, group):
                job.waiting_for_node = True
        for svc in w.services:
            if svc.status != ServiceStatus.RUNNING:
                continue
            for node in svc.node_ids[np.isin(svc.node_ids, nodes)]:
                svc.node_ids = svc.node_ids[svc.node_ids != node]
                w.serving.failed(svc, int(node), cls, planned)
        w.update()


__all__ = ["Disruptions"]
