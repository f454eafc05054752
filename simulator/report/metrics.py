"""The headline metrics a planner reads, with what "better" means for each: the one table that
``dcsim compare`` (the CI gate), ``dcsim sweep`` (its columns) and the docs read.

Each metric names where it lives (summary.json or costs.json), its direction (``higher`` or
``lower`` is better; ``equal`` for numbers that describe the scenario itself, such as its GPU
count, where any change means two different scenarios are being compared), its default
tolerance (relative and absolute: a change is within tolerance when |current - baseline| <=
max(abs, rel * |baseline|)), its kind (how ``domain.units.human`` writes it) and a short label.

Default tolerances: 1% relative on energies, powers, money and throughput (a planner cannot act
on less; a deterministic run moves only when the code or the scenario does); 0.01 absolute on
fractions (one percentage point); 0.01 absolute on PUE; counts of discrete events exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from simulator.domain.units import finite, human

Direction = Literal["higher", "lower", "equal"]
Where = Literal["summary", "costs"]


@dataclass(frozen=True)
class Metric:
    """One comparable headline number and its default rule."""

    name: str
    where: Where
    better: Direction
    rel: float
    abs: float
    kind: str            # domain.units.human kind, or "ratio" / "count" / "tokens" / "requests"
    label: str
    training: bool = False   # only meaningful for runs with training jobs
    serving: bool = False    # only meaningful for runs with inference services

    def value(self, summary: Mapping[str, object], costs: Mapping[str, object]) -> object:
        """This metric's raw value in a run's summary and costs (a list counts its items)."""
        data = summary if self.where == "summary" else costs
        value = data.get(self.name)
        if isinstance(value, list | tuple):
            return len(value)
        return value

    def show(self, value: object) -> str:
        """The value for people, with its unit."""
        if self.kind == "ratio":
            return "—" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]
        if self.kind in ("count", "tokens", "requests"):
            number = finite(value)
            text = f"{number:,.0f}" if number is not None and abs(number) < 1e5 else human(value, "count")
            suffix = " tokens" if self.kind == "tokens" else ""
            return text if text == "—" else text + suffix
        number = finite(value)
        if self.kind == "money" and number is not None and 0 < abs(number) < 1:
            return f"{'-' if number < 0 else ''}${abs(number):.3g}"  # cents would read $0.00 per token
        return human(value, self.kind)

    def tolerance_text(self, rel: float, absolute: float) -> str:
        """'±1%', '±0.01', '±1% or ±0.5 kWh', 'exact'."""
        parts = []
        if rel > 0:
            parts.append(f"±{100 * rel:g}%")
        if absolute > 0:
            parts.append("±" + (f"{absolute:g}" if self.kind in ("ratio",) else
                                f"{100 * absolute:g} pt" if self.kind == "fraction" else self.show(absolute)))
        return " or ".join(parts) if parts else "exact"


def _m(name, where, better, rel, absolute, kind, label, **flags) -> Metric:
    return Metric(name, where, better, rel, absolute, kind, label, **flags)


PCT = 0.01  # one percent (relative)
PT = 0.01   # one percentage point (absolute, on a 0-1 fraction)

METRICS: tuple[Metric, ...] = (
    # The scenario itself: a change means the two runs are not of the same scenario.
    _m("gpus", "summary", "equal", 0, 0, "count", "accelerators"),
    _m("horizon_s", "summary", "equal", 0, 0, "time", "simulated span"),
    _m("power_envelope_w", "summary", "equal", 0, 0, "power", "power envelope"),
    _m("jobs_total", "summary", "equal", 0, 0, "count", "training jobs", training=True),
    _m("services_total", "summary", "equal", 0, 0, "count", "inference services", serving=True),
    # Energy, power, cooling.
    _m("facility_energy_j", "summary", "lower", PCT, 0, "energy", "facility energy"),
    _m("it_energy_j", "summary", "lower", PCT, 0, "energy", "IT energy"),
    _m("accelerator_energy_j", "summary", "lower", PCT, 0, "energy", "accelerator energy"),
    _m("host_energy_j", "summary", "lower", PCT, 0, "energy", "host energy"),
    _m("network_energy_j", "summary", "lower", PCT, 0, "energy", "network energy"),
    _m("server_fan_energy_j", "summary", "lower", PCT, 0, "energy", "server fan energy"),
    _m("support_energy_j", "summary", "lower", PCT, 0, "energy", "support server energy"),
    _m("cooling_energy_j", "summary", "lower", PCT, 0, "energy", "cooling energy"),
    _m("chiller_energy_j", "summary", "lower", PCT, 0, "energy", "chiller energy"),
    _m("heat_rejection_energy_j", "summary", "lower", PCT, 0, "energy", "heat rejection energy"),
    _m("air_handler_energy_j", "summary", "lower", PCT, 0, "energy", "air handler energy"),
    _m("pump_energy_j", "summary", "lower", PCT, 0, "energy", "pump energy"),
    _m("losses_energy_j", "summary", "lower", PCT, 0, "energy", "power-chain losses"),
    _m("other_energy_j", "summary", "lower", PCT, 0, "energy", "other facility energy"),
    _m("pue_mean", "summary", "lower", 0, 0.01, "ratio", "mean PUE"),
    _m("pue_max_sample", "summary", "lower", 0, 0.01, "ratio", "highest sample PUE"),
    _m("water_m3", "summary", "lower", PCT, 0.01, "volume", "water used"),
    _m("wue_l_per_kwh", "summary", "lower", 0, 0.01, "ratio", "WUE (L/kWh)"),
    _m("cooling_shortfall_hours", "summary", "lower", 0, 0.01, "ratio", "hours of cooling shortfall"),
    _m("design_it_power_w", "summary", "equal", PCT, 0, "power", "design IT power"),
    _m("design_it_power_per_gpu_w", "summary", "equal", PCT, 0, "power", "design IT power per GPU"),
    _m("it_power_per_gpu_mean_w", "summary", "lower", PCT, 0, "power", "mean IT power per GPU"),
    _m("peak_facility_power_w", "summary", "lower", PCT, 0, "power", "peak facility power"),
    _m("peak_envelope_fraction", "summary", "lower", 0, PT, "fraction", "peak / envelope"),
    _m("capped_fraction", "summary", "lower", 0, PT, "fraction", "samples capped"),
    _m("energy_cost_usd", "summary", "lower", PCT, 0, "money", "energy cost"),
    _m("demand_charge_usd", "summary", "lower", PCT, 0.01, "money", "demand charges"),
    _m("battery_wear_usd", "summary", "lower", PCT, 0.01, "money", "battery wear"),
    _m("generator_fuel_usd", "summary", "lower", PCT, 0.01, "money", "generator fuel"),
    _m("carbon_kg", "summary", "lower", PCT, 0, "mass", "carbon (kg CO2e)"),
    _m("carbon_market_kg", "summary", "lower", PCT, 0, "mass", "carbon, market-based (kg CO2e)"),
    _m("grid_energy_j", "summary", "lower", PCT, 0, "energy", "grid energy"),
    _m("onsite_energy_j", "summary", "higher", PCT, 0, "energy", "on-site generation used"),
    _m("ppa_energy_j", "summary", "higher", PCT, 0, "energy", "PPA energy"),
    _m("battery_discharge_j", "summary", "equal", PCT, 0, "energy", "battery discharge"),
    _m("generator_energy_j", "summary", "lower", PCT, 0, "energy", "generator energy"),
    _m("gpu_utilization_mean", "summary", "higher", 0, PT, "fraction", "mean GPU utilisation"),
    # Training.
    _m("jobs_finished", "summary", "higher", 0, 0, "count", "jobs finished", training=True),
    _m("tokens_trained", "summary", "higher", PCT, 0, "tokens", "tokens trained", training=True),
    _m("goodput_mean", "summary", "higher", 0, PT, "fraction", "mean goodput", training=True),
    # Reliability.
    _m("failures", "summary", "lower", 0, 0, "count", "node failures"),
    _m("spares_used", "summary", "lower", 0, 0, "count", "hot spares used"),
    _m("jobs_preempted", "summary", "lower", 0, 0, "count", "jobs preempted", training=True),
    # Serving.
    _m("requests_arrived", "summary", "equal", PCT, 0, "requests", "requests arrived", serving=True),
    _m("requests_served", "summary", "higher", PCT, 0, "requests", "requests served", serving=True),
    _m("requests_abandoned", "summary", "lower", PCT, 1.0, "requests", "requests abandoned", serving=True),
    _m("requests_backlog", "summary", "lower", PCT, 1.0, "requests", "backlog at end", serving=True),
    _m("slo_attainment", "summary", "higher", 0, PT, "fraction", "SLO attainment", serving=True),
    _m("slo_attainment_min", "summary", "higher", 0, PT, "fraction", "worst service's SLO attainment",
       serving=True),
    _m("tokens_generated", "summary", "higher", PCT, 0, "tokens", "tokens generated", serving=True),
    _m("service_availability", "summary", "higher", 0, PT, "fraction", "service availability", serving=True),
    # Run health and cost of simulating (fewer events: a faster simulation).
    _m("warnings", "summary", "lower", 0, 0, "count", "warnings"),
    _m("events_processed", "summary", "lower", 0.10, 0, "count", "simulation events"),
    # Money.
    _m("total_usd", "costs", "lower", PCT, 0, "money", "total cost"),
    _m("usd_per_gpu_hour", "costs", "lower", PCT, 0, "money", "cost per GPU-hour"),
    _m("usd_per_mtoken", "costs", "lower", PCT, 0, "money", "cost per million training tokens", training=True),
    _m("usd_per_mtoken_generated", "costs", "lower", PCT, 0, "money", "cost per million generated tokens",
       serving=True),
    _m("network_share_of_server_and_network_capex", "costs", "equal", 0, PT, "fraction",
       "network share of server + network capex"),
    _m("facility_capex_usd_per_w", "costs", "equal", PCT, 0, "money", "facility capex per W of IT"),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
