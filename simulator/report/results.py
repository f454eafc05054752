"""The run's headline numbers (summary.json) and money (costs.json) as typed, frozen records.

Missing values: a quantity that does not exist for a run (no inference service served, so no
SLO attainment; no training tokens, so no cost per token) is ``None`` here and ``null`` in the
JSON files; only table columns (DataFrames, Parquet) hold NaN, as pandas does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from simulator.report.writer import dumps


def present(value: float | None) -> float | None:
    """``value``, or None when it is missing or not finite (NaN, infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class FabricCounts:
    """Switches and optics of the scale-out network as sized."""

    tiers: int
    leaves: int
    spines: int
    cores: int
    optics: int


@dataclass(frozen=True)
class RunWarning:
    """Something that makes a run's headline numbers misleading (report/warnings.py): ``kind``
    (a stable word for scripts, e.g. ``service-saturated``), ``subject`` (the service, job or
    ``site``) and a ``message`` for people."""

    kind: str
    subject: str
    message: str


@dataclass(frozen=True)
class MonthlyRow:
    """One calendar month of a dated run (report/monthly.py): energies (J) and the grid bill
    (USD, hourly price x facility energy) within it, training tokens made in it, requests per
    service, GPUs in service at its end, and the peak facility power against the envelope."""

    month: str
    start_s: float
    end_s: float
    facility_energy_j: float
    it_energy_j: float
    energy_cost_usd: float
    carbon_kg: float
    tokens_trained: float
    tokens_generated: float
    gpus_installed: int
    peak_facility_power_w: float
    power_envelope_w: float
    arrival_rate_per_s: dict[str, float] = field(default_factory=dict)      # service -> mean arrivals
    capacity_per_s: dict[str, float] = field(default_factory=dict)          # service -> its capacity
    slo_attainment: dict[str, float | None] = field(default_factory=dict)   # service -> share in SLO


@dataclass(frozen=True)
class Summary:
    """summary.json: energies are sums of interval-mean power x interval (J); PUE is facility /
    IT energy; fractions are 0-1."""

    scenario: str
    seed: int
    seeds: dict[str, int]
    horizon_s: float
    sample_interval_s: float
    gpus: int
    it_energy_j: float
    accelerator_energy_j: float
    host_energy_j: float
    server_fan_energy_j: float
    support_energy_j: float
    network_energy_j: float
    facility_energy_j: float
    cooling_energy_j: float
    chiller_energy_j: float
    heat_rejection_energy_j: float
    air_handler_energy_j: float
    pump_energy_j: float
    losses_energy_j: float
    other_energy_j: float
    pue_mean: float | None
    pue_max_sample: float | None
    water_m3: float
    wue_l_per_kwh: float | None
    cooling_shortfall_hours: float
    design_it_power_w: float | None
    design_it_power_per_gpu_w: float | None
    it_power_per_gpu_mean_w: float | None
    peak_facility_power_w: float
    power_envelope_w: float
    peak_envelope_fraction: float
    energy_cost_usd: float
    demand_charge_usd: float
    battery_wear_usd: float
    carbon_kg: float
    carbon_market_kg: float
    grid_energy_j: float
    onsite_energy_j: float
    ppa_energy_j: float
    battery_discharge_j: float
    generator_energy_j: float
    generator_fuel_usd: float
    gpu_utilization_mean: float
    jobs_total: int
    jobs_finished: int
    tokens_trained: float
    capped_fraction: float
    failures: int
    spares_used: int
    jobs_preempted: int
    goodput_mean: float | None
    services_total: int
    requests_arrived: float
    requests_served: float
    requests_backlog: float
    slo_attainment: float | None
    tokens_generated: float
    service_availability: float | None
    fabric: FabricCounts
    networks: dict[str, dict[str, int]]
    cooling_plants: dict
    operation: dict | None
    grid_outages: dict | None
    power_redundancy: dict
    events_processed: int
    catalog_overrides: list[str] = field(default_factory=list)
    requests_abandoned: float = 0.0
    slo_attainment_min: float | None = None
    warnings: tuple[RunWarning, ...] = ()
    # Interruptions of jobs and services: unexpected ones by cause (failure class) and planned
    # maintenance drains; None without a failures or maintenance section.
    interruptions: dict | None = None
    storage: dict | None = None              # the storage tier's size, bandwidths and read demand
    monthly: tuple[MonthlyRow, ...] = ()        # dated runs only (simulation.start given)
    scheduling: dict | None = None       # the trace replay (engine/record_sched.py); absent without a trace
    sites: dict | None = None            # several sites (report/sites.py): each site's headline numbers

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        """A summary read back from summary.json (its keys exactly)."""
        return cls(**{**data, "fabric": FabricCounts(**data["fabric"]),
                      "warnings": tuple(RunWarning(**w) for w in data.get("warnings", ())),
                      "monthly": tuple(MonthlyRow(**m) for m in data.get("monthly", ()))})

    def to_dict(self) -> dict:
        out = asdict(self)
        out["warnings"] = list(out["warnings"])
        if self.monthly:
            out["monthly"] = list(out["monthly"])
        else:
            del out["monthly"]                   # undated runs: summary.json as before
        if out["scheduling"] is None:
            del out["scheduling"]           # scenarios without a trace keep their summary.json as before
        if out["sites"] is None:
            del out["sites"]                # single-site runs: summary.json as before
        return out

    def to_json(self) -> str:
        return dumps(self.to_dict())


@dataclass(frozen=True)
class Costs:
    """costs.json: capex by item, its amortisation over the horizon, opex, totals (USD) and unit
    costs; ``per_job`` and ``per_service`` are each workload's attributed share."""

    capex_usd: dict[str, float]
    amortised_usd: dict[str, float]
    opex_usd: dict[str, float]
    total_usd: float
    usd_per_gpu_hour: float | None
    usd_per_mtoken: float | None
    per_job: dict[str, float] = field(default_factory=dict)
    per_service: dict[str, float] = field(default_factory=dict)
    usd_per_mtoken_generated: float | None = None
    capex_items: list[dict] = field(default_factory=list)
    network_share_of_server_and_network_capex: float | None = None
    facility_capex_usd_per_w: float | None = None
    rental: dict | None = None
    capex_schedule: list[dict] = field(default_factory=list)   # phased build-out: when servers are booked
    per_site: dict | None = None         # several sites: each site's subtotals (report/sites.py)

    @classmethod
    def from_dict(cls, data: dict) -> Costs:
        """Costs read back from costs.json (its keys exactly)."""
        return cls(**data)

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["per_site"] is None:
            del out["per_site"]             # single-site runs: costs.json as before
        return out

    def to_json(self) -> str:
        return dumps(self.to_dict())
