"""Recorder -> tidy pandas DataFrames with the columns documented in docs/outputs.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.engine.failures import goodput
from simulator.engine.recorder import ENV_COLUMNS, POWER_COLUMNS, STATE_COLUMNS

TIMESERIES_COLUMNS = (
    "t_s", "accelerator_power_w", "host_power_w", "network_power_w", "it_power_w", "losses_power_w",
    "cooling_power_w", "chiller_power_w", "economiser_power_w", "fan_power_w", "pump_power_w",
    "other_power_w", "facility_power_w", "power_envelope_w", "pue", "ambient_c", "gpu_utilization",
    "gpus_allocated", "clock_fraction", "price_usd_per_j", "carbon_kg_per_j", "running_jobs",
    "queued_jobs", "requests_arrived", "requests_served", "requests_slo_met", "requests_backlog",
)

SERVICE_COLUMNS = (
    "service", "model", "replicas", "gpus", "start_s", "arrival_rate_per_s", "requests_arrived",
    "requests_served", "requests_backlog", "slo_attainment", "ttft_mean_s", "ttft_p50_s", "ttft_p99_s",
    "tpot_mean_s", "tpot_p99_s",
    "tokens_generated", "capacity_per_s", "failures", "availability", "energy_j", "status",
)

JOB_COLUMNS = (
    "job", "model", "gpus", "layout", "submit_s", "start_s", "end_s", "tokens_target", "tokens_done",
    "steps_done", "step_time_s", "tokens_per_s", "mfu", "energy_j", "network_share_mean", "failures",
    "lost_tokens", "checkpoint_s", "downtime_s", "goodput", "status",
)


def timeseries_frame(world) -> pd.DataFrame:
    """One row per sample interval; powers are interval means (energy = power x interval)."""
    rec = world.recorder
    n = rec.rows
    data: dict[str, np.ndarray] = {"t_s": rec.t_s[:n].copy()}
    for i, name in enumerate(POWER_COLUMNS):
        data[name] = rec.power[:n, i].copy()
    for i, name in enumerate(ENV_COLUMNS):
        data[name] = rec.env[:n, i].copy()
    for i, name in enumerate(STATE_COLUMNS):
        data[name] = rec.state[:n, i].copy()
    # Inference requests in each interval, summed over services; backlog at the interval's end.
    per_sample = sum((svc.per_sample[:n] for svc in world.services), np.zeros((n, 4)))
    for i, name in enumerate(("requests_arrived", "requests_served", "requests_slo_met", "requests_backlog")):
        data[name] = per_sample[:, i].copy()
    it = data["it_power_w"]
    with np.errstate(divide="ignore", invalid="ignore"):
        data["pue"] = np.where(it > 0, data["facility_power_w"] / it, np.nan)
    return pd.DataFrame({c: data[c] for c in TIMESERIES_COLUMNS})


def jobs_frame(world) -> pd.DataFrame:
    """One row per training job, in scenario order."""
    from simulator.costmodel.parallel import layout_name

    rows = []
    for job in world.jobs:
        tokens = job.tokens_done()
        end = job.end_s
        start = job.start_s
        ran = (end if np.isfinite(end) else world.recorder.horizon_s) - start if np.isfinite(start) else 0.0
        rows.append({
            "job": job.name,
            "model": job.model_name,
            "gpus": job.gpus,
            "layout": layout_name(job.plan.layout),
            "submit_s": job.submit_s,
            "start_s": start,
            "end_s": end,
            "tokens_target": float(job.config.tokens),
            "tokens_done": tokens,
            "steps_done": float(np.floor(job.steps_done + 1e-9)),
            "step_time_s": job.plan.nominal()[0],
            "tokens_per_s": tokens / ran if ran > 0 else 0.0,
            "mfu": job.plan.mfu,
            "energy_j": job.energy_j,
            "network_share_mean": job.share_s / ran if ran > 0 else float("nan"),
            "failures": job.failures,
            "lost_tokens": job.lost_steps * job.tokens_per_step,
            "checkpoint_s": job.checkpoint_s,
            "downtime_s": job.down_s,
            "goodput": goodput(ran, job.checkpoint_s, job.lost_s, job.down_s),
            "status": job.status if job.status != "pending" else "queued",
        })
    frame = pd.DataFrame(rows, columns=list(JOB_COLUMNS))
    return frame.astype({"gpus": "int64", "failures": "int64"}) if len(frame) else frame


def progress_frame(world) -> pd.DataFrame:
    """Training progress points: t_s, job, tokens_done, clock_fraction."""
    rows = world.recorder.progress
    return pd.DataFrame(rows, columns=["t_s", "job", "tokens_done", "clock_fraction"])


def services_frame(world) -> pd.DataFrame:
    """One row per inference service, in scenario order; latencies are means over served requests."""
    rows = []
    for svc in world.services:
        served = svc.served
        cfg = svc.config
        capacity = svc.state.capacity_per_s if svc.state is not None else 0.0
        rows.append({
            "service": svc.name,
            "model": svc.model_name,
            "replicas": cfg.replicas,
            "gpus": svc.gpus,
            "start_s": svc.start_s,
            "arrival_rate_per_s": float(cfg.arrival_rate),
            "requests_arrived": svc.arrived,
            "requests_served": served,
            "requests_backlog": svc.backlog,
            "slo_attainment": svc.met / served if served > 0 else float("nan"),
            "ttft_mean_s": svc.ttft_weighted_s / served if served > 0 else float("nan"),
            "ttft_p50_s": svc.ttft_quantile_s(0.50),
            "ttft_p99_s": svc.ttft_quantile_s(0.99),
            "tpot_mean_s": svc.tpot_weighted_s / served if served > 0 else float("nan"),
            "tpot_p99_s": svc.tpot_quantile_s(0.99),
            "tokens_generated": served * cfg.output_tokens,
            "capacity_per_s": capacity,
            "failures": svc.failures,
            "availability": svc.availability,
            "energy_j": svc.energy_j,
            "status": svc.status,
        })
    frame = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    return frame.astype({"replicas": "int64", "gpus": "int64", "failures": "int64"}) if len(frame) else frame
