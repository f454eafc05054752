"""Everything a run computes once before its event loop: seeds, rack groups, the fabric, the
hourly climate/price/carbon profiles, the site's power stack, and every workload's cost
tables (training layouts and step times, serving replicas).

``dcsim validate`` runs this too, so whatever validates builds: a job whose GPU count has no
valid layout, a model that fits no layout, a service whose batch does not fit or an envelope
below the idle site all fail here, every problem at once, before any simulated second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import ValidationError

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.precision import DEFAULT_STACK, Recipe
from simulator.costmodel.serving_plan import ServingPlan
from simulator.costmodel.training_plan import TrainingPlan, plan_training
from simulator.costmodel.transformer import param_count
from simulator.domain.model_ref import resolve_model
from simulator.domain.units import human
from simulator.domain.validation import problems_from
from simulator.engine import profiles
from simulator.engine.cluster import Group, build_groups, eligible_groups
from simulator.engine.fabric import FabricSize
from simulator.engine.failure_classes import FailureModel, resolve_failures
from simulator.engine.failures import CheckpointPlan, plan_checkpoint
from simulator.engine.grid_events import plan_outages
from simulator.engine.networks import NetworkPlan, SupportServers, build_support, plan_networks
from simulator.engine.operation import OperationPlan, plan_operation
from simulator.engine.schedules import Calendar, build_calendar, monthly_demand, trended
from simulator.engine.service_plan import ServiceCosts, plan_service_costs
from simulator.engine.site_power import SitePower
from simulator.engine.staged import plan_phases, staged_problems
from simulator.engine.trace.table import TraceTable
from simulator.engine.world_trace import plan_trace
from simulator.errors import DcsimError, InputError, Problem, ScenarioError
from simulator.scenario.demand import peak_rate_per_s
from simulator.scenario.failures import Failures, Maintenance
from simulator.scenario.load import LoadedScenario
from simulator.scenario.schema import InferenceService, Layout, TrainingJob

HOUR_S = 3600.0
SEED_STREAMS = ("climate", "failures", "arrivals", "spare", "grid")


@dataclass(frozen=True)
class PlannedJob:
    """A training job with its layout and step costs, and how it checkpoints."""

    config: TrainingJob
    plan: TrainingPlan
    model_name: str
    index: int
    steps_total: float
    checkpoint: CheckpointPlan | None
    policy_write_s: float = 0.0      # checkpoint write (and read-back) time for an operation pause
    later_phases: tuple[tuple[str, TrainingPlan, float], ...] = ()   # (name, plan, steps) after the first
    first_phase: str = "main"


@dataclass(frozen=True)
class PlannedService:
    """An inference service with its serving costs."""

    config: InferenceService
    costs: ServiceCosts
    model_name: str
    index: int

    @property
    def plan(self) -> ServingPlan:
        return self.costs.plan


@dataclass(frozen=True)
class RunPlan:
    """What the world is built from; computed once per run (and by ``dcsim validate``)."""

    loaded: LoadedScenario
    seeds: dict[str, int]
    streams: dict[str, np.random.SeedSequence]
    groups: list[Group]
    fabric: FabricSize
    networks: NetworkPlan
    support: SupportServers
    ambient_c: np.ndarray
    wet_bulb_c: np.ndarray
    price_usd_per_j: np.ndarray
    carbon_kg_per_j: np.ndarray
    site: SitePower
    failures: Failures | None
    jobs: list[PlannedJob]
    services: list[PlannedService]
    operation: OperationPlan | None = None
    envelope_w: np.ndarray | None = None     # the grid limit in force each hour
    outages: tuple[tuple[float, float, bool], ...] = ()   # grid outages: (start s, end s, ridden through)
    failure_model: FailureModel | None = None  # failure classes by cause (engine/failure_classes.py)
    maintenance: Maintenance | None = None     # planned maintenance windows (engine/maintenance.py)
    calendar: Calendar | None = None                       # deliveries, retirements, months
    demand_months: dict[int, np.ndarray] = field(default_factory=dict)  # service -> monthly rate / its peak
    trace: TraceTable | None = None          # workloads.trace, read and checked (engine/world_trace.py)
    trace_groups: tuple[int, ...] = ()


def plan_run(loaded: LoadedScenario) -> RunPlan:
    """Plan a loaded scenario; raise ScenarioError with every problem found."""
    sc = loaded.scenario
    sim = sc.simulation
    root = np.random.SeedSequence(sim.seed)
    children = root.spawn(len(SEED_STREAMS))
    streams = dict(zip(SEED_STREAMS, children, strict=True))
    seeds = {"root": sim.seed, **{n: int(c.generate_state(1)[0]) for n, c in streams.items()}}

    groups = build_groups(sc.cluster.racks, loaded.catalog)
    support = build_support(sc.cluster, sum(g.gpus_total for g in groups), loaded.catalog)
    networks = plan_networks(sc.cluster, groups, support, loaded.catalog)

    hours = math.ceil(sim.horizon / HOUR_S) + 1
    args = (hours, sim.start_day_of_year, sim.start_hour)
    ambient = profiles.hourly_temperature_c(sc.site.climate, *args, np.random.default_rng(streams["climate"]),
                                            loaded.catalog, loaded.base_dir)
    wet_bulb = profiles.hourly_wet_bulb_c(sc.site.climate, ambient, sim.start_day_of_year, sim.start_hour,
                                          loaded.catalog, loaded.base_dir)
    price = trended(profiles.hourly_price_usd_per_j(sc.site.electricity, *args, loaded.base_dir),
                    sc.site.electricity.price_trend)
    carbon = trended(profiles.hourly_carbon_kg_per_j(sc.site.electricity, *args, loaded.base_dir),
                     sc.site.electricity.carbon_trend)
    calendar = build_calendar(sc, hours)
    failures = sc.failures if sc.failures is not None and sc.failures.enabled else None
    failure_model = resolve_failures(failures, loaded.catalog) if failures is not None else None
    maintenance = sc.maintenance if sc.maintenance is not None and sc.maintenance.enabled else None

    site = SitePower(sc, groups, networks, support, ambient, wet_bulb, loaded.catalog)
    problems = site.ups_problems()
    operation = None
    try:
        operation = plan_operation(sc, price, carbon, loaded.base_dir)
    except InputError as err:
        problems += [Problem("operation.demand_response.path", p.message) for p in err.problems]
    envelope = np.minimum(operation.envelope_w if operation is not None else calendar.envelope_w,
                          calendar.envelope_w)
    if operation is not None and sc.site.power_schedule:
        moved = np.flatnonzero((np.diff(operation.flagged.astype(np.int8)) != 0) | (np.diff(envelope) != 0)) + 1
        operation = replace(operation, envelope_w=envelope, changes=moved)
    problems += envelope_problems(site, envelope, calendar)
    outages: tuple[tuple[float, float, bool], ...] = ()
    try:
        outages = plan_outages(sc, np.random.default_rng(streams["grid"]), loaded.base_dir)
    except InputError as err:
        problems += [Problem("site.grid_outages.path", p.message) for p in err.problems]
    planner = _WorkloadPlanner(loaded, groups, failures, failure_model, maintenance is not None)
    jobs = planner.plan_all(sc.workloads.training, "training", planner.plan_job)
    demand: dict[int, np.ndarray] = {}
    try:
        demand = monthly_demand(sc, loaded.base_dir)
    except InputError as err:
        problems += err.problems
    inference = [svc.model_copy(update={"arrival_rate": float(demand[i].max())}) if i in demand else svc
                 for i, svc in enumerate(sc.workloads.inference)]
    services = planner.plan_all(inference, "inference", planner.plan_service)
    busy, serving_w = _serving_floor(services, planner, site.min_cap_fraction, sim.horizon)
    problems += site.idle_problems(busy, serving_w)
    problems += planner.problems
    trace, trace_groups, trace_problems = plan_trace(sc, groups, loaded.base_dir)
    problems += trace_problems
    if trace is not None and trace.costed is not None and trace_groups:
        known = len(planner.problems)
        trace = _time_costed_rows(trace, planner, groups[trace_groups[0]])
        problems += planner.problems[known:]
    if problems:
        raise ScenarioError(problems, loaded.source)
    return RunPlan(loaded, seeds, streams, groups, networks.fabric, networks, support, ambient, wet_bulb, price,
                   carbon, site, failures, jobs, services, operation, envelope, outages, failure_model, maintenance,
                   calendar, {i: t / t.max() if t.max() > 0 else t for i, t in demand.items()}, trace,
                   tuple(trace_groups))


def _time_costed_rows(table: TraceTable, planner: _WorkloadPlanner, group: Group) -> TraceTable:
    """Trace rows given as model + tokens timed by the cost model as training jobs on the trace's
    first group: run time = steps x step time at full power, GPU activity such that the trace's
    power model gives the plan's board power. Identical shapes are planned once."""
    assert table.costed is not None
    model, tokens, batch, seq = table.costed
    duration, util = table.duration_s.copy(), table.gpu_util.copy()
    timed: dict[tuple, tuple[float, float] | None] = {}
    accel = group.accel
    for r in np.flatnonzero(np.isnan(duration)):
        key = (str(model[r]), float(tokens[r]), int(batch[r]), int(seq[r]), int(table.gpus[r]))
        if key not in timed:
            timed[key] = None
            path = f"workloads.trace.path row {r + 1}"
            try:
                job = TrainingJob(name=f"trace-row-{r + 1}", model=key[0], tokens=key[1], global_batch=key[2],
                                  seq=key[3], gpus=key[4], rack_group=group.name)
            except ValidationError as err:
                planner.problems += [Problem(path, p.message, p.value) for p in problems_from(err, TrainingJob)]
                continue
            before = len(planner.problems)
            planned = planner.plan_all([job], "trace", planner.plan_job)
            planner.problems[before:] = [Problem(path, p.message, p.value) for p in planner.problems[before:]]
            if planned:
                pj = planned[0]
                step, power, _ = pj.plan.nominal()
                run_s = pj.steps_total * step + sum(steps * plan.nominal()[0] for _, plan, steps in pj.later_phases)
                timed[key] = (run_s, min(max((power - accel.idle_power) / (accel.tdp - accel.idle_power), 0.0), 1.0))
        found = timed[key]
        if found is not None:
            duration[r], util[r] = found
    return replace(table, duration_s=duration, gpu_util=util)


def envelope_problems(site: SitePower, envelope_w: np.ndarray, calendar: Calendar | None = None) -> list[Problem]:
    """A demand-response cap, or a step of the envelope schedule, below the idle site's load in
    its hour (with the rack groups in service then) cannot be met."""
    low = np.flatnonzero(envelope_w < site.envelope_w)
    if not low.size:
        return []
    idle = site.idle_breakdown(low)["facility_power_w"]
    if calendar is not None and calendar.phased:
        masks = np.array([calendar.installed(float(h) * HOUR_S) for h in low])
        for mask in np.unique(masks, axis=0):
            same = np.all(masks == mask, axis=1)
            site.set_installed(mask)
            idle[same] = site.idle_breakdown(low[same])["facility_power_w"]
        site.set_installed(np.ones(len(site.groups)))
    short = np.flatnonzero(idle > envelope_w[low])
    if not short.size:
        return []
    h = int(low[short[0]])
    return [Problem("operation.demand_response.path",
                    f"{short.size} hour(s) cap the site below its idle load, first hour {h}: "
                    f"{human(float(envelope_w[h]), 'power')} < {human(float(idle[short[0]]), 'power')}")]


def _serving_floor(services: list[PlannedService], planner: _WorkloadPlanner, floor_fraction: float,
                   horizon_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the accelerators inference services hold (their hosts stay busy) and what their
    boards draw above idle at their peak demand on the lowest power cap. Services are never
    paused, so this is the least the site draws with them up."""
    busy = np.zeros(len(planner.groups))
    serving_w = np.zeros(len(planner.groups))
    for s in services:
        group = planner.group_for(s.config)
        cap_w = group.board_cap_w(floor_fraction)
        curve = s.plan.at_cap(cap_w)
        peak = peak_rate_per_s(s.config, horizon_s)
        board_w = curve.point(peak / max(s.costs.units, 1))[1]
        busy[group.index] += s.config.gpus
        serving_w[group.index] += s.config.gpus * max(board_w - group.accel.idle_power, 0.0)
    return busy, serving_w


class _WorkloadPlanner:
    """Plans each workload once (identical ones share their cost tables), gathering problems."""

    def __init__(self, loaded: LoadedScenario, groups: list[Group], failures: Failures | None,
                 failure_model: FailureModel | None = None, maintenance: bool = False):
        self.loaded = loaded
        self.groups = groups
        self.failures = failures
        self.failure_model = failure_model
        self.maintenance = maintenance
        self.problems: list[Problem] = []
        self._training: dict[tuple, TrainingPlan] = {}
        self._serving: dict[tuple, ServiceCosts] = {}

    def plan_all(self, works, kind: str, plan_one) -> list:
        """``plan_one(index, work, group, model, device, comm)`` for every workload of one kind.

        comm assumes line-rate NICs (oversubscribed uplinks are shared while the run plays,
        engine/fabric.py network_shares)."""
        planned = []
        for i, work in enumerate(works):
            path = f"workloads.{kind}[{i}]"
            group = self.group_for(work)
            try:
                model = resolve_model(work.model, self.loaded.catalog, self.loaded.base_dir, f"{path}.model")
                device = DeviceModel.from_name(group.accel.name, self.loaded.catalog)
                comm = CommModel.for_node(group.node, group.accel, 1.0)
                planned.append(plan_one(i, work, group, model, device, comm))
            except InputError as err:
                self.problems += [Problem(f"{path}.{p.path}", p.message, p.value) for p in err.problems]
            except DcsimError as err:
                self.problems.append(Problem(f"{path}.{'model' if kind == 'training' else 'gpus_per_replica'}",
                                             str(err)))
        return planned

    def group_for(self, work) -> Group:
        """The group a workload is planned for: its first eligible one, else the biggest."""
        fitting = eligible_groups(self.groups, work.rack_group, work.gpus)
        return fitting[0] if fitting else max(self.groups, key=lambda g: g.schedulable_gpus)

    def shares_grid(self) -> tuple[float, ...]:
        o = self.loaded.scenario.cluster.fabric.oversubscription
        if o <= 1.0:
            return (1.0,)
        return tuple(sorted({1.0, 1.0 / o, 0.5 / o, 0.25 / o}, reverse=True))

    def plan_job(self, i: int, job: TrainingJob, group: Group, model, device, comm) -> PlannedJob:
        """A training job's phases, each with its layout and step costs (costmodel/
        training_plan.py, engine/staged.py), and how it checkpoints."""
        stack = self.loaded.catalog.stacks.get(job.stack or DEFAULT_STACK, "stack")
        recipe = Recipe.from_stack(stack, job.precision, job.recompute, job.optimizer, job.attention,
                                   job.overlap_grad_reduce)
        problems = staged_problems(job)
        if problems:
            raise InputError([Problem(field, message) for field, message in problems])

        def plan_one(spec, layout):
            if isinstance(layout, Layout):
                layout = layout.resolve(job.gpus, spec.micro_batch, stack.tp_comm_overlap)
            key = ("train", model, group.index, job.gpus, spec.global_batch, spec.micro_batch, spec.seq, recipe,
                   layout)
            if key not in self._training:
                self._training[key] = plan_training(model, device, job.gpus, spec.global_batch, spec.micro_batch,
                                                    spec.seq, recipe, layout, comm, network_shares=self.shares_grid())
            return self._training[key]

        phases = plan_phases(job, plan_one)
        f = self.failures or Failures()
        node_mtbf = self.failure_model.node_mtbf_s if self.failure_model is not None else f.node_mtbf
        written = plan_checkpoint(float(param_count(model)), recipe.prec.weight_bytes + recipe.prec.state_bytes,
                                  group.nodes_for(job.gpus), node_mtbf, f, self.loaded.scenario.storage)
        checkpoint = written if self.failures is not None or self.maintenance else None
        name, plan, steps = phases[0]
        return PlannedJob(job, plan, model.name, i, steps, checkpoint, written.write_s, tuple(phases[1:]), name)

    def plan_service(self, i: int, svc: InferenceService, group: Group, model, device, comm) -> PlannedService:
        """An inference service's serving costs (engine/service_plan.py); identical services share them."""
        key = ("serve", model, group.index, svc.model_dump_json(exclude={"name", "replicas", "arrival_rate",
                                                                        "daily_profile", "slo", "start", "rack_group"}))
        if key not in self._serving:
            self._serving[key] = plan_service_costs(svc, model, device, comm, self.loaded.catalog,
                                                    self.loaded.base_dir, "")
        costs = self._serving[key]
        if svc.disaggregation is None and costs.units != svc.replicas:
            costs = replace(costs, units=svc.replicas)
        return PlannedService(svc, costs, model.name, i)
