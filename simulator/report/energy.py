"""Headline energy, power and throughput numbers (summary.json, a ``Summary``) from the run's
frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.engine.record import RunRecord
from simulator.report.monthly import monthly_rows
from simulator.report.operation import operation_report
from simulator.report.results import FabricCounts, Summary
from simulator.report.warnings import run_warnings
from simulator.scenario.overrides import override_notes
from simulator.scenario.redundancy import ride_through_probability
from simulator.scenario.schema import Scenario


def _weighted_goodput(jobs: pd.DataFrame, horizon_s: float) -> float | None:
    """Goodput of all jobs weighted by the GPU-seconds each held its nodes (None: no job ran)."""
    if not len(jobs):
        return None
    start = jobs["start_s"].to_numpy()
    end = np.where(np.isfinite(jobs["end_s"].to_numpy()), jobs["end_s"].to_numpy(), horizon_s)
    held = np.where(np.isfinite(start), (end - start) * jobs["gpus"].to_numpy(), 0.0)
    good = jobs["goodput"].to_numpy()
    mask = np.isfinite(good) & (held > 0)
    return float(np.sum(good[mask] * held[mask]) / np.sum(held[mask])) if mask.any() else None


def _services_summary(services: pd.DataFrame | None, horizon_s: float) -> dict:
    """Request totals over all inference services; SLO attainment (overall, and the worst
    service's) is None when none was served,
    availability (weighted by each service's placed replica-time) None when none was placed."""
    if services is None or not len(services):
        return {"services_total": 0, "requests_arrived": 0.0, "requests_served": 0.0, "requests_backlog": 0.0,
                "requests_abandoned": 0.0, "slo_attainment": None, "slo_attainment_min": None,
                "tokens_generated": 0.0, "service_availability": None}
    placed = services["replicas"].to_numpy() * (horizon_s - services["start_s"].to_numpy())
    up = services["availability"].to_numpy()
    mask = np.isfinite(placed) & np.isfinite(up) & (placed > 0)
    served = float(services["requests_served"].sum())
    met = float((services["slo_attainment"].fillna(0.0) * services["requests_served"]).sum())
    attained = services["slo_attainment"].dropna()
    return {
        "services_total": len(services),
        "requests_arrived": float(services["requests_arrived"].sum()),
        "requests_served": served,
        "requests_backlog": float(services["requests_backlog"].sum()),
        "requests_abandoned": float(services["requests_abandoned"].sum()),
        "slo_attainment": met / served if served > 0 else None,
        "slo_attainment_min": float(attained.min()) if len(attained) else None,
        "tokens_generated": float(services["tokens_generated"].sum()),
        "service_availability": float(np.sum(up[mask] * placed[mask]) / np.sum(placed[mask])) if mask.any() else None,
    }


def _supply_summary(record: RunRecord, energy) -> dict:
    """The electricity account: bill, demand charges, battery wear, carbon (location- and
    market-based), and where the energy came from (engine/supply.py)."""
    supply = record.supply
    if supply is None:
        return {"energy_cost_usd": record.energy_cost_usd, "demand_charge_usd": 0.0, "battery_wear_usd": 0.0,
                "carbon_kg": record.carbon_kg, "carbon_market_kg": record.carbon_kg,
                "grid_energy_j": energy("facility_power_w"), "onsite_energy_j": 0.0, "ppa_energy_j": 0.0,
                "battery_discharge_j": 0.0, "generator_energy_j": 0.0, "generator_fuel_usd": 0.0}
    final = supply.final
    return {
        "energy_cost_usd": final.energy_usd,
        "demand_charge_usd": final.demand_usd,
        "battery_wear_usd": final.degradation_usd,
        "carbon_kg": final.carbon_location_kg,
        "carbon_market_kg": final.carbon_market_kg,
        "grid_energy_j": energy("grid_power_w"),
        "onsite_energy_j": energy("onsite_power_w"),
        "ppa_energy_j": energy("ppa_power_w"),
        "battery_discharge_j": energy("battery_power_w", positive=True),
        "generator_energy_j": energy("generator_power_w"),
        "generator_fuel_usd": final.fuel_usd,
    }


# Uptime Institute tier site availabilities (the classic white-paper figures, via
# benchmarks/reference/facility/capex.yaml redundancy_tiers; Uptime no longer ties tiers to them).
TIER_AVAILABILITY = {"I": 0.99671, "II": 0.99741, "III": 0.99982, "IV": 0.99995}


def _redundancy(scenario: Scenario) -> dict:
    """N / N+1 / 2N of the UPS, generators and cooling plants, and the Uptime tier they match:
    IV when all are 2N, III when all are at least N+1, II with some redundancy, else I."""
    levels = {"ups": scenario.power.redundancy.ups, "generators": scenario.power.redundancy.generators,
              "air_plant": scenario.cooling.air_plant.redundancy,
              "liquid_plant": scenario.cooling.liquid_plant.redundancy}
    values = list(levels.values())
    if all(v == "2N" for v in values):
        tier = "IV"
    elif all(v in ("N+1", "2N") for v in values):
        tier = "III"
    elif any(v in ("N+1", "2N") for v in values):
        tier = "II"
    else:
        tier = "I"
    return {**levels, "uptime_tier": tier, "tier_availability": TIER_AVAILABILITY[tier]}


def _interruptions(scenario: Scenario, record: RunRecord) -> dict | None:
    """Unexpected interruptions by cause and planned maintenance stops (engine/failure_classes.py,
    engine/maintenance.py)."""
    if scenario.failures is None and scenario.maintenance is None:
        return None
    by_cause = dict(record.interruptions_by_cause)
    return {"unexpected": int(sum(by_cause.values())), "by_cause": by_cause, "planned": record.maintenance_stops}


def _storage(record: RunRecord) -> dict | None:
    st = record.storage
    if st is None:
        return None
    return {"kind": st.kind, "capacity_bytes": st.capacity_bytes, "write_bw_bytes_per_s": st.write_bw_bytes_per_s,
            "read_bw_bytes_per_s": st.read_bw_bytes_per_s, "power_w": st.power_w, "capex_usd": st.capex_usd,
            "dataset_read_bw_bytes_per_s": st.dataset_read_bw_bytes_per_s,
            "dataset_read_share": st.dataset_read_bw_bytes_per_s / st.read_bw_bytes_per_s}


def _grid_outages(scenario: Scenario, record: RunRecord) -> dict | None:
    """Grid outages met and what the power chain's redundancy bought against them."""
    if scenario.site.grid_outages is None:
        return None
    dark = sum(end - start for start, end, ridden in record.outages if not ridden)
    return {
        "outages": len(record.outages),
        "ridden_through": sum(1 for *_, ridden in record.outages if ridden),
        "blackouts": sum(1 for *_, ridden in record.outages if not ridden),
        "outage_hours": sum(end - start for start, end, _ in record.outages) / 3600.0,
        "blackout_hours": dark / 3600.0,
        "availability": 1.0 - dark / record.horizon_s,
        "ride_through_probability": ride_through_probability(scenario.power),
    }


def site_ratios(timeseries: pd.DataFrame, it_j: float, facility_j: float, water_m3: float,
                design_it_w: float | None, gpus: int, envelope_w: float) -> dict:
    """The summary's ratios and peaks from a site's time series and energies (or several sites'
    added up): PUE as facility / IT energy, WUE, power per GPU, peak power against the envelope."""
    t = timeseries["t_s"].to_numpy()
    dt = np.diff(np.concatenate([[0.0], t]))
    pue = timeseries["pue"].to_numpy() if len(timeseries) else np.zeros(0)
    peak = float(timeseries["facility_power_w"].max()) if len(timeseries) else 0.0
    return {
        "pue_mean": facility_j / it_j if it_j > 0 else None,
        "pue_max_sample": float(np.nanmax(pue)) if np.isfinite(pue).any() else None,
        "wue_l_per_kwh": water_m3 * 1e3 / (it_j / 3.6e6) if it_j > 0 else None,
        "cooling_shortfall_hours": float(np.sum(dt[timeseries["cooling_shortfall_w"].to_numpy() > 0]) / 3600.0)
        if len(timeseries) else 0.0,
        "design_it_power_w": design_it_w,
        "design_it_power_per_gpu_w": design_it_w / gpus if design_it_w is not None and gpus else None,
        "it_power_per_gpu_mean_w": it_j / t[-1] / gpus if len(t) and gpus else None,
        "peak_facility_power_w": peak,
        "power_envelope_w": envelope_w,
        "peak_envelope_fraction": peak / envelope_w,
    }


def summary_report(scenario: Scenario, record: RunRecord, timeseries: pd.DataFrame, jobs: pd.DataFrame,
                   services: pd.DataFrame | None = None, baselines=()) -> Summary:
    """Energies are sums of interval-mean power x interval; PUE is facility / IT energy."""
    rec = record
    sc = scenario
    t = timeseries["t_s"].to_numpy()
    dt = np.diff(np.concatenate([[0.0], t]))

    def energy(col: str, positive: bool = False) -> float:
        values = timeseries[col].to_numpy()
        return float(np.sum((np.maximum(values, 0.0) if positive else values) * dt))

    it = energy("it_power_w")
    facility = energy("facility_power_w")
    water_m3 = energy("water_m3_per_s")
    gpus = int(record.gpus)
    design = record.design
    util = float(np.sum(timeseries["gpu_utilization"].to_numpy() * dt) / t[-1]) if len(t) else 0.0
    return Summary(**{
        "scenario": sc.name,
        "seed": sc.simulation.seed,
        "seeds": dict(record.seeds),
        "horizon_s": rec.horizon_s,
        "sample_interval_s": rec.sample_interval_s,
        "gpus": gpus,
        "it_energy_j": it,
        "accelerator_energy_j": energy("accelerator_power_w"),
        "host_energy_j": energy("host_power_w"),
        "server_fan_energy_j": energy("server_fan_power_w"),
        "support_energy_j": energy("support_power_w"),
        "network_energy_j": energy("network_power_w"),
        "facility_energy_j": facility,
        "cooling_energy_j": energy("cooling_power_w"),
        "chiller_energy_j": energy("chiller_power_w"),
        "heat_rejection_energy_j": energy("heat_rejection_power_w"),
        "air_handler_energy_j": energy("air_handler_power_w"),
        "pump_energy_j": energy("pump_power_w"),
        "losses_energy_j": energy("losses_power_w"),
        "other_energy_j": energy("other_power_w"),
        "water_m3": water_m3,
        **site_ratios(timeseries, it, facility, water_m3, design.peak_it_w if design else None, gpus,
                      record.envelope_w),
        **_supply_summary(record, energy),
        "gpu_utilization_mean": util,
        "jobs_total": len(record.jobs),
        "jobs_finished": int((jobs["status"] == "finished").sum()) if len(jobs) else 0,
        "tokens_trained": float(jobs["tokens_done"].sum()) if len(jobs) else 0.0,
        "capped_fraction": rec.capped_samples / rec.samples if rec.samples else 0.0,
        "failures": int(rec.counters.get("failures", 0)),
        "spares_used": int(rec.counters.get("spares_used", 0)),
        "jobs_preempted": int(rec.counters.get("jobs_preempted", 0)),
        "goodput_mean": _weighted_goodput(jobs, rec.horizon_s),
        **_services_summary(services, rec.horizon_s),
        "fabric": FabricCounts(record.fabric.tiers, record.fabric.leaves, record.fabric.spines,
                               record.fabric.cores, record.fabric.optics),
        "networks": {name: dict(zip(("tiers", "leaves", "spines", "cores"), counts, strict=True))
                     for name, counts in (record.fabric.networks or {}).items()},
        "cooling_plants": {"air": design.air_plant, "liquid": design.liquid_plant} if design else {},
        "operation": operation_report(sc, record, list(baselines)),
        "grid_outages": _grid_outages(sc, record),
        "power_redundancy": _redundancy(sc),
        "events_processed": int(rec.counters.get("events_processed", 0)),
        "catalog_overrides": override_notes(sc),
        "warnings": run_warnings(sc, record, timeseries["facility_power_w"].to_numpy()),
        "interruptions": _interruptions(sc, record),
        "storage": _storage(record),
        "monthly": monthly_rows(record),
        "scheduling": record.scheduling.summary() if record.scheduling is not None else None,
    })
