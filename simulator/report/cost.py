"""Money: capex by item and its amortisation over the horizon, energy and maintenance opex,
and unit costs ($/GPU-hour, $/million tokens, $ per training run).

Straight-line amortisation: an item costing C over Y years charges C * horizon / Y to a run.
Maintenance is a yearly share of capex. Energy is priced hour by hour (Recorder).
"""

from __future__ import annotations

import numpy as np

from simulator.domain.catalog import Catalog
from simulator.engine.record import RunRecord
from simulator.report.results import Costs, Summary, present
from simulator.scenario.schema import Scenario

YEAR_S = 365.0 * 86400.0


def _price(name: str, default: float, overrides: dict[str, float]) -> float:
    return float(overrides.get(name, default))


def capex_usd(scenario: Scenario, catalog: Catalog, record: RunRecord) -> dict[str, float]:
    """Purchase cost by item: servers (with accelerators), network, facility."""
    sc = scenario
    overrides = sc.costs.price_overrides
    servers = 0.0
    for g in record.groups:
        servers += g.nodes_total * _price(g.node.name, g.node.price, overrides)
    fabric = record.fabric
    switch = catalog.switches.get(sc.cluster.fabric.switch)
    optic = catalog.optics.get(sc.cluster.fabric.optic)
    network = (fabric.switches * _price(switch.name, switch.price, overrides)
               + fabric.optics * _price(optic.name, optic.price, overrides))
    peak_it = sum(g.peak_power_w for g in record.groups) + fabric.power_w
    facility = sc.costs.facility_capex_per_watt * peak_it
    return {"servers": servers, "network": network, "facility": facility,
            "total": servers + network + facility}


def _attributed_usd(gpus: int, start_s: float, end_s: float, energy_j: float, fixed_per_gpu_s: float,
                    pue: float, price_usd_per_j: float) -> float:
    """A workload's share of the bill: the fixed cost of the GPUs it held, and its IT energy
    grossed up by the site's PUE at the run's mean price."""
    if not np.isfinite(start_s):
        return 0.0
    return gpus * (end_s - start_s) * fixed_per_gpu_s + energy_j * pue * price_usd_per_j


def cost_report(scenario: Scenario, catalog: Catalog, record: RunRecord, summary: Summary, jobs,
                services=None) -> Costs:
    """costs.json (a ``Costs``): capex, amortised capex, opex, totals and unit costs."""
    c = scenario.costs
    horizon = record.horizon_s
    capex = capex_usd(scenario, catalog, record)
    years = {"servers": c.server_amortisation_years, "network": c.network_amortisation_years,
             "facility": c.facility_amortisation_years}
    amortised = {k: capex[k] * horizon / (years[k] * YEAR_S) for k in years}
    amortised["total"] = sum(amortised[k] for k in years)
    maintenance = c.maintenance_fraction_per_year * capex["total"] * horizon / YEAR_S
    energy = record.energy_cost_usd
    opex = {"energy": energy, "maintenance": maintenance, "total": energy + maintenance}
    total = amortised["total"] + opex["total"]
    gpus = summary.gpus
    gpu_hours = gpus * horizon / 3600.0
    tokens = summary.tokens_trained
    per_job = {}
    fixed_per_gpu_s = (amortised["total"] + maintenance) / (gpus * horizon) if gpus and horizon else 0.0
    facility_j = summary.facility_energy_j
    mean_price = energy / facility_j if facility_j > 0 else 0.0
    pue = summary.pue_mean if summary.pue_mean is not None else 1.0
    for _, row in jobs.iterrows():
        end = row["end_s"] if np.isfinite(row["end_s"]) else horizon
        per_job[row["job"]] = _attributed_usd(row["gpus"], row["start_s"], end, row["energy_j"],
                                              fixed_per_gpu_s, pue, mean_price)
    per_service = {}
    for _, row in (services.iterrows() if services is not None else ()):
        per_service[row["service"]] = _attributed_usd(row["gpus"], row["start_s"], horizon, row["energy_j"],
                                                      fixed_per_gpu_s, pue, mean_price)
    generated = summary.tokens_generated
    return Costs(
        capex_usd=capex,
        amortised_usd=amortised,
        opex_usd=opex,
        total_usd=total,
        usd_per_gpu_hour=present(total / gpu_hours) if gpu_hours else None,
        # Training tokens bear the site's cost less what the inference services were attributed.
        usd_per_mtoken=(total - sum(per_service.values())) / (tokens / 1e6) if tokens > 0 else None,
        per_job=per_job,
        per_service=per_service,
        usd_per_mtoken_generated=sum(per_service.values()) / (generated / 1e6) if generated > 0 else None,
    )
