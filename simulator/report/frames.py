"""Run record -> tidy pandas DataFrames with the columns documented in docs/outputs.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.engine.failures import goodput
from simulator.engine.record import REQUEST_COLUMNS, JobStatus, RunRecord
from simulator.engine.recorder import ENV_COLUMNS, POWER_COLUMNS, STATE_COLUMNS

TIMESERIES_COLUMNS = (
    "t_s", "accelerator_power_w", "host_power_w", "server_fan_power_w", "support_power_w", "network_power_w",
    "it_power_w", "losses_power_w", "cooling_power_w", "chiller_power_w", "heat_rejection_power_w",
    "air_handler_power_w", "pump_power_w", "other_power_w", "facility_power_w", "power_envelope_w", "pue",
    "water_m3_per_s", "cooling_shortfall_w", "grid_power_w", "generator_power_w", "onsite_power_w", "battery_power_w",
    "battery_energy_j", "ppa_power_w", "ambient_c", "wet_bulb_c", "gpu_utilization",
    "gpus_allocated", "clock_fraction", "price_usd_per_j", "carbon_kg_per_j", "running_jobs",
    "queued_jobs", "requests_arrived", "requests_served", "requests_slo_met", "requests_backlog",
    "requests_abandoned",
)

SERVICE_COLUMNS = (
    "service", "model", "replicas", "gpus", "start_s", "arrival_rate_per_s", "requests_arrived",
    "requests_served", "requests_abandoned", "requests_backlog", "slo_attainment", "ttft_mean_s", "ttft_p50_s",
    "ttft_p99_s", "tpot_mean_s", "tpot_p99_s", "tokens_generated", "capacity_per_s", "capacity_nominal_per_s",
    "peak_demand_per_s", "headroom", "failures", "availability", "energy_j", "status",
    "engine", "precision", "kv_precision", "kv_cache_tokens", "batch_mean", "preemptions", "prefix_cache_hit",
    "tokens_per_step", "disaggregated",
)

JOB_COLUMNS = (
    "job", "model", "gpus", "layout", "submit_s", "start_s", "end_s", "tokens_target", "tokens_done",
    "steps_done", "step_time_s", "tokens_per_s", "mfu", "energy_j", "network_share_mean", "failures",
    "lost_tokens", "checkpoint_s", "downtime_s", "goodput", "policy_s", "policy_pauses", "preemptions", "status",
)


def timeseries_frame(record: RunRecord) -> pd.DataFrame:
    """One row per sample interval; powers are interval means (energy = power x interval)."""
    data: dict[str, np.ndarray] = {"t_s": record.t_s.copy()}
    for i, name in enumerate(POWER_COLUMNS):
        data[name] = record.power[:, i].copy()
    for i, name in enumerate(ENV_COLUMNS):
        data[name] = record.env[:, i].copy()
    for i, name in enumerate(STATE_COLUMNS):
        data[name] = record.state[:, i].copy()
    # Inference requests in each interval, summed over services; backlog at the interval's end.
    requests = record.requests()
    for i, name in enumerate(REQUEST_COLUMNS):
        data[name] = requests[:, i].copy()
    supply = record.supply
    zeros = np.zeros(len(record.t_s))
    data["grid_power_w"] = supply.grid_w.copy() if supply is not None else data["facility_power_w"].copy()
    for name, attr in (("generator_power_w", "generator_w"), ("onsite_power_w", "onsite_w"),
                       ("battery_power_w", "battery_w"),
                       ("battery_energy_j", "battery_energy_j"), ("ppa_power_w", "ppa_w")):
        data[name] = getattr(supply, attr).copy() if supply is not None else zeros.copy()
    it = data["it_power_w"]
    with np.errstate(divide="ignore", invalid="ignore"):
        data["pue"] = np.where(it > 0, data["facility_power_w"] / it, np.nan)
    return pd.DataFrame({c: data[c] for c in TIMESERIES_COLUMNS})


def jobs_frame(record: RunRecord) -> pd.DataFrame:
    """One row per training job, in scenario order."""
    rows = []
    for job in record.jobs:
        end, start = job.end_s, job.start_s
        ran = (end if np.isfinite(end) else record.horizon_s) - start if np.isfinite(start) else 0.0
        rows.append({
            "job": job.name,
            "model": job.model,
            "gpus": job.gpus,
            "layout": job.layout,
            "submit_s": job.submit_s,
            "start_s": start,
            "end_s": end,
            "tokens_target": job.tokens_target,
            "tokens_done": job.tokens_done,
            "steps_done": job.steps_done,
            "step_time_s": job.step_time_s,
            "tokens_per_s": job.tokens_done / ran if ran > 0 else 0.0,
            "mfu": job.mfu,
            "energy_j": job.energy_j,
            "network_share_mean": job.network_share_s / ran if ran > 0 else float("nan"),
            "failures": job.failures,
            "lost_tokens": job.lost_tokens,
            "checkpoint_s": job.checkpoint_s,
            "downtime_s": job.down_s,
            "goodput": goodput(ran - job.policy_s, job.checkpoint_s, job.lost_s, job.down_s),
            "policy_s": job.policy_s,
            "policy_pauses": job.policy_pauses,
            "preemptions": job.preemptions,
            # A job not submitted by the horizon reads as queued.
            "status": str(JobStatus.QUEUED if job.status == JobStatus.PENDING else job.status),
        })
    frame = pd.DataFrame(rows, columns=list(JOB_COLUMNS))
    return frame.astype({"gpus": "int64", "failures": "int64"}) if len(frame) else frame


def progress_frame(record: RunRecord) -> pd.DataFrame:
    """Training progress points: t_s, job, tokens_done, clock_fraction."""
    return pd.DataFrame(list(record.progress), columns=["t_s", "job", "tokens_done", "clock_fraction"])


def headroom(peak_demand_per_s: float, capacity_per_s: float) -> float:
    """1 - peak demand / capacity: the share of capacity left at the busiest hour (negative when
    the peak exceeds the capacity; NaN without capacity)."""
    return 1.0 - peak_demand_per_s / capacity_per_s if capacity_per_s > 0 else float("nan")


def services_frame(record: RunRecord) -> pd.DataFrame:
    """One row per inference service, in scenario order; latencies are means over served requests."""
    rows = []
    for svc in record.services:
        served = svc.requests_served
        rows.append({
            "service": svc.name,
            "model": svc.model,
            "replicas": svc.replicas,
            "gpus": svc.gpus,
            "start_s": svc.start_s,
            "arrival_rate_per_s": svc.arrival_rate_per_s,
            "requests_arrived": svc.requests_arrived,
            "requests_served": served,
            "requests_abandoned": svc.requests_abandoned,
            "requests_backlog": svc.requests_backlog,
            "slo_attainment": svc.requests_slo_met / served if served > 0 else float("nan"),
            "ttft_mean_s": svc.ttft_sum_s / served if served > 0 else float("nan"),
            "ttft_p50_s": svc.ttft_p50_s,
            "ttft_p99_s": svc.ttft_p99_s,
            "tpot_mean_s": svc.tpot_sum_s / served if served > 0 else float("nan"),
            "tpot_p99_s": svc.tpot_p99_s,
            "tokens_generated": served * svc.output_tokens,
            "capacity_per_s": svc.capacity_per_s,
            "capacity_nominal_per_s": svc.capacity_nominal_per_s,
            "peak_demand_per_s": svc.peak_demand_per_s,
            "headroom": headroom(svc.peak_demand_per_s, svc.capacity_nominal_per_s),
            "failures": svc.failures,
            "availability": svc.availability,
            "energy_j": svc.energy_j,
            "status": str(svc.status),
            "engine": svc.engine,
            "precision": svc.precision,
            "kv_precision": svc.kv_precision,
            "kv_cache_tokens": svc.kv_cache_tokens,
            "batch_mean": svc.batch_sum / served if served > 0 else float("nan"),
            "preemptions": svc.preemptions,
            "prefix_cache_hit": svc.prefix_cache_hit,
            "tokens_per_step": svc.tokens_per_step,
            "disaggregated": svc.disaggregated,
        })
    frame = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    return frame.astype({"replicas": "int64", "gpus": "int64", "failures": "int64", "kv_cache_tokens": "int64"}) \
        if len(frame) else frame
