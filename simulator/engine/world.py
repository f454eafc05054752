"""One simulation run: wires the planned scenario (engine/planning.py) into a SimPy world of a
node pool, a power controller, a scheduler, training jobs, inference services and node
failures, plays it to the horizon and returns the frozen run record (engine/record.py).

Cost grows with the number of changes (job arrivals, starts, finishes, power-cap changes,
sample ticks), not with GPUs or steps: jobs are single processes advancing many steps per
timeout, racks are counts, and power is recomputed only when something changed.
"""

from __future__ import annotations

import numpy as np

from simulator.engine.build_out import BuildOut, envelope_rises_s, reconsider_at_rises
from simulator.engine.cluster import Group
from simulator.engine.disruptions import Disruptions, job_can_fail
from simulator.engine.failure_classes import pick_cause
from simulator.engine.failures import node_failures
from simulator.engine.grid_events import GridEvents
from simulator.engine.node_pool import NodePool
from simulator.engine.operation import OperationRun
from simulator.engine.planning import HOUR_S, RunPlan, plan_run
from simulator.engine.power_control import PowerController
from simulator.engine.record import JobStatus, RunRecord, ServiceStatus
from simulator.engine.record_build import build_record
from simulator.engine.recorder import POWER_COLUMNS, STATE_COLUMNS, CountingEnvironment, Recorder, env_row
from simulator.engine.running import NetworkShares, RunningSnapshot
from simulator.engine.scheduling.easy import Scheduler
from simulator.engine.scheduling.preempt import victims
from simulator.engine.serving import ServiceRun
from simulator.engine.storage import StorageShare
from simulator.engine.training import JobRun, change_rate, fail, job_process, preempt, restart
from simulator.engine.world_services import ServiceWiring
from simulator.engine.world_trace import replay_trace
from simulator.scenario.load import LoadedScenario

PROGRESS_POINTS = 400
_COL = {c: i for i, c in enumerate(STATE_COLUMNS)}    # state column -> index


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
        self.failure_model = plan.failure_model
        self._default_restart_s = plan.failures.restart_time if plan.failures is not None else 0.0
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
        policy = self.loaded.scenario.scheduler
        self.scheduler = Scheduler(self.groups, self.pool, self._power_allows, backfill=policy.type != "fifo",
                                   fair=policy if policy.type == "fair-share" else None,
                                   tenants=tuple(sorted({j.config.tenant for j in self.jobs})))
        self.preemption_cost_s = float(policy.preemption_cost) if policy.type == "priority" else None
        self.trace = replay_trace(plan, self.pool) if plan.trace is not None else None
        self.operation = OperationRun(plan.operation, self.env, self.power, self.update) if plan.operation else None
        self.grid = GridEvents(plan.outages, self) if plan.outages else None
        self.disruptions = Disruptions(self) if Disruptions.needed(plan) else None
        self.storage_share = StorageShare(self.loaded.scenario.storage)
        self.build_out = BuildOut(plan.calendar, self) if plan.calendar is not None and plan.calendar.phased else None
        self._failing: set[str] = set()      # work whose failure process runs (started once)
        self.capped = False
        self._hour = 0
        self._jobs_t = 0.0
        self._job_power_w: dict[str, float] = {}
        self._service_power_w: dict[str, float] = {}
        self._admit_snap: RunningSnapshot | None = None   # the running jobs while the scheduler picks
        self.shares = NetworkShares(plan.fabric)
        self.serving = ServiceWiring(self)
        self.updates = 0                             # world updates (power and rates recomputed)

    # ------------------------------------------------------------------ power
    def _hour_now(self) -> int:
        return min(int(self.env.now // HOUR_S), len(self.plan.ambient_c) - 1)

    def _power_allows(self, job: JobRun, group: Group) -> bool:
        # The running jobs do not change while the scheduler picks (those it starts join after):
        # one snapshot serves every candidate of one pick.
        if self._admit_snap is None:
            self._admit_snap = self.power.snapshot()
        return self.power.admits((group, job.gpus, lambda cap: job.plan.at_power(cap)[1]), self._hour_now(),
                                 self._admit_snap)

    def update(self) -> None:
        """Recompute caps, job rates and the power breakdown after any change."""
        now = self.env.now
        hour = self._hour_now()
        self._integrate_jobs(now)
        self.storage_share.apply(self.running, now)      # checkpoint writes share the storage
        if self.operation is not None:
            self.operation.reconcile(self.running, hour, now)
        self.shares.refresh(self.running)
        if self.operation is None and self.plan.envelope_w is not None:
            self.power.envelope_w = float(self.plan.envelope_w[hour])    # the schedule's step now
        trace_bin = self.trace.at(now) if self.trace is not None else -1
        if self.trace is not None:
            self.power.set_uncapped(trace_bin, self.trace.accel_w[trace_bin], self.trace.active[trace_bin])
        fraction, paused = self.power.choose_cap(hour)
        self.capped = fraction < 1.0 - 1e-9 or bool(paused)
        for job in self.running:
            step, power, clock = self.power.job_rate(job, fraction)
            if change_rate(job, now, step, power, clock, job.name in paused):
                self.recorder.count("rate_changes")
        for svc in self.services:
            if svc.status != ServiceStatus.PENDING:
                svc.state = self.power.service_state(svc, self.power.cap_w(self.groups[svc.group], fraction)) \
                    if svc.status == ServiceStatus.RUNNING else None
        *_, parts = self.power.site_at(fraction, hour, self.power.decided)
        self.updates += 1
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
        state[_COL["gpus_allocated"]] = sum(j.gpus for j in self.running) + sum(s.gpus for s in serving)
        state[_COL["gpu_utilization"]] = busy / total_gpus if total_gpus else 0.0
        state[_COL["clock_fraction"]] = float(np.mean(clocks)) if clocks else 1.0
        state[_COL["running_jobs"]] = len(self.running)
        state[_COL["queued_jobs"]] = len(self.scheduler.queue)
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
        self.serving.place()
        self._admit_snap = None
        picked = self.scheduler.pick(self.env.now, self.running)
        self._admit_snap = None
        if self.preemption_cost_s is not None:
            picked += self._preempt_for_head()
        for job, group, nodes in picked:
            job.group = group.index
            job.nodes = group.nodes_for(job.gpus)
            job.node_ids = nodes
            job.status = JobStatus.RUNNING
            job.start_s = self.env.now
            job.last_change_s = self.env.now
            self.running.append(job)
            self.recorder.add_progress(self.env.now, job.name, 0.0, 1.0)
            assert job.started is not None
            if job.started.triggered:            # back from the queue (preempted, or its racks retired)
                if job.resume_s > 0:
                    job.restart_token += 1
                    self.env.process(self._restart(job, job.restart_token, job.resume_s))
                    job.resume_s = 0.0
                else:
                    restart(job, self.env.now)
                continue
            job.started.succeed()
            self.recorder.count("jobs_started")
            if self.failure_model is not None and self.failure_model.node_classes and job.checkpoint is not None:
                self.env.process(node_failures(self.env, self._job_rngs[job.index],
                                               self.failure_model.node_gap_s(job.nodes), job,
                                               job_can_fail, self._job_failed, job.ended))
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

    def _preempt_for_head(self) -> list[tuple[JobRun, Group, np.ndarray]]:
        """Under the priority policy, lower-priority running jobs make room for a blocked head of
        the queue (scheduling/preempt.py); returns what the scheduler then starts."""
        started: list[tuple[JobRun, Group, np.ndarray]] = []
        while self.scheduler.queue:
            head = self.scheduler.queue[0]
            out = victims(head, self.scheduler.eligible(head), self.pool.free_nodes, self.running, self._power_allows)
            if not out:
                break
            for job in out:
                preempt(job, self.env.now, self.preemption_cost_s or 0.0)
                self.pool.give_back(self.groups[job.group], job.node_ids)
                self.requeue(job)
                self.recorder.count("jobs_preempted")
            self._admit_snap = None
            started += self.scheduler.pick(self.env.now, self.running)
            self._admit_snap = None
        return started

    def requeue(self, job: JobRun) -> None:
        """Take a running job off its nodes (already given back or withdrawn) and back to the
        queue with its first submit time; a restart in flight becomes void."""
        job.waiting_for_node = False
        job.restart_token += 1
        job.node_ids = np.zeros(0, dtype=np.int64)
        job.group = -1
        job.status = JobStatus.QUEUED
        self.running.remove(job)
        self.scheduler.submit(job)

    def _job_failed(self, job: JobRun, broken: int) -> None:
        """A node under a running job failed: the work since its checkpoint is lost; a free node
        or spare stands in and the job restarts, else it waits for one."""
        self._integrate_jobs(self.env.now)
        cls = pick_cause(self.failure_model, self._job_rngs[job.index])
        fail(job, self.env.now)
        self.recorder.count("failures")
        self.recorder.count(f"failures:{cls.name}")
        group = self.groups[job.group]
        self.env.process(self._repair(group, broken, cls.repair_s))
        job.restart_s = cls.restart_s
        if not self._replace_node(job, group):
            job.waiting_for_node = True
        self.update()

    def _replacement(self, group: Group) -> np.ndarray | None:
        nodes, spare = self.pool.replacement(group)
        if spare:
            self.recorder.count("spares_used")
        return nodes

    def _replace_node(self, job: JobRun, group: Group) -> bool:
        """Swap free nodes (else hot spares) in for the failed ones and start the restart;
        False if there are not enough."""
        while len(job.node_ids) < job.nodes:
            new = self._replacement(group)
            if new is None:
                return False
            job.node_ids = np.sort(np.concatenate([job.node_ids, new]))
        job.waiting_for_node = False
        job.restart_token += 1
        self.env.process(self._restart(job, job.restart_token))
        return True

    def _restart(self, job: JobRun, token: int = 0, delay_s: float | None = None):
        """Bring the job back up after ``delay_s`` (default: its cause's restart time and the
        checkpoint's restore)."""
        if delay_s is None:
            assert job.checkpoint is not None
            delay_s = job.restart_s + job.checkpoint.restore_s
        yield self.env.timeout(delay_s)
        if job.status != JobStatus.RUNNING or (self.grid is not None and self.grid.dark):
            return                                      # after a blackout, grid_events restarts it
        if token != job.restart_token or len(job.node_ids) < job.nodes:
            return                                      # a later outage took nodes: a newer restart runs
        self._integrate_jobs(self.env.now)
        restart(job, self.env.now)
        self.update()

    def _repair(self, group: Group, node: int, repair_s: float):
        yield self.env.timeout(repair_s)
        self.pool.repaired(group, node)
        self._serve_waiting(group)
        self._schedule()

    def _serve_waiting(self, group: Group) -> None:
        """Jobs and services waiting for a healthy node get the nodes freed first, before the queue."""
        for job in self.running:
            if job.waiting_for_node and job.group == group.index and not self._replace_node(job, group):
                return
        for svc in self.services:
            while svc.waiting_lost and svc.group == group.index and \
                    self.serving.swap_in(svc, group, svc.waiting_lost[0], self._default_restart_s):
                svc.waiting_lost.pop(0)

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
                    self.serving.draw_arrivals(svc, end, nxt)
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
            env.process(self.serving.start(svc))
        if self.operation is not None:
            env.process(self.operation.process(self.recorder.horizon_s))
        if self.grid is not None:
            env.process(self.grid.process())
        if self.disruptions is not None:
            self.disruptions.start()
        if self.build_out is not None:
            env.process(self.build_out.process())
        if rises := envelope_rises_s(self.plan.envelope_w, self.recorder.horizon_s):
            env.process(reconsider_at_rises(self, rises))
        self.update()
        sampler = env.process(self._sampler())
        env.run(until=sampler)  # ends with the last sample, at the horizon
        self._integrate_jobs(env.now)
        for job in self.running:
            job.book(env.now)
        self.recorder.counters["events_processed"] = env.events_processed
        return build_record(self.plan, self.recorder, self.jobs, self.services,
                            self.trace.record if self.trace is not None else None)
