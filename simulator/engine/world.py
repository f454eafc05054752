"""One simulation run: wires the planned scenario (engine/planning.py) into a SimPy world of a
node pool, a power controller, a scheduler, training jobs, inference services and node
failures, plays it to the horizon and returns the frozen run record (engine/record.py).

Cost grows with the number of changes (job arrivals, starts, finishes, power-cap changes,
sample ticks), not with GPUs or steps: jobs are single processes advancing many steps per
timeout, racks are counts, and power is recomputed only when something changed.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.engine.cluster import Group, eligible_groups
from simulator.engine.fabric import network_shares
from simulator.engine.failures import node_failures
from simulator.engine.grid_events import GridEvents
from simulator.engine.node_pool import NodePool
from simulator.engine.operation import OperationRun
from simulator.engine.planning import HOUR_S, RunPlan, plan_run
from simulator.engine.power_control import PowerController
from simulator.engine.record import JobStatus, RunRecord, ServiceStatus
from simulator.engine.record_build import build_record
from simulator.engine.recorder import POWER_COLUMNS, STATE_COLUMNS, CountingEnvironment, Recorder, env_row
from simulator.engine.scheduling.easy import Scheduler
from simulator.engine.serving import ServiceRun
from simulator.engine.training import JobRun, change_rate, fail, job_process, restart
from simulator.engine.world_trace import replay_trace
from simulator.scenario.load import LoadedScenario

PROGRESS_POINTS = 400


def _job_can_fail(job: JobRun) -> bool:
    return not job.down                      # already restarting: nothing more to lose


def _service_can_fail(svc: ServiceRun) -> bool:
    return len(svc.node_ids) > 0             # every node already failed: nothing left to lose


class World:
    """Everything one run needs; built once, run once."""

    def __init__(self, loaded: LoadedScenario | RunPlan, progress_callback=None):
        plan = loaded if isinstance(loaded, RunPlan) else plan_run(loaded)
        self.plan = plan
        self.loaded = plan.loaded
        self.progress_callback = progress_callback
        sim = self.loaded.scenario.simulation
        self.env = CountingEnvironment()
        self.groups = plan.groups
        self.pool = NodePool(plan.groups)
        self.failures_cfg = plan.failures
        self.recorder = Recorder(sim.horizon, sim.sample_interval)
        self.jobs = [JobRun(p.config, p.plan, p.model_name, p.index, p.steps_total, checkpoint=p.checkpoint,
                            later_phases=list(p.later_phases), phase=p.first_phase,
                            policy_write_s=p.policy_write_s) for p in plan.jobs]
        failure_seeds = plan.streams["failures"]
        self._job_rngs = [np.random.default_rng(s) for s in failure_seeds.spawn(max(len(self.jobs), 1))]
        self.services = [ServiceRun(p.config, p.costs, p.model_name, p.index, self.recorder.n_samples)
                         for p in plan.services]
        outage_seeds = failure_seeds.spawn(max(len(self.services), 1))
        self._service_failure_rngs = [np.random.default_rng(s) for s in outage_seeds]
        arrival_seeds = plan.streams["arrivals"].spawn(max(len(self.services), 1))
        self._service_rngs = [np.random.default_rng(s) for s in arrival_seeds]
        self.running: list[JobRun] = []
        self.power = PowerController(plan.site, self.groups, self.loaded.scenario.power.power_capping,
                                     self.running, self.services)
        self.scheduler = Scheduler(self.groups, self.pool, self._power_allows,
                                   backfill=self.loaded.scenario.scheduler.type != "fifo")
        self.trace = replay_trace(plan, self.pool) if plan.trace is not None else None
        self.operation = OperationRun(plan.operation, self.env, self.power, self.update) if plan.operation else None
        self.grid = GridEvents(plan.outages, self) if plan.outages else None
        self.capped = False
        self._hour = 0
        self._jobs_t = 0.0
        self._job_power_w: dict[str, float] = {}
        self._service_power_w: dict[str, float] = {}

    # ------------------------------------------------------------------ power
    def _hour_now(self) -> int:
        return min(int(self.env.now // HOUR_S), len(self.plan.ambient_c) - 1)

    def _power_allows(self, job: JobRun, group: Group) -> bool:
        return self.power.admits((group, job.gpus, lambda cap: job.plan.at_power(cap)[1]), self._hour_now())

    def update(self) -> None:
        """Recompute caps, job rates and the power breakdown after any change."""
        now = self.env.now
        hour = self._hour_now()
        self._integrate_jobs(now)
        if self.operation is not None:
            self.operation.reconcile(self.running, hour, now)
        shares = network_shares(self.plan.fabric, [j.node_ids for j in self.running])
        for job, share in zip(self.running, shares, strict=True):
            job.network_share = share
        fraction, paused = self.power.choose_cap(hour)
        self.capped = fraction < 1.0 - 1e-9 or bool(paused)
        for job in self.running:
            step, power, clock = job.plan.at_power(self.power.job_cap_w(job, fraction), job.network_share)
            if change_rate(job, now, step, power, clock, job.name in paused):
                self.recorder.count("rate_changes")
        for svc in self.services:
            if svc.status != ServiceStatus.PENDING:
                svc.state = svc.evaluate(self.power.cap_w(self.groups[svc.group], fraction)) \
                    if svc.status == ServiceStatus.RUNNING else None
        active = self.power.active_gpus()
        accel = self.power.demand(fraction)
        trace_bin = self.trace.at(now) if self.trace is not None else -1
        if self.trace is not None:                      # trace jobs: their sample-mean loads
            accel = accel + self.trace.accel_w[trace_bin]
            active = active + self.trace.active[trace_bin]
        parts = self.plan.site.breakdown(accel, self.power.host_power(active), hour, active)
        if self.grid is not None and self.grid.dark:
            parts = dict.fromkeys(parts, 0.0)            # a blackout: the site draws nothing
        power_row = np.array([parts[c] for c in POWER_COLUMNS])
        total_gpus = sum(g.gpus_total for g in self.groups)
        busy = float(sum(j.gpus for j in self.running if not j.idle))
        clocks = [j.clock for j in self.running if not j.idle]
        serving = [s for s in self.services if s.status == ServiceStatus.RUNNING]
        for svc in serving:
            assert svc.state is not None
            p = svc.state.point
            busy += svc.gpus * (p.prefill_share + min(p.batch, 1.0) * (1.0 - p.prefill_share))
        state = np.zeros(len(STATE_COLUMNS))
        state[STATE_COLUMNS.index("gpus_allocated")] = sum(j.gpus for j in self.running) + \
            sum(s.gpus for s in serving)
        state[STATE_COLUMNS.index("gpu_utilization")] = busy / total_gpus if total_gpus else 0.0
        state[STATE_COLUMNS.index("clock_fraction")] = float(np.mean(clocks)) if clocks else 1.0
        state[STATE_COLUMNS.index("running_jobs")] = len(self.running)
        state[STATE_COLUMNS.index("queued_jobs")] = len(self.scheduler.queue)
        if self.trace is not None:
            self.trace.add_state(state, trace_bin, busy, total_gpus)
        self.recorder.set_values(now, power_row, state)
        self._job_power_w = {j.name: self._job_it_power(j) for j in self.running}
        self._service_power_w = {s.name: self._it_power(s.group, s.gpus, s.state.board_power_w, True)
                                 for s in serving if s.state is not None}

    def _job_it_power(self, job: JobRun) -> float:
        group = self.groups[job.group]
        if job.idle:
            return self._it_power(job.group, job.gpus, group.accel.idle_power, False)
        return self._it_power(job.group, job.gpus, job.gpu_power_w, True)

    def _it_power(self, group_index: int, gpus: int, board_w: float, active: bool) -> float:
        """IT power of ``gpus`` accelerators at ``board_w`` each, with their hosts' share (busy
        or idle)."""
        group = self.groups[group_index]
        host = group.node.host_power if active else group.node.host_idle_power
        return gpus * (board_w + host / group.gpus_per_node)

    def _integrate_jobs(self, now: float) -> None:
        """Book each running job's and service's IT energy, and the services' queues, since the
        last change."""
        dt = now - self._jobs_t
        if dt > 0:
            for job in self.running:
                job.energy_j += self._job_power_w.get(job.name, 0.0) * dt
                job.share_s += job.network_share * dt
            for svc in self.services:
                svc.energy_j += self._service_power_w.get(svc.name, 0.0) * dt
        for svc in self.services:
            if svc.status != ServiceStatus.PENDING:
                svc.book(now, self.recorder.rows)
        self._jobs_t = now

    # ------------------------------------------------------------------ training jobs
    def _submit(self, job: JobRun):
        yield self.env.timeout(job.config.start)
        job.submit_s = self.env.now
        job.status = JobStatus.QUEUED
        self.scheduler.submit(job)
        self.recorder.count("jobs_submitted")
        self._schedule()

    def _schedule(self) -> None:
        self._integrate_jobs(self.env.now)      # book the time so far before anything starts
        self._place_services()
        for job, group, nodes in self.scheduler.pick(self.env.now, self.running):
            job.group = group.index
            job.nodes = group.nodes_for(job.gpus)
            job.node_ids = nodes
            job.status = JobStatus.RUNNING
            job.start_s = self.env.now
            job.last_change_s = self.env.now
            self.running.append(job)
            self.recorder.add_progress(self.env.now, job.name, 0.0, 1.0)
            assert job.started is not None
            job.started.succeed()
            self.recorder.count("jobs_started")
            if job.checkpoint is not None:
                self.env.process(node_failures(self.env, self._job_rngs[job.index], job.checkpoint.job_mtbf_s, job,
                                               _job_can_fail, self._job_failed, job.ended))
        self.update()

    def _finish(self, job: JobRun) -> None:
        self._integrate_jobs(self.env.now)
        job.status = JobStatus.FINISHED
        job.end_s = self.env.now
        group = self.groups[job.group]
        self.pool.give_back(group, job.node_ids)
        self.running.remove(job)
        assert job.ended is not None
        job.ended.succeed()
        self.recorder.add_progress(self.env.now, job.name, job.tokens_done(), job.clock)
        self.recorder.count("jobs_finished")
        self._serve_waiting(group)
        self._schedule()

    def _job_failed(self, job: JobRun, broken: int) -> None:
        """A node under a running job failed: the work since its checkpoint is lost; a free node
        or spare stands in and the job restarts, else it waits for one."""
        self._integrate_jobs(self.env.now)
        fail(job, self.env.now)
        self.recorder.count("failures")
        group = self.groups[job.group]
        self.env.process(self._repair(group, broken))
        if not self._replace_node(job, group):
            job.waiting_for_node = True
        self.update()

    def _replacement(self, group: Group) -> np.ndarray | None:
        nodes, spare = self.pool.replacement(group)
        if spare:
            self.recorder.count("spares_used")
        return nodes

    def _replace_node(self, job: JobRun, group: Group) -> bool:
        """Swap a free node (else a hot spare) in for the failed one and start the restart;
        False if there is none."""
        new = self._replacement(group)
        if new is None:
            return False
        job.node_ids = np.sort(np.concatenate([job.node_ids, new]))
        job.waiting_for_node = False
        self.env.process(self._restart(job))
        return True

    def _restart(self, job: JobRun):
        assert self.failures_cfg is not None and job.checkpoint is not None
        yield self.env.timeout(self.failures_cfg.restart_time + job.checkpoint.write_s)
        if job.status != JobStatus.RUNNING or (self.grid is not None and self.grid.dark):
            return                                      # after a blackout, grid_events restarts it
        self._integrate_jobs(self.env.now)
        restart(job, self.env.now)
        self.update()

    def _repair(self, group: Group, node: int):
        assert self.failures_cfg is not None
        yield self.env.timeout(self.failures_cfg.repair_time)
        self.pool.repaired(group, node)
        self._serve_waiting(group)
        self._schedule()

    def _serve_waiting(self, group: Group) -> None:
        """Jobs and services waiting for a healthy node get the nodes freed first, before the queue."""
        for job in self.running:
            if job.waiting_for_node and job.group == group.index and not self._replace_node(job, group):
                return
        for svc in self.services:
            while svc.waiting_lost and svc.group == group.index and self._swap_in(svc, group, svc.waiting_lost[0]):
                svc.waiting_lost.pop(0)

    # ------------------------------------------------------------------ inference services
    def _start_service(self, svc: ServiceRun):
        """At its start time the service's arrivals begin; it queues them until it has nodes."""
        yield self.env.timeout(svc.config.start)
        self._integrate_jobs(self.env.now)
        svc.status = ServiceStatus.QUEUED
        svc.last_t = self.env.now
        interval = self.recorder.sample_interval_s
        end = min((math.floor(self.env.now / interval + 1e-9) + 1) * interval, self.recorder.horizon_s)
        self._draw_arrivals(svc, self.env.now, end)
        self.recorder.count("services_started")
        self._schedule()

    def _draw_arrivals(self, svc: ServiceRun, start: float, end: float) -> None:
        """Poisson arrivals for [start, end), spread evenly over it."""
        if end <= start:
            svc.arrival_per_s = 0.0
            return
        mean = svc.config.arrival_rate * svc.multiplier(start, end, self.loaded.scenario.simulation.start_hour)
        count = self._service_rngs[svc.index].poisson(mean * (end - start))
        svc.arrival_per_s = float(count) / (end - start)

    def _place_services(self) -> None:
        """Services waiting for nodes take them before queued training jobs, if the site has the
        power for them at full load."""
        for svc in self.services:
            if svc.status != ServiceStatus.QUEUED:
                continue
            for group in eligible_groups(self.groups, svc.config.rack_group, svc.gpus):
                if self.pool.fits(group, svc.gpus) and \
                        self.power.admits((group, svc.gpus, svc.plan.peak_power_w), self._hour_now()):
                    svc.group = group.index
                    svc.nodes = group.nodes_for(svc.gpus)
                    svc.node_ids = self.pool.take(group, svc.nodes)
                    svc.status = ServiceStatus.RUNNING
                    svc.start_s = self.env.now
                    self.recorder.count("services_placed")
                    if self.failures_cfg is not None:
                        self.env.process(node_failures(
                            self.env, self._service_failure_rngs[svc.index], self.failures_cfg.node_mtbf / svc.nodes,
                            svc, _service_can_fail, self._service_failed))
                    break

    def _service_failed(self, svc: ServiceRun, broken: int) -> None:
        """A node under a running service failed: the replicas on it stop serving until a free
        node or spare is swapped in and they reload."""
        self._integrate_jobs(self.env.now)
        group = self.groups[svc.group]
        lost = min(svc.replicas_per_node(group.gpus_per_node), svc.units - svc.replicas_down)
        svc.replicas_down += lost
        svc.failures += 1
        self.recorder.count("failures")
        self.env.process(self._repair(group, broken))
        if not self._swap_in(svc, group, lost):
            svc.waiting_lost.append(lost)
        self.update()

    def _swap_in(self, svc: ServiceRun, group: Group, lost: int) -> bool:
        """Give the service a replacement node and reload its ``lost`` replicas; False if none."""
        new = self._replacement(group)
        if new is None:
            return False
        svc.node_ids = np.sort(np.concatenate([svc.node_ids, new]))
        self.env.process(self._service_restart(svc, lost))
        return True

    def _service_restart(self, svc: ServiceRun, lost: int):
        assert self.failures_cfg is not None
        yield self.env.timeout(self.failures_cfg.restart_time)
        self._integrate_jobs(self.env.now)
        svc.replicas_down -= lost
        self.update()

    # ------------------------------------------------------------------ sampling
    def _sampler(self):
        interval = self.recorder.sample_interval_s
        horizon = self.recorder.horizon_s
        every = max(self.recorder.n_samples // PROGRESS_POINTS, 1)
        k = 0
        start = 0.0
        while start < horizon - 1e-9:
            end = min(start + interval, horizon)
            yield self.env.timeout(end - self.env.now)
            env_row = self._env_now_at(start)
            self._integrate_jobs(self.env.now)
            self.recorder.close_sample(self.env.now, start, env_row, self.capped)
            k += 1
            if k % every == 0:
                for job in self.running:
                    self.recorder.add_progress(self.env.now, job.name, job.tokens_done(self.env.now), job.clock)
            if self.progress_callback is not None:
                self.progress_callback(self.env.now, horizon)
            nxt = min(end + interval, horizon)
            for svc in self.services:
                if svc.status != ServiceStatus.PENDING:
                    self._draw_arrivals(svc, end, nxt)
            hour = int(self.env.now // HOUR_S)
            if hour != self._hour or self.services or self.trace is not None:
                self._hour = hour
                self.update()
            start = end

    def _env_now_at(self, t: float) -> np.ndarray:
        p = self.plan
        return env_row(min(int(t // HOUR_S), len(p.ambient_c) - 1), p.ambient_c, p.wet_bulb_c, p.price_usd_per_j,
                       p.carbon_kg_per_j, p.envelope_w)

    def run(self) -> RunRecord:
        """Play the scenario to its horizon and return what it measured."""
        env = self.env
        for job in self.jobs:
            job.started = env.event()
            job.ended = env.event()
            env.process(self._submit(job))
            env.process(job_process(env, job, self._finish, lambda _job: self.update()))
        for svc in self.services:
            env.process(self._start_service(svc))
        if self.operation is not None:
            env.process(self.operation.process(self.recorder.horizon_s))
        if self.grid is not None:
            env.process(self.grid.process())
        self.update()
        sampler = env.process(self._sampler())
        env.run(until=sampler)  # ends with the last sample, at the horizon
        self._integrate_jobs(env.now)
        for job in self.running:
            job.book(env.now)
        self.recorder.counters["events_processed"] = env.events_processed
        return build_record(self.plan, self.recorder, self.jobs, self.services,
                            self.trace.record if self.trace is not None else None)
