"""Freeze a finished world's state into the run record (engine/record.py)."""

from __future__ import annotations

import math

import numpy as np

from simulator.engine.planning import RunPlan
from simulator.engine.record import (
    DesignRecord,
    FabricRecord,
    GroupRecord,
    JobRecord,
    JobStatus,
    RunRecord,
    ServiceRecord,
    ServiceStatus,
    StorageRecord,
    SupportRecord,
    frozen_array,
)
from simulator.engine.record_sched import SchedulingRecord
from simulator.engine.recorder import ENV_COLUMNS, POWER_COLUMNS, Recorder
from simulator.engine.serving import ServiceRun
from simulator.engine.storage import dataset_read_bw
from simulator.engine.supply import settle
from simulator.engine.training import JobRun
from simulator.scenario.demand import peak_rate_per_s


def job_record(job: JobRun) -> JobRecord:
    return JobRecord(
        name=job.name,
        model=job.model_name,
        gpus=job.gpus,
        layout=job.plan.layout.name,
        submit_s=job.submit_s,
        start_s=job.start_s,
        end_s=job.end_s,
        tokens_target=float(job.config.tokens),
        tokens_done=job.tokens_done(),
        steps_done=float(np.floor(job.steps_done + 1e-9)),
        step_time_s=job.plan.nominal()[0],
        mfu=job.plan.mfu,
        energy_j=job.energy_j,
        network_share_s=job.share_s,
        failures=job.failures,
        lost_tokens=job.lost_steps * job.tokens_per_step,
        checkpoint_s=job.checkpoint_s,
        lost_s=job.lost_s,
        down_s=job.down_s,
        status=JobStatus(job.status),
        policy_s=job.policy_s,
        policy_pauses=job.policy_pauses,
        preemptions=job.preemptions,
    )


def nominal_capacity_per_s(svc: ServiceRun) -> float:
    """Requests per second all the service's replicas serve with full batches, every board at its
    own power limit (the highest tabulated cap): the capacity a planner sized for."""
    return svc.plan.at_cap(math.inf).capacity_per_s * svc.units


def service_record(svc: ServiceRun, horizon_s: float) -> ServiceRecord:
    per_sample = svc.per_sample.copy()
    per_sample.flags.writeable = False
    return ServiceRecord(
        name=svc.name,
        model=svc.model_name,
        replicas=svc.units,
        gpus=svc.gpus,
        start_s=svc.start_s,
        arrival_rate_per_s=float(svc.config.arrival_rate),
        output_tokens=svc.costs.mean_output_tokens,
        engine=svc.costs.engine,
        precision=svc.costs.precision,
        kv_precision=svc.costs.kv_precision,
        kv_cache_tokens=svc.costs.kv_cache_tokens,
        prefix_cache_hit=svc.config.prefix_cache_hit,
        tokens_per_step=svc.costs.tokens_per_step,
        disaggregated=svc.costs.disaggregated,
        requests_arrived=svc.arrived,
        requests_served=svc.served,
        requests_backlog=svc.backlog,
        requests_abandoned=svc.abandoned,
        requests_slo_met=svc.met,
        ttft_sum_s=svc.ttft_weighted_s,
        tpot_sum_s=svc.tpot_weighted_s,
        batch_sum=svc.batch_weighted,
        preemptions=svc.preemptions,
        ttft_p50_s=svc.ttft_quantile_s(0.50),
        ttft_p99_s=svc.ttft_quantile_s(0.99),
        tpot_p99_s=svc.tpot_quantile_s(0.99),
        capacity_per_s=svc.state.capacity_per_s if svc.state is not None else 0.0,
        capacity_nominal_per_s=nominal_capacity_per_s(svc),
        peak_demand_per_s=peak_rate_per_s(svc.config, horizon_s),
        patience_s=svc.config.patience if svc.config.patience is not None else math.inf,
        failures=svc.failures,
        availability=svc.availability,
        energy_j=svc.energy_j,
        status=ServiceStatus(svc.status),
        per_sample=per_sample,
    )


def build_record(plan: RunPlan, rec: Recorder, jobs: list[JobRun], services: list[ServiceRun],
                 scheduling: SchedulingRecord | None = None) -> RunRecord:
    n = rec.rows
    fabric = plan.fabric
    site = plan.site
    env = rec.env[:n]
    supply = settle(plan.loaded.scenario, rec.t_s[:n], rec.power[:n, POWER_COLUMNS.index("facility_power_w")],
                    env[:, ENV_COLUMNS.index("power_envelope_w")], env[:, ENV_COLUMNS.index("price_usd_per_j")],
                    env[:, ENV_COLUMNS.index("carbon_kg_per_j")], plan.loaded.base_dir, plan.outages)
    return RunRecord(
        horizon_s=rec.horizon_s,
        sample_interval_s=rec.sample_interval_s,
        seeds=dict(plan.seeds),
        envelope_w=plan.site.envelope_w,
        groups=tuple(GroupRecord(g.name, g.node, g.accel, g.nodes_total, g.gpus_total, g.peak_power_w(),
                                 g.config.count, g.config.cooling, fan_w, *_phase(plan, g.index))
                     for g, fan_w in zip(plan.groups, site.peak_fan_w, strict=True)),
        fabric=FabricRecord(fabric.tiers, fabric.leaves, fabric.spines, fabric.cores, fabric.switches,
                            fabric.optics, plan.networks.power_w, plan.networks.items, dict(plan.networks.others)),
        t_s=frozen_array(rec.t_s[:n]),
        power=frozen_array(rec.power[:n]),
        state=frozen_array(rec.state[:n]),
        env=frozen_array(rec.env[:n]),
        energy_cost_usd=rec.cost_usd,
        carbon_kg=rec.carbon_kg,
        capped_samples=rec.capped_samples,
        counters={k: int(v) for k, v in rec.counters.items()},
        progress=tuple(rec.progress),
        jobs=tuple(job_record(j) for j in jobs),
        services=tuple(service_record(s, rec.horizon_s) for s in services),
        support=tuple(SupportRecord(s.name, s.role, n, s.power, s.max_power, s.price) for s, n in plan.support.rows),
        design=DesignRecord(site.peak_it_w, site.air_loop.design_w, site.liquid_loop.design_w, site.ups_capacity_w,
                            site.air_loop.type, site.liquid_loop.type, **site.design),
        supply=supply,
        outages=tuple(plan.outages),
        interruptions_by_cause={k.partition(":")[2]: int(v) for k, v in sorted(rec.counters.items())
                                if k.startswith("failures:")},
        maintenance_stops=int(rec.counters.get("maintenance", 0)),
        storage=storage_record(plan, jobs),
        months=_months(plan),
        scheduling=scheduling,
    )


def storage_record(plan: RunPlan, jobs: list[JobRun]) -> StorageRecord | None:
    """The storage tier, with the read bandwidth the training jobs' data loaders would ask of it
    all running at once at full speed, their boards at TDP (tokens/s x bytes per token)."""
    st = plan.loaded.scenario.storage
    if st is None:
        return None
    reads = sum(dataset_read_bw(j.tokens_per_step / j.plan.at_power(plan.groups[max(j.group, 0)].accel.tdp)[0],
                                st.dataset_bytes_per_token) for j in jobs)
    return StorageRecord(st.kind, st.capacity, st.write_bw, st.read_bw, st.power, st.capex, float(reads))


def _phase(plan: RunPlan, index: int) -> tuple[float, float]:
    """A group's delivery and retirement (s after t=0; 0 and inf when not scheduled)."""
    return plan.calendar.phases[index] if plan.calendar is not None else (0.0, math.inf)


def _months(plan: RunPlan) -> tuple[tuple[str, float, float], ...]:
    """The calendar months of a dated run (one with simulation.start); () otherwise."""
    cal = plan.calendar
    if cal is None or plan.loaded.scenario.simulation.start is None:
        return ()
    edges = cal.month_edges_s
    return tuple((label, edges[i], edges[i + 1]) for i, label in enumerate(cal.month_labels))

