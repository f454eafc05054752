"""Keeping the facility within its power envelope: one board cap, as a fraction of TDP, for
every accelerator on the site, and admission of new work against the envelope.

If the site would draw more than its envelope, every board is capped by the same fraction of
its TDP (within its rack's own limit): the highest fraction that fits is found by regula falsi
on facility power (engine/bracket.py). If even the lowest cap does not fit, running jobs are
paused, lowest priority and latest started first. New work is admitted only if the site stays
within the envelope with it at the lowest cap.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.engine.bracket import largest_within
from simulator.engine.cluster import Group
from simulator.engine.record import ServiceStatus
from simulator.engine.serving import ServiceRun
from simulator.engine.site_power import SitePower
from simulator.engine.training import JobRun

# A candidate being admitted: (group, GPUs, board power as a function of the board cap).
Candidate = tuple[Group, int, Callable[[float], float]]


class PowerController:
    """Accelerator and host power of the running work at a cap fraction, and the cap itself.

    ``running`` and ``services`` are the world's own lists (running jobs, every service), read
    at each call.
    """

    def __init__(self, site: SitePower, groups: list[Group], capping: bool, running: list[JobRun],
                 services: list[ServiceRun]):
        self.site = site
        self.groups = groups
        self.capping = capping
        self.running = running
        self.services = services
        self.envelope_w = site.envelope_w    # the grid limit in force (an operation policy may lower it)

    def cap_w(self, group: Group, fraction: float) -> float:
        """Board cap at a fraction of TDP, within the rack's power limit."""
        return group.board_cap_w(fraction)

    def job_cap_w(self, job: JobRun, fraction: float) -> float:
        """A job's board cap: the site's, or lower where an operation policy slows it."""
        return min(self.cap_w(self.groups[job.group], fraction), job.policy_cap_w)

    def demand(self, fraction: float, extra: Candidate | None = None) -> np.ndarray:
        """Accelerator power per group at a cap fraction of TDP: every board at idle, plus what
        running jobs and services draw above it, plus ``extra`` being admitted."""
        accel = np.array([g.idle_accelerator_power_w() for g in self.groups])
        for job in self.running:
            if job.idle:
                continue
            _, power, _ = job.plan.at_power(self.job_cap_w(job, fraction), job.network_share)
            g = job.group
            accel[g] += job.gpus * (power - self.groups[g].accel.idle_power)
        for svc in self.services:
            if svc.status == ServiceStatus.RUNNING:
                group = self.groups[svc.group]
                board = svc.evaluate(self.cap_w(group, fraction)).board_power_w
                accel[svc.group] += svc.gpus * (board - group.accel.idle_power)
        if extra is not None:
            group, gpus, board_at = extra
            accel[group.index] += gpus * (board_at(self.cap_w(group, fraction)) - group.accel.idle_power)
        return accel

    def active_gpus(self) -> np.ndarray:
        """Accelerators per group running work now (paused, restarting or held jobs are idle)."""
        active = np.zeros(len(self.groups))
        for job in self.running:
            if not job.idle:
                active[job.group] += job.gpus
        for svc in self.services:
            if svc.status == ServiceStatus.RUNNING:
                active[svc.group] += svc.gpus
        return active

    def host_power(self, active: np.ndarray | None = None) -> np.ndarray:
        """Host power per group: every server idle, plus the dynamic share of the accelerators
        running work now (paused or restarting jobs leave their hosts idle)."""
        active = self.active_gpus() if active is None else active
        return np.array([g.host_power_w(active[g.index]) for g in self.groups])

    def facility_at(self, fraction: float, hour: int, extra: Candidate | None = None) -> float:
        accel = self.demand(fraction, extra)
        active = self.active_gpus()
        if extra is not None:
            group, gpus, _ = extra
            active[group.index] += gpus
        return self.site.breakdown(accel, self.host_power(active), hour, active)["facility_power_w"]

    def admits(self, candidate: Candidate, hour: int) -> bool:
        """New work may start if the site stays within its envelope at the lowest cap."""
        if not self.capping:
            return True
        return self.facility_at(self.site.min_cap_fraction, hour, candidate) <= self.envelope_w

    def choose_cap(self, hour: int) -> tuple[float, set[str]]:
        """Highest cap fraction keeping the facility within the envelope; the jobs to pause if even
        the floor does not suffice (lowest priority, latest started first)."""
        paused: set[str] = set()
        if not self.capping:
            return 1.0, paused
        envelope = self.envelope_w
        # Decide afresh: jobs this controller paused before count as running until shown not to fit.
        saved = {j.name: j.paused for j in self.running}
        for job in self.running:
            job.paused = False
        at_full = self.facility_at(1.0, hour)
        if at_full <= envelope:
            for job in self.running:
                job.paused = saved[job.name]
            return 1.0, paused
        floor = self.site.min_cap_fraction
        # Jobs held by an operation policy or down after a failure draw idle power already.
        victims = sorted((j for j in self.running if not j.down and j.policy_state == "run"),
                         key=lambda j: (j.config.priority, -j.start_s, -j.index))
        at_floor = self.facility_at(floor, hour)
        while at_floor > envelope and victims:
            victim = victims.pop(0)
            victim.paused = True
            paused.add(victim.name)
            at_floor = self.facility_at(floor, hour)
        fraction = floor
        if at_floor <= envelope:
            at_full = self.facility_at(1.0, hour) if paused else at_full
            if at_full <= envelope:
                fraction = 1.0
            else:
                fraction = largest_within(lambda x: self.facility_at(x, hour), envelope, floor, 1.0,
                                          at_floor, at_full)
        return fraction, paused
