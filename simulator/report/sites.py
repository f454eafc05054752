"""Several sites' runs merged into one result (docs/sites.md, docs/outputs.md#several-sites).

Each site ran as an ordinary single-site scenario on the same time grid (the simulation section
is shared), so the merge is arithmetic: energies, costs, tokens, requests and counts add up;
ratios are recomputed from the sums (PUE = facility / IT energy, never a mean of PUEs; SLO
attainment weighted by requests served); peaks come from the summed time series. Each site's
headline numbers stay in the summary's ``sites`` block and its power in the time series columns
``facility_power_w@SITE``, ``it_power_w@SITE``, ``power_envelope_w@SITE`` and ``ambient_c@SITE``.
Jobs, services and progress rows are each site's with a ``site`` column; a service split over
sites keeps one row per site part (``NAME@SITE``) and is added back under its name in the summary
and costs.json's ``per_service``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.report.cost import unit_costs
from simulator.report.energy import _services_summary, _weighted_goodput, site_ratios
from simulator.report.frames import TIMESERIES_COLUMNS
from simulator.report.results import Costs, FabricCounts, MonthlyRow, RunWarning, Summary

SUMMED = (
    "it_energy_j", "accelerator_energy_j", "host_energy_j", "server_fan_energy_j", "support_energy_j",
    "network_energy_j", "facility_energy_j", "cooling_energy_j", "chiller_energy_j", "heat_rejection_energy_j",
    "air_handler_energy_j", "pump_energy_j", "losses_energy_j", "other_energy_j", "water_m3", "energy_cost_usd",
    "demand_charge_usd", "battery_wear_usd", "carbon_kg", "carbon_market_kg", "grid_energy_j", "onsite_energy_j",
    "ppa_energy_j", "battery_discharge_j", "generator_energy_j", "generator_fuel_usd", "gpus", "jobs_total",
    "jobs_finished", "jobs_preempted", "tokens_trained", "failures", "spares_used", "events_processed",
    "power_envelope_w",
)
# Time series columns that are not sums over sites.
_MEANS = ("pue", "gpu_utilization", "clock_fraction", "price_usd_per_j", "carbon_kg_per_j", "ambient_c", "wet_bulb_c")
SITE_COLUMNS = ("facility_power_w", "it_power_w", "power_envelope_w", "ambient_c")
HEADLINE = ("gpus", "facility_energy_j", "it_energy_j", "pue_mean", "energy_cost_usd", "carbon_kg",
            "peak_facility_power_w", "power_envelope_w", "peak_envelope_fraction", "tokens_trained",
            "requests_served", "slo_attainment")
PER_SITE = ("operation", "grid_outages", "storage")       # blocks kept per site only
SHARED = ("horizon_s", "sample_interval_s", "power_redundancy", "catalog_overrides")  # the same at every site


@dataclass(frozen=True)
class SiteRun:
    """One site's outputs, as its single-site run produced them."""

    name: str
    seed: int
    summary: Summary
    costs: Costs
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    services: pd.DataFrame
    progress: pd.DataFrame
    service_names: dict[str, str]         # part service name -> the document's name


def _weighted(values: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """Row-wise weighted mean; the plain mean where the weights are all zero."""
    v, w = np.vstack(values), np.vstack(weights).astype(float)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (v * w).sum(axis=0) / np.where(total > 0, total, 1.0), v.mean(axis=0))


def merge_timeseries(runs: list[SiteRun]) -> pd.DataFrame:
    """The sites' time series summed column by column (means where a sum means nothing), then
    each site's own power, envelope and outdoor temperature."""
    frames = [r.timeseries for r in runs]
    data: dict[str, np.ndarray] = {"t_s": frames[0]["t_s"].to_numpy().copy()}
    for col in TIMESERIES_COLUMNS[1:]:
        if col not in _MEANS:
            data[col] = np.sum([f[col].to_numpy() for f in frames], axis=0)
    gpus = [np.full(len(data["t_s"]), r.summary.gpus) for r in runs]
    power = [f["facility_power_w"].to_numpy() for f in frames]
    data["gpu_utilization"] = _weighted([f["gpu_utilization"].to_numpy() for f in frames], gpus)
    data["clock_fraction"] = _weighted([f["clock_fraction"].to_numpy() for f in frames],
                                       [f["gpus_allocated"].to_numpy() for f in frames])
    for col in ("price_usd_per_j", "carbon_kg_per_j"):     # what the summed power paid / emitted
        data[col] = _weighted([f[col].to_numpy() for f in frames], power)
    for col in ("ambient_c", "wet_bulb_c"):                  # the mean over sites; each site's below
        data[col] = np.mean([f[col].to_numpy() for f in frames], axis=0)
    it = data["it_power_w"]
    with np.errstate(divide="ignore", invalid="ignore"):
        data["pue"] = np.where(it > 0, data["facility_power_w"] / it, np.nan)
    out = {c: data[c] for c in TIMESERIES_COLUMNS}
    for run in runs:
        for col in SITE_COLUMNS:
            out[f"{col}@{run.name}"] = run.timeseries[col].to_numpy().copy()
    return pd.DataFrame(out)


def _with_site(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    parts = [f.assign(site=name) for f, name in zip(frames, names, strict=True) if len(f)]
    if not parts:
        return frames[0].assign(site=pd.Series(dtype=object))
    return pd.concat(parts, ignore_index=True)


def _monthly(runs: list[SiteRun], timeseries: pd.DataFrame) -> tuple[MonthlyRow, ...]:
    """Month rows added up over sites; the peak from the summed power; per service its parts
    added back (SLO attainment weighted by arrivals)."""
    rows = []
    t = timeseries["t_s"].to_numpy()
    starts = np.concatenate([[0.0], t[:-1]])
    facility = timeseries["facility_power_w"].to_numpy()
    for k, first in enumerate(runs[0].summary.monthly):
        months = [r.summary.monthly[k] for r in runs]
        sel = (starts >= first.start_s - 1e-6) & (starts < first.end_s - 1e-6)
        rate: dict[str, float] = {}
        capacity: dict[str, float] = {}
        met: dict[str, float] = {}
        for run, month in zip(runs, months, strict=True):
            for part, value in month.arrival_rate_per_s.items():
                name = run.service_names.get(part, part)
                rate[name] = rate.get(name, 0.0) + value
                capacity[name] = capacity.get(name, 0.0) + month.capacity_per_s.get(part, 0.0)
                slo = month.slo_attainment.get(part)
                if slo is not None:
                    met[name] = met.get(name, 0.0) + slo * value
        sums = {f: sum(getattr(m, f) for m in months) for f in (
            "facility_energy_j", "it_energy_j", "energy_cost_usd", "carbon_kg", "tokens_trained", "tokens_generated",
            "gpus_installed", "power_envelope_w")}
        rows.append(MonthlyRow(month=first.month, start_s=first.start_s, end_s=first.end_s, **sums,
                               peak_facility_power_w=float(facility[sel].max()) if sel.any() else 0.0,
                               arrival_rate_per_s=rate, capacity_per_s=capacity,
                               slo_attainment={n: (met[n] / rate[n] if rate[n] > 0 else None) if n in met else None
                                               for n in rate}))
    return tuple(rows)


def _site_months(summary: Summary) -> dict:
    """A dated site's peak power and envelope per month (plan.html's per-site build-out)."""
    if not summary.monthly:
        return {}
    return {"monthly_peak_facility_power_w": [m.peak_facility_power_w for m in summary.monthly],
            "monthly_power_envelope_w": [m.power_envelope_w for m in summary.monthly]}


def attainment_by_service(services: pd.DataFrame, names: dict[str, str]) -> dict[str, float | None]:
    """Each document service's share of served requests within SLO, its site parts (``names``:
    part -> document name) added up."""
    served: dict[str, float] = {}
    met: dict[str, float] = {}
    slo = np.nan_to_num(services["slo_attainment"].to_numpy(dtype=float))
    for part, n, share in zip(services["service"], services["requests_served"].to_numpy(dtype=float), slo,
                              strict=True):
        name = names.get(part, part)
        served[name] = served.get(name, 0.0) + n
        met[name] = met.get(name, 0.0) + share * n
    return {name: met[name] / n if n > 0 else None for name, n in served.items()}


def merge_summary(name: str, seed: int, runs: list[SiteRun], timeseries: pd.DataFrame, jobs: pd.DataFrame,
                  services: pd.DataFrame) -> Summary:
    """summary.json of several sites (the rules in the module docstring); a field with no rule
    fails here rather than silently taking the first site's value."""
    first = runs[0].summary
    return Summary(**{key: getattr(first, key) for key in SHARED},
                   **merged_values(name, seed, runs, timeseries, jobs, services))


def merged_values(name: str, seed: int, runs: list[SiteRun], timeseries: pd.DataFrame, jobs: pd.DataFrame,
                  services: pd.DataFrame) -> dict:
    """Every summary field but the SHARED ones, merged over the sites."""
    first = runs[0].summary
    sums = {f: sum(getattr(r.summary, f) for r in runs) for f in SUMMED}
    designs = [r.summary.design_it_power_w for r in runs if r.summary.design_it_power_w is not None]
    design = sum(designs) if designs else None
    weights = [r.summary.gpus for r in runs]

    def by_gpus(key: str) -> float:
        if len(runs) == 1:
            return float(getattr(first, key))
        return float(np.average([getattr(r.summary, key) for r in runs], weights=weights)) if sum(weights) \
            else float(np.mean([getattr(r.summary, key) for r in runs]))

    served = _services_summary(services, first.horizon_s)
    by_service = attainment_by_service(services, {part: name for r in runs
                                                  for part, name in r.service_names.items()})
    attained = [v for v in by_service.values() if v is not None]
    networks: dict[str, dict[str, int]] = {}
    for run in runs:
        for net, counts in run.summary.networks.items():
            into = networks.setdefault(net, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                into[key] = max(into.get(key, 0), value) if key == "tiers" else into.get(key, 0) + value
    fabric = FabricCounts(max(r.summary.fabric.tiers for r in runs),
                          *(sum(getattr(r.summary.fabric, f) for r in runs) for f in ("leaves", "spines", "cores",
                                                                                      "optics")))
    causes: dict[str, int] = {}
    interruptions = None
    if any(r.summary.interruptions for r in runs):
        for run in runs:
            for cause, count in ((run.summary.interruptions or {}).get("by_cause") or {}).items():
                causes[cause] = causes.get(cause, 0) + count
        interruptions = {"unexpected": sum(causes.values()), "by_cause": causes,
                         "planned": sum((r.summary.interruptions or {}).get("planned", 0) for r in runs)}
    warnings = tuple(RunWarning(w.kind, run.name if w.subject == "site" else w.subject,
                                f"site {run.name}: {w.message}") for run in runs for w in run.summary.warnings) \
        if len(runs) > 1 else first.warnings
    return {
        **sums, **served,
        "scenario": name, "seed": seed,
        # One site runs on the scenario's own seed and keeps its streams; several on their own.
        "seeds": dict(first.seeds) if len(runs) == 1 else {"root": seed, **{r.name: r.seed for r in runs}},
        "services_total": len(by_service),
        "slo_attainment_min": min(attained) if attained else None,
        **site_ratios(timeseries, sums["it_energy_j"], sums["facility_energy_j"], sums["water_m3"], design,
                      sums["gpus"], sums["power_envelope_w"]),
        "gpu_utilization_mean": by_gpus("gpu_utilization_mean"),
        "capped_fraction": by_gpus("capped_fraction"),
        "goodput_mean": _weighted_goodput(jobs, first.horizon_s),
        "fabric": fabric, "networks": networks,
        "cooling_plants": {r.name: r.summary.cooling_plants for r in runs},
        # Blocks each site reports on its own stay in its entry of ``sites``.
        "operation": None, "grid_outages": None, "storage": None,
        "interruptions": interruptions, "warnings": warnings,
        # A trace replays on one site (scenario/sites.py): its block, named by the site.
        "monthly": _monthly(runs, timeseries),
        "scheduling": next(({**r.summary.scheduling, "site": r.name} for r in runs if r.summary.scheduling), None),
        "sites": {r.name: {"seed": r.seed, **{k: getattr(r.summary, k) for k in HEADLINE},
                           "total_usd": r.costs.total_usd,
                           **{k: getattr(r.summary, k) for k in PER_SITE if getattr(r.summary, k) is not None},
                           **_site_months(r.summary)}
                  for r in runs},
    }


def merge_costs(runs: list[SiteRun], summary: Summary) -> Costs:
    """costs.json of several sites: items, amortisation and opex added up, unit costs recomputed
    from the sums, each site's subtotals in ``per_site``."""

    def added(key: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for run in runs:
            for item, usd in getattr(run.costs, key).items():
                out[item] = out.get(item, 0.0) + usd
        return out

    capex, amortised, opex = added("capex_usd"), added("amortised_usd"), added("opex_usd")
    total = sum(r.costs.total_usd for r in runs)
    gpu_hours = sum(r.costs.total_usd / r.costs.usd_per_gpu_hour for r in runs if r.costs.usd_per_gpu_hour)
    per_service: dict[str, float] = {}
    for run in runs:
        for part, usd in run.costs.per_service.items():
            name = run.service_names.get(part, part)
            per_service[name] = per_service.get(name, 0.0) + usd
    rentals = {r.name: r.costs.rental for r in runs}
    return Costs(
        capex_usd=capex, amortised_usd=amortised, opex_usd=opex, total_usd=total,
        usd_per_gpu_hour=total / gpu_hours if gpu_hours > 0 else None,
        per_job={job: usd for r in runs for job, usd in r.costs.per_job.items()},
        per_service=per_service,
        capex_items=[{**item, "site": r.name} for r in runs for item in r.costs.capex_items],
        **unit_costs(total, per_service, summary.tokens_trained, summary.tokens_generated, capex,
                     summary.design_it_power_w or 0.0),
        rental=rentals if any(rentals.values()) else None,
        capex_schedule=[{**row, "site": r.name} for r in runs for row in r.costs.capex_schedule],
        per_site={r.name: {"total_usd": r.costs.total_usd, "capex_usd": r.costs.capex_usd.get("total", 0.0),
                           "amortised_usd": r.costs.amortised_usd.get("total", 0.0),
                           "opex_usd": r.costs.opex_usd.get("total", 0.0),
                           "energy_usd": r.costs.opex_usd.get("energy", 0.0)} for r in runs},
    )


def merge_runs(name: str, seed: int, runs: list[SiteRun]):
    """(summary, costs, timeseries, jobs, services, progress) of the sites together."""
    names = [r.name for r in runs]
    timeseries = merge_timeseries(runs)
    jobs = _with_site([r.jobs for r in runs], names)
    services = _with_site([r.services for r in runs], names)
    progress = _with_site([r.progress for r in runs], names)
    if len(progress):
        progress = progress.sort_values("t_s", kind="stable", ignore_index=True)
    summary = merge_summary(name, seed, runs, timeseries, jobs, services)
    return summary, merge_costs(runs, summary), timeseries, jobs, services, progress
