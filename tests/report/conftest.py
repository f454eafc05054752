"""Small hand-made run outputs that follow docs/outputs.md, shared by the report tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

DAY = 86400.0
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def timeseries() -> pd.DataFrame:
    """Three days of hourly samples for a ~20 MW site with a 25 MW envelope."""
    t = np.arange(1, 73) * 3600.0
    day = np.sin(2 * np.pi * t / DAY)
    accel = 12e6 + 2e6 * day
    host, network = np.full_like(t, 3e6), np.full_like(t, 0.5e6)
    it = accel + host + network
    losses, cooling, other = 0.05 * it, 0.15 * it + 0.5e6 * day, np.full_like(t, 0.2e6)
    facility = it + losses + cooling + other
    return pd.DataFrame(
        {
            "t_s": t,
            "accelerator_power_w": accel,
            "host_power_w": host,
            "network_power_w": network,
            "it_power_w": it,
            "losses_power_w": losses,
            "cooling_power_w": cooling,
            "other_power_w": other,
            "facility_power_w": facility,
            "power_envelope_w": np.full_like(t, 25e6),
            "pue": facility / it,
            "ambient_c": 15 + 8 * day,
            "gpu_utilization": 0.8 + 0.1 * day,
            "gpus_allocated": np.full(len(t), 8192, dtype=np.int64),
            "clock_fraction": np.where(day > 0.9, 0.9, 1.0),
            "price_usd_per_j": np.full_like(t, 0.08 / 3.6e6),
            "carbon_kg_per_j": np.full_like(t, 0.3 / 3.6e6),
            "running_jobs": np.where(t < DAY, 2, 1).astype(np.int64),
            "queued_jobs": np.where(t < DAY, 1, 0).astype(np.int64),
        }
    )


@pytest.fixture
def jobs() -> pd.DataFrame:
    """One finished job, one running job with a hostile name, one queued job; the first two lost
    time to node failures."""
    return pd.DataFrame(
        {
            "job": ["llama-8b", EVIL, "$x$_queued"],
            "model": ["llama3-8b", "llama3-70b", "gpt-13b"],
            "gpus": np.array([1024, 8192, 512], dtype=np.int64),
            "layout": ["tp8-pp1-dp128", "tp8-pp8-dp128", "tp8-pp2-dp32"],
            "submit_s": [0.0, 0.0, 3600.0],
            "start_s": [0.0, 1800.0, np.nan],
            "end_s": [DAY, np.nan, np.nan],
            "tokens_target": [1e11, 2e12, 5e10],
            "tokens_done": [1e11, 8.4e11, 0.0],
            "steps_done": np.array([23842, 100000, 0], dtype=np.int64),
            "step_time_s": [3.6, 2.5, 4.0],
            "tokens_per_s": [1.157e6, 3.3e6, np.nan],
            "mfu": [0.41, 0.38, np.nan],
            "energy_j": [5.4e12, 7.9e13, 0.0],
            "network_share_mean": [0.8, 0.6543, np.nan],
            "failures": np.array([2, 5, 0], dtype=np.int64),
            "lost_tokens": [1.2e9, 3.4e10, 0.0],
            "checkpoint_s": [1800.0, 5400.0, 0.0],
            "downtime_s": [3600.0, 7200.0, 0.0],
            "goodput": [0.9512, 0.8876, np.nan],
            "status": ["finished", "running", "queued"],
        }
    )


@pytest.fixture
def progress() -> pd.DataFrame:
    """Hourly progress rows while each job runs."""
    rows = []
    for hour in range(1, 73):
        t = hour * 3600.0
        if t <= DAY:
            rows.append((t, "llama-8b", 1e11 * t / DAY, 1.0))
        rows.append((t, EVIL, 8.4e11 * t / (3 * DAY), 1.0))
    return pd.DataFrame(rows, columns=["t_s", "job", "tokens_done", "clock_fraction"])


@pytest.fixture
def summary() -> dict:
    return {
        "scenario": "site <A> & co",
        "seed": 7,
        "horizon_s": 3 * DAY,
        "sample_interval_s": 3600.0,
        "gpus": 16384,
        "it_energy_j": 4.5e12,
        "facility_energy_j": 3.6e13,
        "cooling_energy_j": 7.2e11,
        "losses_energy_j": 2.3e11,
        "pue_mean": 1.2345,
        "peak_facility_power_w": 21.4e6,
        "power_envelope_w": 25e6,
        "peak_envelope_fraction": 0.856,
        "energy_cost_usd": 812345.0,
        "carbon_kg": 3.1e6,
        "gpu_utilization_mean": 0.8,
        "jobs_total": 3,
        "jobs_finished": 1,
        "tokens_trained": 9.4e11,
        "capped_fraction": 0.125,
        "failures": 7,
        "spares_used": 3,
        "goodput_mean": 0.8931,
        "events_processed": 123456,
    }


@pytest.fixture
def costs() -> dict:
    return {
        "capex_usd": {"servers": 4.1e8, "network": 3.5e7, "facility": 2.0e8, "total": 6.45e8},
        "amortised_usd": {"servers": 1.9e6, "network": 1.2e5, "facility": 2.7e5, "total": 2.29e6},
        "opex_usd": {"energy": 812345.0, "maintenance": 2.1e5, "total": 1022345.0},
        "total_usd": 3.31e6,
        "usd_per_gpu_hour": 2.806,
        "usd_per_mtoken": 3.52,
        "per_job": {"llama-8b": 1.2e5, EVIL: 2.9e6, "$x$_queued": 0.0},
    }
