"""Keeping the facility within its power envelope: one board cap, as a fraction of TDP, for
every accelerator on the site, and admission of new work against the envelope.

If the site would draw more than its envelope, every board is capped by the same fraction of
its TDP (within its rack's own limit): the highest fraction that fits is found by regula falsi
on facility power (engine/bracket.py). If even the lowest cap does not fit, running jobs are
paused, lowest priority and latest started first. New work is admitted only if the site stays
within the envelope with it at the lowest cap.

Cost: the running jobs are read once per decision into a snapshot (engine/running.py); each
evaluation then looks up each distinct (cost plan, network share, group) at the candidate cap in
a memo and sums the jobs' draw in start order, so the per-job power model runs once per distinct
(plan, cap, share), not once per job and evaluation. Services' states and the site's power
breakdown are memoised on their exact inputs, so an update that evaluates the same state twice
(the cap decision, then the power it records) pays once. Results are the same bits as evaluating
every job afresh.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.engine.bracket import largest_within
from simulator.engine.cluster import Group
from simulator.engine.record import ServiceStatus
from simulator.engine.running import PowerModelMemo, RunningSnapshot
from simulator.engine.serving import ServiceRun, ServiceState
from simulator.engine.site_power import SitePower
from simulator.engine.training import JobRun

# A candidate being admitted: (group, GPUs, board power as a function of the board cap).
Candidate = tuple[Group, int, Callable[[float], float]]
MAX_BREAKDOWNS = 64      # site breakdowns kept: those of the current update are all that recur


class PowerController:
    """Accelerator and host power of the running work at a cap fraction, and the cap itself.

    ``running`` and ``services`` are the world's own lists (running jobs, every service), read
    at each decision.
    """

    def __init__(self, site: SitePower, groups: list[Group], capping: bool, running: list[JobRun],
                 services: list[ServiceRun]):
        self.site = site
        self.groups = groups
        self.capping = capping
        self.running = running
        self.services = services
        self.envelope_w = site.envelope_w    # the grid limit in force (an operation policy may lower it)
        self.memo = PowerModelMemo()
        self._idle_accel = [g.idle_accelerator_power_w() for g in groups]
        self._idle_w = [g.accel.idle_power for g in groups]
        self._service_memo: dict[int, tuple[tuple, ServiceState]] = {}
        self._breakdowns: dict[tuple, dict[str, float]] = {}
        self._caps: dict[float, list[float]] = {}
        self._last_loads: tuple | None = None     # see _loads
        # Work drawn on the site that the controller cannot cap but must leave room for (a
        # replayed trace's sample-mean load, engine/world_trace.py): (key, accelerator W above
        # idle, active GPUs) per group, set by the world at each update.
        self._uncapped: tuple[int, np.ndarray, np.ndarray] | None = None
        # The running jobs as they will stand once the world applies the last choose_cap (every
        # job paused exactly when chosen): the power it then records reads the same snapshot.
        self.decided: RunningSnapshot | None = None
        self.evaluations = 0                 # site power evaluations (demand sums)
        self.breakdowns = 0                  # site breakdowns actually computed

    def set_uncapped(self, key: int, accel_above_idle_w: np.ndarray, active_gpus: np.ndarray) -> None:
        """The uncappable load in force from now (``key`` names it: the same key, the same load)."""
        self._uncapped = (key, accel_above_idle_w, active_gpus)

    def caps_at(self, fraction: float) -> list[float]:
        """Every group's board cap at a fraction of TDP (memoised: a pure function of it)."""
        caps = self._caps.get(fraction)
        if caps is None:
            if len(self._caps) >= MAX_BREAKDOWNS:
                self._caps.clear()
            caps = self._caps[fraction] = [g.board_cap_w(fraction) for g in self.groups]
        return caps

    def cap_w(self, group: Group, fraction: float) -> float:
        """Board cap at a fraction of TDP, within the rack's power limit."""
        return self.caps_at(fraction)[group.index]

    def job_cap_w(self, job: JobRun, fraction: float) -> float:
        """A job's board cap: the site's, or lower where an operation policy slows it."""
        return min(self.cap_w(self.groups[job.group], fraction), job.policy_cap_w)

    def job_rate(self, job: JobRun, fraction: float) -> tuple[float, float, float]:
        """(step time, board power, clock) of a running job at a cap fraction (memoised)."""
        return self.memo.at_power(job.plan, self.job_cap_w(job, fraction), job.network_share)

    def service_state(self, svc: ServiceRun, cap_w: float) -> ServiceState:
        """``svc.evaluate(cap_w)``, memoised on everything it reads."""
        key = (cap_w, svc.status, svc.units, svc.replicas_down, svc.backlog, svc.arrival_per_s)
        hit = self._service_memo.get(svc.index)
        if hit is not None and hit[0] == key:
            return hit[1]
        state = svc.evaluate(cap_w)
        self._service_memo[svc.index] = (key, state)
        return state

    def snapshot(self) -> RunningSnapshot:
        """The running jobs as they stand now."""
        return RunningSnapshot(self.running)

    def demand(self, fraction: float, extra: Candidate | None = None,
               snap: RunningSnapshot | None = None) -> np.ndarray:
        """Accelerator power per group at a cap fraction of TDP: every board at idle, plus what
        running jobs and services draw above it, plus ``extra`` being admitted."""
        snap = self.snapshot() if snap is None else snap
        self.evaluations += 1
        accel = list(self._idle_accel)
        caps = self.caps_at(fraction)
        snap.add_accelerator_power(accel, snap.board_power(self.memo, caps), self._idle_w)
        for svc in self.services:
            if svc.status == ServiceStatus.RUNNING:
                group = self.groups[svc.group]
                board = self.service_state(svc, caps[svc.group]).board_power_w
                accel[svc.group] += svc.gpus * (board - group.accel.idle_power)
        if extra is not None:
            group, gpus, board_at = extra
            accel[group.index] += gpus * (board_at(caps[group.index]) - group.accel.idle_power)
        if self._uncapped is not None:
            return np.array(accel, dtype=np.float64) + self._uncapped[1]
        return np.array(accel, dtype=np.float64)

    def active_gpus(self, snap: RunningSnapshot | None = None) -> np.ndarray:
        """Accelerators per group running work now (paused, restarting or held jobs are idle)."""
        snap = self.snapshot() if snap is None else snap
        active = [0.0] * len(self.groups)
        snap.add_active_gpus(active)
        for svc in self.services:
            if svc.status == ServiceStatus.RUNNING:
                active[svc.group] += svc.gpus
        if self._uncapped is not None:
            return np.array(active, dtype=np.float64) + self._uncapped[2]
        return np.array(active, dtype=np.float64)

    def host_power(self, active: np.ndarray | None = None) -> np.ndarray:
        """Host power per group: every server idle, plus the dynamic share of the accelerators
        running work now (paused or restarting jobs leave their hosts idle)."""
        active = self.active_gpus() if active is None else active
        return np.array([g.host_power_w(active[g.index]) for g in self.groups])

    def breakdown(self, accel: np.ndarray, hosts: np.ndarray, hour: int, active: np.ndarray) -> dict[str, float]:
        """``site.breakdown`` memoised on its exact inputs (a pure function of them)."""
        # The racks in service are an input too: a delivery changes the breakdown of equal loads.
        key = (accel.tobytes(), hosts.tobytes(), int(hour), active.tobytes(), self.site.installed.tobytes())
        hit = self._breakdowns.get(key)
        if hit is None:
            if len(self._breakdowns) >= MAX_BREAKDOWNS:
                self._breakdowns.clear()
            self.breakdowns += 1
            hit = self._breakdowns[key] = self.site.breakdown(accel, hosts, hour, active)
        return dict(hit)

    def _loads(self, fraction: float, snap: RunningSnapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(accelerator power, active GPUs, host power) per group at a cap fraction, kept for the
        next call with the same fraction, the same snapshot object (it is immutable) and every
        service as it stands: the cap decision and the power the world then records ask for the
        same loads within one update. Callers must not modify the arrays."""
        services = (tuple((s.status, s.group, s.units, s.replicas_down, s.backlog, s.arrival_per_s)
                          for s in self.services), self._uncapped[0] if self._uncapped is not None else None)
        last = self._last_loads
        if last is not None and last[0] == fraction and last[1] is snap and last[2] == services:
            return last[3]
        accel = self.demand(fraction, snap=snap)
        active = self.active_gpus(snap)
        loads = (accel, active, self.host_power(active))
        self._last_loads = (fraction, snap, services, loads)
        return loads

    def site_at(self, fraction: float, hour: int, snap: RunningSnapshot | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
        """(accelerator power, host power, active GPUs, breakdown) per group at a cap fraction,
        the uncapped load included."""
        snap = self.snapshot() if snap is None else snap
        accel, active, hosts = self._loads(fraction, snap)
        return accel, hosts, active, self.breakdown(accel, hosts, hour, active)

    def facility_at(self, fraction: float, hour: int, extra: Candidate | None = None,
                    snap: RunningSnapshot | None = None) -> float:
        snap = self.snapshot() if snap is None else snap
        if extra is None:
            accel, active, hosts = self._loads(fraction, snap)
            return self.breakdown(accel, hosts, hour, active)["facility_power_w"]
        accel = self.demand(fraction, extra, snap)
        active = self.active_gpus(snap)
        group, gpus, _ = extra
        active[group.index] += gpus
        return self.breakdown(accel, self.host_power(active), hour, active)["facility_power_w"]

    def admits(self, candidate: Candidate, hour: int, snap: RunningSnapshot | None = None) -> bool:
        """New work may start if the site stays within its envelope at the lowest cap (``snap``:
        the running jobs, when the caller already holds them as they stand)."""
        if not self.capping:
            return True
        return self.facility_at(self.site.min_cap_fraction, hour, candidate, snap) <= self.envelope_w

    def choose_cap(self, hour: int) -> tuple[float, set[str]]:
        """Highest cap fraction keeping the facility within the envelope; the jobs to pause if even
        the floor does not suffice (lowest priority, latest started first)."""
        paused: set[str] = set()
        self.decided = None
        if not self.capping:
            return 1.0, paused
        envelope = self.envelope_w
        # Decide afresh: jobs this controller paused before count as running until shown not to fit.
        saved = {j.name: j.paused for j in self.running}
        for job in self.running:
            job.paused = False
        snap = self.snapshot()
        at_full = self.facility_at(1.0, hour, snap=snap)
        if at_full <= envelope:
            for job in self.running:
                job.paused = saved[job.name]
            self.decided = snap
            return 1.0, paused
        floor = self.site.min_cap_fraction
        # Jobs held by an operation policy or down after a failure draw idle power already.
        victims = sorted((j for j in self.running if not j.down and j.policy_state == "run"),
                         key=lambda j: (j.config.priority, -j.start_s, -j.index))
        at_floor = self.facility_at(floor, hour, snap=snap)
        while at_floor > envelope and victims:
            victim = victims.pop(0)
            victim.paused = True
            paused.add(victim.name)
            snap = self.snapshot()
            at_floor = self.facility_at(floor, hour, snap=snap)
        fraction = floor
        if at_floor <= envelope:
            at_full = self.facility_at(1.0, hour, snap=snap) if paused else at_full
            if at_full <= envelope:
                fraction = 1.0
            else:
                fraction = largest_within(lambda x: self.facility_at(x, hour, snap=snap), envelope, floor, 1.0,
                                          at_floor, at_full)
        self.decided = snap
        return fraction, paused
