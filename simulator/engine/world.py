"""One simulation run: builds the SimPy environment and components from a scenario, plays it
to the horizon and hands the Recorder to the report layer.

Cost grows with the number of changes (job arrivals, starts, finishes, power-cap changes,
sample ticks), not with GPUs or steps: jobs are single processes advancing many steps per
timeout, racks are counts, and power is recomputed only when something changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.parallel import plan_training
from simulator.costmodel.precision import Recipe
from simulator.costmodel.serving_plan import plan_serving
from simulator.costmodel.transformer import param_count
from simulator.domain.model_ref import resolve_model
from simulator.engine import profiles
from simulator.engine.bracket import largest_within
from simulator.engine.cluster import GroupState, build_groups, eligible_groups
from simulator.engine.fabric import FabricSize, network_shares, size_fabric
from simulator.engine.failures import checkpoint_plan
from simulator.engine.recorder import ENV_COLUMNS, POWER_COLUMNS, STATE_COLUMNS, Recorder
from simulator.engine.scheduler import Scheduler
from simulator.engine.serving import ServiceRun
from simulator.engine.site_power import SitePower
from simulator.engine.training import JobRun, change_rate, fail, job_process, restart
from simulator.errors import DcsimError, InputError, Problem, ScenarioError
from simulator.scenario.load import LoadedScenario

HOUR_S = 3600.0
PROGRESS_POINTS = 400


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (a deterministic cost counter)."""

    def __init__(self):
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


@dataclass
class World:
    """Everything one run needs; built once, run once."""

    loaded: LoadedScenario
    progress_callback: object = None
    env: CountingEnvironment = field(init=False)
    groups: list[GroupState] = field(init=False)
    fabric: FabricSize = field(init=False)
    jobs: list[JobRun] = field(init=False)
    site: SitePower = field(init=False)
    recorder: Recorder = field(init=False)
    seeds: dict = field(init=False)

    def __post_init__(self):
        sc = self.loaded.scenario
        sim = sc.simulation
        self.env = CountingEnvironment()
        root = np.random.SeedSequence(sim.seed)
        names = ("climate", "failures", "arrivals", "spare")
        children = root.spawn(len(names))
        pairs = list(zip(names, children, strict=True))
        self.seeds = {"root": sim.seed, **{n: int(c.generate_state(1)[0]) for n, c in pairs}}
        rngs = {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}

        self.groups = build_groups(sc.cluster.racks, self.loaded.catalog)
        endpoints = sum(g.nodes_total * g.node.nics for g in self.groups)
        nic_bw = max((g.node.nic_bw for g in self.groups), default=50e9)
        nics = max((g.node.nics for g in self.groups), default=8)
        self.fabric = size_fabric(sc.cluster.fabric, endpoints, nic_bw, self.loaded.catalog, nics)

        hours = math.ceil(sim.horizon / HOUR_S) + 1
        args = (hours, sim.start_day_of_year, sim.start_hour)
        self.ambient_c = profiles.hourly_temperature_c(sc.site.climate, *args, rngs["climate"],
                                                       self.loaded.catalog, self.loaded.base_dir)
        self.price = profiles.hourly_price_usd_per_j(sc.site.electricity, *args, self.loaded.base_dir)
        self.carbon = profiles.hourly_carbon_kg_per_j(sc.site.electricity, *args, self.loaded.base_dir)

        self.failures_cfg = getattr(sc, "failures", None)
        if self.failures_cfg is not None and not self.failures_cfg.enabled:
            self.failures_cfg = None
        self._failure_seeds = children[names.index("failures")]
        self.site = SitePower(sc, self.groups, self.fabric.power_w)
        self.site.check_idle_within_envelope(float(np.max(self.ambient_c)))
        self.recorder = Recorder(sim.horizon, sim.sample_interval)
        self.jobs = self._plan_jobs()
        job_seeds = self._failure_seeds.spawn(max(len(self.jobs), 1))
        self._job_rngs = [np.random.default_rng(seed) for seed in job_seeds]
        self.services = self._plan_services()
        outage_seeds = self._failure_seeds.spawn(max(len(self.services), 1))
        self._service_failure_rngs = [np.random.default_rng(seed) for seed in outage_seeds]
        service_seeds = children[names.index("arrivals")].spawn(max(len(self.services), 1))
        self._service_rngs = [np.random.default_rng(seed) for seed in service_seeds]
        self.scheduler = Scheduler(self.groups, self._power_allows)
        self.running: list[JobRun] = []
        self.cap_fraction = 1.0
        self.capped = False
        self._hour = 0
        self._jobs_t = 0.0
        self._job_power_w: dict[str, float] = {}
        self._service_power_w: dict[str, float] = {}

    # ------------------------------------------------------------------ planning
    def _plan_all(self, works, kind: str, plan_one) -> list:
        """Plan every workload of one kind once, gathering all problems before failing.

        ``plan_one(index, work, group, model, device, comm)`` returns the runtime object;
        comm assumes line-rate NICs (oversubscribed uplinks are shared while the run plays,
        engine/fabric.py network_shares)."""
        runs = []
        problems: list[Problem] = []
        for i, work in enumerate(works):
            path = f"workloads.{kind}[{i}]"
            group = self._group_for(work)
            model = resolve_model(work.model, self.loaded.catalog, self.loaded.base_dir, f"{path}.model")
            device = DeviceModel.from_name(group.accel.name, self.loaded.catalog)
            comm = CommModel.for_node(group.node, group.accel, 1.0)
            try:
                runs.append(plan_one(i, work, group, model, device, comm))
            except InputError as err:
                problems += [Problem(f"{path}.{p.path}", p.message, p.value) for p in err.problems]
            except DcsimError as err:
                problems.append(Problem(f"{path}.{'model' if kind == 'training' else 'max_batch'}", str(err)))
        if problems:
            raise ScenarioError(problems, self.loaded.source)
        return runs

    def _plan_jobs(self) -> list[JobRun]:
        """Each training job's layout and step costs (costmodel/parallel.py), and its checkpoints."""

        def plan_one(i, job, group, model, device, comm) -> JobRun:
            recipe = Recipe(job.precision, job.recompute, job.optimizer, job.attention, job.overlap_grad_reduce)
            plan = plan_training(model, device, job.gpus, job.global_batch, job.micro_batch, job.seq,
                                 recipe, job.layout, comm, network_shares=self._shares_grid())
            run = JobRun(job, plan, model.name, i, float(math.ceil(job.tokens / plan.tokens_per_step)))
            if self.failures_cfg is not None:
                f = self.failures_cfg
                run.checkpoint = checkpoint_plan(
                    float(param_count(model)), recipe.prec.weight_bytes + recipe.prec.state_bytes,
                    group.nodes_for(job.gpus), f.node_mtbf, f.node_checkpoint_bw, f.storage_bw,
                    f.checkpoint_interval)
            return run

        return self._plan_all(self.loaded.scenario.workloads.training, "training", plan_one)

    def _plan_services(self) -> list[ServiceRun]:
        """Each inference service's replica costs (costmodel/serving_plan.py)."""

        def plan_one(i, svc, _group, model, device, comm) -> ServiceRun:
            plan = plan_serving(model, device, comm, svc.gpus_per_replica, svc.prompt_tokens,
                                svc.output_tokens, svc.max_batch, svc.precision)
            return ServiceRun(svc, plan, model.name, i, self.recorder.n_samples)

        return self._plan_all(self.loaded.scenario.workloads.inference, "inference", plan_one)

    def _shares_grid(self) -> tuple[float, ...]:
        o = self.loaded.scenario.cluster.fabric.oversubscription
        if o <= 1.0:
            return (1.0,)
        return tuple(sorted({1.0, 1.0 / o, 0.5 / o, 0.25 / o}, reverse=True))

    def _group_for(self, work) -> GroupState:
        """The group a workload is planned for: its first eligible one, else the biggest."""
        fitting = eligible_groups(self.groups, work.rack_group, work.gpus)
        return fitting[0] if fitting else max(self.groups, key=lambda g: g.schedulable_gpus)

    # ------------------------------------------------------------------ power
    def _cap_w(self, group: GroupState, fraction: float) -> float:
        """Board cap at a fraction of TDP, within the rack's power limit."""
        return min(fraction * group.accel.tdp, group.accel.tdp, group.rack_gpu_cap_w())

    def _demand(self, fraction: float, extra: tuple[GroupState, int, object] | None = None) -> np.ndarray:
        """Accelerator power per group at a cap fraction of TDP: every board at idle, plus what
        running jobs and services draw above it, plus ``extra`` = (group, gpus, board power at a
        cap) for a candidate being admitted."""
        accel = np.array([g.idle_accelerator_power_w() for g in self.groups])
        for job in self.running:
            if job.paused or job.down:
                continue
            _, power, _ = job.plan.at_power(self._cap_w(self.groups[job.group], fraction), job.network_share)
            g = job.group
            accel[g] += job.gpus * (power - self.groups[g].accel.idle_power)
        for svc in self.services:
            if svc.status == "running":
                group = self.groups[svc.group]
                board = svc.evaluate(self._cap_w(group, fraction)).board_power_w
                accel[svc.group] += svc.gpus * (board - group.accel.idle_power)
        if extra is not None:
            group, gpus, board_at = extra
            accel[group.index] += gpus * (board_at(self._cap_w(group, fraction)) - group.accel.idle_power)
        return accel

    def _host_power(self) -> np.ndarray:
        """Host power per group: every server idle, plus the dynamic share of the accelerators
        running work now (paused or restarting jobs leave their hosts idle)."""
        active = np.zeros(len(self.groups))
        for job in self.running:
            if not (job.paused or job.down):
                active[job.group] += job.gpus
        for svc in self.services:
            if svc.status == "running":
                active[svc.group] += svc.gpus
        return np.array([g.host_power_w(active[g.index]) for g in self.groups])

    def _facility_at(self, fraction: float, ambient: float, extra=None) -> float:
        accel = self._demand(fraction, extra)
        hosts = self._host_power()
        if extra is not None:
            group, gpus, _ = extra
            dynamic = group.node.host_power - group.node.host_idle_power
            hosts[group.index] += dynamic * gpus / group.gpus_per_node
        return self.site.breakdown(accel, hosts, ambient)["facility_power_w"]

    def _admits(self, group: GroupState, gpus: int, board_at) -> bool:
        """Admission: new work may start if the site stays within its envelope at the lowest cap."""
        if not self.loaded.scenario.power.power_capping:
            return True
        floor = self.site.min_cap_fraction
        return self._facility_at(floor, self._ambient_now(), (group, gpus, board_at)) <= self.site.envelope_w

    def _power_allows(self, job: JobRun, group: GroupState) -> bool:
        return self._admits(group, job.gpus, lambda cap: job.plan.at_power(cap)[1])

    def _ambient_now(self) -> float:
        return float(self.ambient_c[min(int(self.env.now // HOUR_S), len(self.ambient_c) - 1)])

    def _choose_cap(self, ambient: float) -> tuple[float, set[str]]:
        """Highest cap fraction keeping the facility within the envelope; pause jobs if even the
        floor does not suffice (lowest priority, latest started first)."""
        paused: set[str] = set()
        if not self.loaded.scenario.power.power_capping:
            return 1.0, paused
        envelope = self.site.envelope_w
        at_full = self._facility_at(1.0, ambient)
        if at_full <= envelope:
            return 1.0, paused
        floor = self.site.min_cap_fraction
        victims = sorted(self.running, key=lambda j: (j.config.priority, -j.start_s, -j.index))
        saved = {j.name: j.paused for j in self.running}
        at_floor = self._facility_at(floor, ambient)
        while at_floor > envelope and victims:
            victim = victims.pop(0)
            victim.paused = True
            paused.add(victim.name)
            at_floor = self._facility_at(floor, ambient)
        fraction = floor
        if at_floor <= envelope:
            at_full = self._facility_at(1.0, ambient) if paused else at_full
            if at_full <= envelope:
                fraction = 1.0
            else:
                fraction = largest_within(lambda x: self._facility_at(x, ambient), envelope, floor, 1.0,
                                          at_floor, at_full)
        for job in self.running:
            job.paused = saved[job.name]
        return fraction, paused

    def update(self) -> None:
        """Recompute caps, job rates and the power breakdown after any change."""
        now = self.env.now
        ambient = self._ambient_now()
        self._integrate_jobs(now)
        shares = network_shares(self.fabric, [j.node_ids for j in self.running])
        for job, share in zip(self.running, shares, strict=True):
            job.network_share = share
        fraction, paused = self._choose_cap(ambient)
        self.cap_fraction = fraction
        self.capped = fraction < 1.0 - 1e-9 or bool(paused)
        for job in self.running:
            step, power, clock = job.plan.at_power(self._cap_w(self.groups[job.group], fraction), job.network_share)
            if change_rate(job, now, step, power, clock, job.name in paused):
                self.recorder.count("rate_changes")
        for svc in self.services:
            if svc.status != "pending":
                svc.state = svc.evaluate(self._cap_w(self.groups[svc.group], fraction)) \
                    if svc.status == "running" else None
        accel = self._demand(fraction)
        hosts = self._host_power()
        parts = self.site.breakdown(accel, hosts, ambient)
        power = np.array([parts[c] for c in POWER_COLUMNS])
        total_gpus = sum(g.gpus_total for g in self.groups)
        busy = sum(j.gpus for j in self.running if not (j.paused or j.down))
        clocks = [j.clock for j in self.running if not (j.paused or j.down)]
        serving = [s for s in self.services if s.status == "running"]
        for svc in serving:
            p = svc.state.point
            busy += svc.gpus * (p.prefill_share + min(p.batch, 1.0) * (1.0 - p.prefill_share))
        state = np.zeros(len(STATE_COLUMNS))
        state[STATE_COLUMNS.index("gpus_allocated")] = sum(j.gpus for j in self.running) + \
            sum(s.gpus for s in serving)
        state[STATE_COLUMNS.index("gpu_utilization")] = busy / total_gpus if total_gpus else 0.0
        state[STATE_COLUMNS.index("clock_fraction")] = float(np.mean(clocks)) if clocks else 1.0
        state[STATE_COLUMNS.index("running_jobs")] = len(self.running)
        state[STATE_COLUMNS.index("queued_jobs")] = len(self.scheduler.queue)
        self.recorder.set_values(now, power, state)
        self._job_power_w = {j.name: self._job_it_power(j) for j in self.running}
        self._service_power_w = {s.name: self._it_power(s.group, s.gpus, s.state.board_power_w, True)
                                 for s in serving}

    def _job_it_power(self, job: JobRun) -> float:
        group = self.groups[job.group]
        if job.paused or job.down:
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
            if svc.status != "pending":
                svc.book(now, self.recorder.rows)
        self._jobs_t = now

    # ------------------------------------------------------------------ processes
    def _submit(self, job: JobRun):
        yield self.env.timeout(job.config.start)
        job.submit_s = self.env.now
        job.status = "queued"
        self.scheduler.submit(job)
        self.recorder.count("jobs_submitted")
        self._schedule()

    def _start_service(self, svc: ServiceRun):
        """At its start time the service's arrivals begin; it queues them until it has nodes."""
        yield self.env.timeout(svc.config.start)
        self._integrate_jobs(self.env.now)
        svc.status = "queued"
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
        mean = svc.config.arrival_rate * svc.multiplier(start, self.loaded.scenario.simulation.start_hour)
        count = self._service_rngs[svc.index].poisson(mean * (end - start))
        svc.arrival_per_s = float(count) / (end - start)

    def _place_services(self) -> None:
        """Services waiting for nodes take them before queued training jobs, if the site has the
        power for them at full load."""
        for svc in self.services:
            if svc.status != "queued":
                continue
            for group in eligible_groups(self.groups, svc.config.rack_group, svc.gpus):
                need = group.nodes_for(svc.gpus)
                if group.nodes_free >= need and self._admits(group, svc.gpus, svc.plan.peak_power_w):
                    group.nodes_free -= need
                    svc.group = group.index
                    svc.nodes = need
                    svc.node_ids = group.take_nodes(need)
                    svc.status = "running"
                    svc.start_s = self.env.now
                    self.recorder.count("services_placed")
                    if self.failures_cfg is not None:
                        self.env.process(self._service_failures(svc))
                    break

    def _schedule(self) -> None:
        self._integrate_jobs(self.env.now)      # book the time so far before anything starts
        self._place_services()
        for job, group in self.scheduler.pick(self.env.now, self.running):
            job.group = group.index
            job.nodes = group.nodes_for(job.gpus)
            job.node_ids = group.take_nodes(job.nodes)
            job.status = "running"
            job.start_s = self.env.now
            job.last_change_s = self.env.now
            self.running.append(job)
            self.recorder.add_progress(self.env.now, job.name, 0.0, 1.0)
            job.started.succeed()
            self.recorder.count("jobs_started")
            if job.checkpoint is not None:
                self.env.process(self._failures(job))
        self.update()

    def _finish(self, job: JobRun) -> None:
        self._integrate_jobs(self.env.now)
        job.status = "finished"
        job.end_s = self.env.now
        group = self.groups[job.group]
        group.nodes_free += job.nodes
        group.give_back(job.node_ids)
        self.running.remove(job)
        job.ended.succeed()
        self.recorder.add_progress(self.env.now, job.name, job.tokens_done(), job.clock)
        self.recorder.count("jobs_finished")
        self._serve_waiting(group)
        self._schedule()

    # ------------------------------------------------------------------ failures
    def _failures(self, job: JobRun):
        """Node failures of one running job (Poisson at nodes/MTBF), each handled in turn."""
        rng = self._job_rngs[job.index]
        while True:
            gap = rng.exponential(job.checkpoint.job_mtbf_s)
            yield self.env.timeout(gap) | job.ended
            if job.ended.triggered:
                return
            if job.down:
                continue                       # already restarting: nothing more to lose
            self._integrate_jobs(self.env.now)
            fail(job, self.env.now)
            self.recorder.count("failures")
            broken = job.node_ids[int(rng.integers(len(job.node_ids)))]
            job.node_ids = job.node_ids[job.node_ids != broken]
            group = self.groups[job.group]
            self.env.process(self._repair(group, broken))
            if not self._replace_node(job, group):
                job.waiting_for_node = True
            self.update()

    def _take_replacement(self, group: GroupState) -> np.ndarray | None:
        """A free node, else a hot spare, to stand in for a failed one; None if there is none."""
        if group.nodes_free >= 1:
            group.nodes_free -= 1
            return group.take_nodes(1)
        spare = group.take_spare()
        if spare is None:
            return None
        self.recorder.count("spares_used")
        return np.array([spare])

    def _replace_node(self, job: JobRun, group: GroupState) -> bool:
        """Swap a free node (else a hot spare) in for the failed one and start the restart;
        False if there is none."""
        new = self._take_replacement(group)
        if new is None:
            return False
        job.node_ids = np.sort(np.concatenate([job.node_ids, new]))
        job.waiting_for_node = False
        self.env.process(self._restart(job))
        return True

    def _restart(self, job: JobRun):
        yield self.env.timeout(self.failures_cfg.restart_time + job.checkpoint.write_s)
        if job.status != "running":
            return
        self._integrate_jobs(self.env.now)
        restart(job, self.env.now)
        self.update()

    def _repair(self, group: GroupState, node: int):
        yield self.env.timeout(self.failures_cfg.repair_time)
        if group.return_repaired(node):
            group.nodes_free += 1
        self._serve_waiting(group)
        self._schedule()

    def _serve_waiting(self, group: GroupState) -> None:
        """Jobs and services waiting for a healthy node get the nodes freed first, before the queue."""
        for job in self.running:
            if job.waiting_for_node and job.group == group.index and not self._replace_node(job, group):
                return
        for svc in self.services:
            while svc.waiting_lost and svc.group == group.index and self._swap_in(svc, group, svc.waiting_lost[0]):
                svc.waiting_lost.pop(0)

    def _service_failures(self, svc: ServiceRun):
        """Node failures under a running service (Poisson at nodes/MTBF): the replicas on the
        failed node stop serving until a free node or spare is swapped in and they reload."""
        rng = self._service_failure_rngs[svc.index]
        group = self.groups[svc.group]
        while True:
            yield self.env.timeout(rng.exponential(self.failures_cfg.node_mtbf / svc.nodes))
            if not len(svc.node_ids):
                continue                       # every node already failed: nothing left to lose
            self._integrate_jobs(self.env.now)
            broken = svc.node_ids[int(rng.integers(len(svc.node_ids)))]
            svc.node_ids = svc.node_ids[svc.node_ids != broken]
            lost = min(svc.replicas_per_node(group.gpus_per_node), svc.config.replicas - svc.replicas_down)
            svc.replicas_down += lost
            svc.failures += 1
            self.recorder.count("failures")
            self.env.process(self._repair(group, broken))
            if not self._swap_in(svc, group, lost):
                svc.waiting_lost.append(lost)
            self.update()

    def _swap_in(self, svc: ServiceRun, group: GroupState, lost: int) -> bool:
        """Give the service a replacement node and reload its ``lost`` replicas; False if none."""
        new = self._take_replacement(group)
        if new is None:
            return False
        svc.node_ids = np.sort(np.concatenate([svc.node_ids, new]))
        self.env.process(self._service_restart(svc, lost))
        return True

    def _service_restart(self, svc: ServiceRun, lost: int):
        yield self.env.timeout(self.failures_cfg.restart_time)
        self._integrate_jobs(self.env.now)
        svc.replicas_down -= lost
        self.update()

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
                if svc.status != "pending":
                    self._draw_arrivals(svc, end, nxt)
            hour = int(self.env.now // HOUR_S)
            if hour != self._hour or self.services:
                self._hour = hour
                self.update()
            start = end

    def _env_now_at(self, t: float) -> np.ndarray:
        h = min(int(t // HOUR_S), len(self.ambient_c) - 1)
        env = np.zeros(len(ENV_COLUMNS))
        env[ENV_COLUMNS.index("ambient_c")] = self.ambient_c[h]
        env[ENV_COLUMNS.index("price_usd_per_j")] = self.price[h]
        env[ENV_COLUMNS.index("carbon_kg_per_j")] = self.carbon[h]
        env[ENV_COLUMNS.index("power_envelope_w")] = self.site.envelope_w
        return env

    def run(self) -> World:
        """Play the scenario to its horizon."""
        env = self.env
        for job in self.jobs:
            job.started = env.event()
            job.ended = env.event()
            env.process(self._submit(job))
            env.process(job_process(env, job, self._finish))
        for svc in self.services:
            env.process(self._start_service(svc))
        self.update()
        sampler = env.process(self._sampler())
        env.run(until=sampler)  # ends with the last sample, at the horizon
        self._integrate_jobs(env.now)
        for job in self.running:
            job.book(env.now)
        self.recorder.counters["events_processed"] = env.events_processed
        return self
