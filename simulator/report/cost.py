"""Money: capex by item and its amortisation over the horizon, energy, water and maintenance
opex, unit costs ($/GPU-hour, $/million tokens, $ per training run), and the rental bill for
the same work.

Capex items (each with quantity, unit price and source in ``capex_items``):
- servers: accelerator nodes at their catalog price, less the NICs counted under network;
- support: storage, management, fabric-manager and login servers;
- network: every network's switches, transceivers, cables and NICs (engine/networks.py);
- facility: building and white space, electrical (switchgear, UPS and generators at their
  redundancy, distribution) and cooling by technology (catalog facility_costs), or one
  ``facility_capex_per_watt`` price when the scenario gives one.
Straight-line amortisation: an item costing C over Y years charges C * horizon / Y to a run.
Maintenance is a yearly share of capex. Energy is priced hour by hour (Recorder).

Phased build-out (rack groups with ``available_from`` / ``retire_at``): a group's servers are
booked when they arrive (``capex_schedule``) and charged only while in service within the
horizon, at most their amortisation life: price x charge per year x in-service years; their
maintenance runs while in service. Networks, support servers and the facility are built on
day one. GPU-hours count the accelerators in service.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from simulator.domain.catalog import Catalog
from simulator.engine.record import RunRecord
from simulator.report.facility_capex import facility_items
from simulator.report.results import Costs, Summary, present
from simulator.scenario.schema import Scenario

YEAR_S = 365.0 * 86400.0


def capital_charge_per_year(capex_usd: float, life_years: float, residual_fraction: float = 0.0,
                            cost_of_capital: float = 0.0) -> float:
    """What owning ``capex_usd`` costs a year over its life: the annuity that repays it less the
    present value of what it is worth at the end, at ``cost_of_capital`` a year (the capital
    recovery factor r / (1 - (1 + r)^-n)); with no cost of capital, straight-line depreciation
    to the residual value, (C - S) / n."""
    residual = capex_usd * residual_fraction
    if cost_of_capital <= 0:
        return (capex_usd - residual) / life_years
    r, n = cost_of_capital, life_years
    return (capex_usd - residual * (1 + r) ** -n) * r / (1 - (1 + r) ** -n)
CAPEX_CATEGORIES = ("servers", "support", "network", "facility_building", "facility_electrical", "facility_cooling",
                    "energy_assets")


def _price(name: str, default: float, overrides: dict[str, float]) -> float:
    return float(overrides.get(name, default))


def in_service_s(group, horizon_s: float) -> float:
    """Seconds a rack group is in service within [0, horizon]."""
    return max(0.0, min(group.retire_s, horizon_s) - min(group.available_from_s, horizon_s))


def server_shares(scenario: Scenario, record: RunRecord) -> tuple[float, float]:
    """The servers' (depreciation, maintenance) time as a share of the horizon, weighted by each
    group's price: depreciation counts in-service time up to the amortisation life."""
    horizon = record.horizon_s
    life_s = scenario.costs.server_amortisation_years * YEAR_S
    gross = [_price(g.node.name, g.node.price, scenario.costs.price_overrides) * g.nodes_total
             for g in record.groups]
    total = sum(gross) * horizon
    if total <= 0:
        return 1.0, 1.0
    served = [in_service_s(g, horizon) for g in record.groups]
    dep = sum(c * min(t, life_s) for c, t in zip(gross, served, strict=True)) / total
    return dep, sum(c * t for c, t in zip(gross, served, strict=True)) / total


def capex_schedule(scenario: Scenario, record: RunRecord) -> list[dict]:
    """When each rack group's servers are booked: (at_s, group, usd), delivery order; groups
    arriving after the horizon are listed with ``in_horizon`` false."""
    rows = []
    for g in record.groups:
        usd = _price(g.node.name, g.node.price, scenario.costs.price_overrides) * g.nodes_total
        rows.append({"at_s": g.available_from_s, "group": g.name, "usd": usd, "racks": g.racks,
                     "gpus": g.gpus_total, "retire_s": g.retire_s, "in_horizon": g.available_from_s < record.horizon_s})
    return sorted(rows, key=lambda r: (r["at_s"], r["group"]))


def capex_items(scenario: Scenario, catalog: Catalog, record: RunRecord) -> list[dict]:
    """Every purchased item: category, name, quantity, unit price (USD), total, source."""
    overrides = scenario.costs.price_overrides
    items = []
    nic_usd = 0.0
    for item in record.fabric.items:
        price = _price(item.name, item.unit_price_usd, overrides)
        source = (catalog.nics.get(item.name) if item.kind == "nic" else
                  catalog.switches.get(item.name) if item.kind == "switch" else catalog.optics.get(item.name)).source
        items.append({"category": "network", "item": f"{item.network} {item.kind}: {item.name}",
                      "quantity": float(item.count), "unit_usd": price, "usd": price * item.count, "source": source})
        if item.kind == "nic":
            nic_usd += price * item.count
    for g in record.groups:
        price = _price(g.node.name, g.node.price, overrides)
        items.append({"category": "servers", "item": f"node: {g.node.name}", "quantity": float(g.nodes_total),
                      "unit_usd": price, "usd": price * g.nodes_total, "source": g.node.source})
    if nic_usd and items:
        # The node price includes its adapters; they are counted under network.
        items.append({"category": "servers", "item": "NICs counted under network", "quantity": 1.0,
                      "unit_usd": -nic_usd, "usd": -nic_usd, "source": "moved to the network items"})
    for s in record.support:
        price = _price(s.name, s.price_usd, overrides)
        items.append({"category": "support", "item": f"support server: {s.name}", "quantity": float(s.count),
                      "unit_usd": price, "usd": price * s.count, "source": catalog.servers.get(s.name).source})
    if scenario.storage is not None and scenario.storage.capex > 0:
        st = scenario.storage
        items.append({"category": "support", "item": f"storage: {st.kind}", "quantity": 1.0, "unit_usd": st.capex,
                      "usd": st.capex, "source": st.source or "the scenario's storage section"})
    items += facility_items(scenario, catalog, record)
    items += energy_asset_items(scenario)
    return items


def energy_asset_items(scenario: Scenario) -> list[dict]:
    """A battery (per kWh of capacity) and owned on-site generation (per W), each with its own
    amortisation period (``years``)."""
    op = scenario.operation
    if op is None:
        return []
    items = []
    if op.battery is not None:
        b = op.battery
        items.append({"category": "energy_assets", "item": "battery", "quantity": b.capacity / 3.6e6,
                      "unit_usd": b.capex * 3.6e6, "usd": b.capex * b.capacity, "years": b.amortisation_years,
                      "source": "operation.battery.capex (default BNEF 2024 turnkey $165/kWh), per kWh"})
    for gen in op.onsite:
        if gen.capex > 0:
            items.append({"category": "energy_assets", "item": f"on-site {gen.kind}: {gen.name}",
                          "quantity": gen.capacity, "unit_usd": gen.capex, "usd": gen.capex * gen.capacity,
                          "years": gen.amortisation_years, "source": f"operation.onsite ({gen.name}).capex, per W"})
    return items


def capex_usd(scenario: Scenario, catalog: Catalog, record: RunRecord) -> dict[str, float]:
    """Purchase cost by category: servers, support, network, facility (building, electrical,
    cooling), total."""
    out = dict.fromkeys(CAPEX_CATEGORIES, 0.0)
    for item in capex_items(scenario, catalog, record):
        out[item["category"]] += item["usd"]
    out["servers"] = max(out["servers"], 0.0)
    out["total"] = sum(out.values())
    return out


class UnitCosts(TypedDict):
    """Costs per unit of output (costs.json fields of the same names)."""

    usd_per_mtoken: float | None
    usd_per_mtoken_generated: float | None
    network_share_of_server_and_network_capex: float | None
    facility_capex_usd_per_w: float | None


def unit_costs(total_usd: float, per_service: dict[str, float], tokens: float, generated: float,
               capex: dict[str, float], design_it_w: float) -> UnitCosts:
    """The costs per unit of output, from the totals (one site's, or several sites' added up)."""
    served_usd = sum(per_service.values())
    servers_and_network = capex.get("servers", 0.0) + capex.get("network", 0.0)
    facility = sum(capex.get(k, 0.0) for k in ("facility_building", "facility_electrical", "facility_cooling"))
    return UnitCosts(
        # Training tokens bear the site's cost less what the inference services were attributed.
        usd_per_mtoken=(total_usd - served_usd) / (tokens / 1e6) if tokens > 0 else None,
        usd_per_mtoken_generated=served_usd / (generated / 1e6) if generated > 0 else None,
        network_share_of_server_and_network_capex=capex.get("network", 0.0) / servers_and_network
        if servers_and_network > 0 else None,
        facility_capex_usd_per_w=facility / design_it_w if design_it_w > 0 else None,
    )


def _attributed_usd(gpus: int, start_s: float, end_s: float, energy_j: float, fixed_per_gpu_s: float,
                    pue: float, price_usd_per_j: float) -> float:
    """A workload's share of the bill: the fixed cost of the GPUs it held, and its IT energy
    grossed up by the site's PUE at the run's mean price."""
    if not np.isfinite(start_s):
        return 0.0
    return gpus * (end_s - start_s) * fixed_per_gpu_s + energy_j * pue * price_usd_per_j


def rental_report(scenario: Scenario, record: RunRecord, timeseries, owned_usd: float, tokens: float) -> dict | None:
    """What renting the GPUs the work held would have cost: on demand for the GPU-hours held, or
    committed (the most GPUs held at once, for the whole horizon, at the discount)."""
    rental = scenario.costs.rental
    if rental is None:
        return None
    t = timeseries["t_s"].to_numpy()
    dt = np.diff(np.concatenate([[0.0], t]))
    held_gpu_s = float(np.sum(timeseries["gpus_allocated"].to_numpy() * dt))
    peak = float(timeseries["gpus_allocated"].max()) if len(t) else 0.0
    on_demand = held_gpu_s * rental.price
    committed = peak * record.horizon_s * rental.price * (1.0 - rental.discount) if rental.commitment > 0 else None
    bill = on_demand if committed is None else min(on_demand, committed)
    return {
        "gpu_hours_held": held_gpu_s / 3600.0,
        "on_demand_usd": on_demand,
        "committed_usd": committed,
        "rental_usd": bill,
        "owned_usd": owned_usd,
        "owned_over_rental": owned_usd / bill if bill > 0 else None,
        "rental_usd_per_mtoken": bill / (tokens / 1e6) if tokens > 0 else None,
    }


def cost_report(scenario: Scenario, catalog: Catalog, record: RunRecord, summary: Summary, jobs,
                services=None, timeseries=None) -> Costs:
    """costs.json (a ``Costs``): capex, amortised capex, opex, totals and unit costs."""
    c = scenario.costs
    horizon = record.horizon_s
    items = capex_items(scenario, catalog, record)
    capex = capex_usd(scenario, catalog, record)
    years = {"servers": c.server_amortisation_years, "support": c.server_amortisation_years,
             "network": c.network_amortisation_years, "facility_building": c.facility_amortisation_years,
             "facility_electrical": c.facility_amortisation_years, "facility_cooling": c.facility_amortisation_years}
    share = {k: capital_charge_per_year(1.0, years[k], c.residual_value, c.cost_of_capital) * horizon / YEAR_S
             for k in years}
    dep_share, service_share = server_shares(scenario, record)
    amortised = {k: capex[k] * share[k] for k in years}
    amortised["servers"] *= dep_share
    amortised["energy_assets"] = sum(capital_charge_per_year(i["usd"], i["years"], c.residual_value,
                                                             c.cost_of_capital) * horizon / YEAR_S for i in items
                                     if i["category"] == "energy_assets")
    amortised["total"] = sum(v for k, v in amortised.items() if k != "total")
    maintained = capex["total"] - capex["servers"] * (1.0 - service_share)
    maintenance = c.maintenance_fraction_per_year * maintained * horizon / YEAR_S
    energy = summary.energy_cost_usd
    water = summary.water_m3 * c.water_price
    demand = summary.demand_charge_usd
    wear = summary.battery_wear_usd
    fuel = summary.generator_fuel_usd
    opex = {"energy": energy, "demand_charge": demand, "battery_wear": wear, "generator_fuel": fuel, "water": water,
            "maintenance": maintenance}
    opex["total"] = sum(opex.values())
    total = amortised["total"] + opex["total"]
    gpus = summary.gpus
    gpu_s = sum(g.gpus_total * in_service_s(g, horizon) for g in record.groups)
    gpu_hours = gpu_s / 3600.0
    tokens = summary.tokens_trained
    per_job = {}
    fixed_per_gpu_s = (amortised["total"] + maintenance) / gpu_s if gpus and gpu_s > 0 else 0.0
    facility_j = summary.facility_energy_j
    mean_price = (energy + demand + wear + fuel + water) / facility_j if facility_j > 0 else 0.0
    pue = summary.pue_mean if summary.pue_mean is not None else 1.0
    for _, row in jobs.iterrows():
        end = row["end_s"] if np.isfinite(row["end_s"]) else horizon
        per_job[row["job"]] = _attributed_usd(row["gpus"], row["start_s"], end, row["energy_j"],
                                              fixed_per_gpu_s, pue, mean_price)
    per_service = {}
    for _, row in (services.iterrows() if services is not None else ()):
        per_service[row["service"]] = _attributed_usd(row["gpus"], row["start_s"], horizon, row["energy_j"],
                                                      fixed_per_gpu_s, pue, mean_price)
    design_it = record.design.peak_it_w if record.design else 0.0
    return Costs(
        capex_usd=capex,
        amortised_usd=amortised,
        opex_usd=opex,
        total_usd=total,
        usd_per_gpu_hour=present(total / gpu_hours) if gpu_hours else None,
        per_job=per_job,
        per_service=per_service,
        capex_items=items,
        **unit_costs(total, per_service, tokens, summary.tokens_generated, capex, design_it),
        rental=rental_report(scenario, record, timeseries, total, tokens) if timeseries is not None else None,
        capex_schedule=capex_schedule(scenario, record) if any(
            g.available_from_s > 0 or np.isfinite(g.retire_s) for g in record.groups) else [],
    )
