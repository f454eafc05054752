"""Facility capex by item: building and white space, electrical at its redundancy, and cooling by
technology, each priced from the catalog (facility_costs.yaml, every price with its source) and
sized by the run's design loads (engine/record.py DesignRecord).

What each unit is sized by:
- w-it: design IT load (every GPU at TDP, hosts and fans at full load, support servers at max);
- w-ups: installed UPS capacity (peak IT / 0.8 x N, N+1 or 2N); w-generator: the peak facility
  load in the worst hour x the generators' redundancy (none: 0);
- w-plant-heat: the design heat of a loop whose plant is of the item's type (all plants for
  pumps and piping); w-chiller: the chiller capacity the loop's worst hour needs, times its
  redundancy (0 for a loop that never needs its chillers: a chiller-less design);
- w-room-heat, w-liquid-heat (cold plates through CDUs), w-immersion-heat, w-adiabatic-heat
  (dry coolers with adiabatic pads): the design heat on that path;
- rack, rear-door-rack: rack positions (all racks / racks with rear doors).
"""

from __future__ import annotations

from simulator.domain.catalog import Catalog
from simulator.engine.record import RunRecord
from simulator.scenario.redundancy import redundancy_factor
from simulator.scenario.schema import Scenario


def _quantities(scenario: Scenario, record: RunRecord) -> dict[tuple[str, str | None], float]:
    """(per, plant type or None) -> how many units the site has."""
    d = record.design
    assert d is not None, "a run record always carries its design"
    cool = scenario.cooling
    power = scenario.power
    gens = 0.0 if power.redundancy.generators == "none" else \
        d.peak_facility_w * redundancy_factor(power.redundancy.generators, power.ups_modules)
    q: dict[tuple[str, str | None], float] = {
        ("w-it", None): d.peak_it_w,
        ("w-ups", None): d.ups_capacity_w,
        ("w-generator", None): gens,
        ("w-room-heat", None): d.room_heat_w,
        ("w-liquid-heat", None): d.plate_heat_w,
        ("w-immersion-heat", None): d.immersion_heat_w,
        ("rack", None): float(sum(g.racks for g in record.groups)),
        ("rear-door-rack", None): float(sum(g.racks for g in record.groups if g.cooling == "rear-door")),
        ("w-plant-heat", None): d.air_heat_w + d.liquid_heat_w,
    }
    for plant, heat, chiller in ((cool.air_plant, d.air_heat_w, d.air_chiller_w),
                                 (cool.liquid_plant, d.liquid_heat_w, d.liquid_chiller_w)):
        factor = redundancy_factor(plant.redundancy, plant.units)
        q[("w-plant-heat", plant.type)] = q.get(("w-plant-heat", plant.type), 0.0) + heat * factor
        # Trim chillers of dry-cooler plants are air-cooled chillers.
        kind = "air-cooled-chiller" if plant.type == "dry-cooler" else plant.type
        q[("w-chiller", kind)] = q.get(("w-chiller", kind), 0.0) + chiller * factor
        if plant.type == "dry-cooler" and plant.adiabatic:
            q[("w-adiabatic-heat", "dry-cooler")] = q.get(("w-adiabatic-heat", "dry-cooler"), 0.0) + heat * factor
    return q


def facility_items(scenario: Scenario, catalog: Catalog, record: RunRecord) -> list[dict]:
    """The facility's capex items (category facility_building / _electrical / _cooling)."""
    overrides = scenario.costs.price_overrides
    per_watt = scenario.costs.facility_capex_per_watt
    d = record.design
    if d is None:
        return []
    if per_watt is not None:
        return [{"category": "facility_building", "item": "facility (one price per W of design IT)",
                 "quantity": d.peak_it_w, "unit_usd": per_watt, "usd": per_watt * d.peak_it_w,
                 "source": "costs.facility_capex_per_watt"}]
    q = _quantities(scenario, record)
    items = []
    for spec in catalog.facility_costs.entries:
        qty = q.get((spec.per, spec.plant), 0.0)
        if qty <= 0:
            continue
        price = float(overrides.get(spec.name, spec.price))
        items.append({"category": f"facility_{spec.category}", "item": f"{spec.category}: {spec.name}",
                      "quantity": qty, "unit_usd": price, "usd": price * qty, "source": spec.source})
    return items
