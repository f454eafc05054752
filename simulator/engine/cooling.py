"""The cooling plant: two water loops, each rejecting its heat through one technology
(scenario/facility.py), with chillers from their catalog curves (engine/chillers.py).

Each loop supplies water at ``supply`` and gets it back ``return_delta`` warmer. A free-cooling
device (dry cooler, free-cooling coil, or cooling tower through a heat exchanger) makes water
at T_fc = its air (or wet-bulb) temperature + its approach; in series ahead of the chiller it
pre-cools the return water, so it takes the share

    f = clip((T_return - T_fc) / (T_return - T_supply), 0, 1)

of the heat, and the chiller the rest at its COP for the hour's condenser temperature (outdoor
dry bulb for air-cooled chillers, wet bulb + tower approach for water-cooled ones) and its
part-load ratio (units stage on and off with the load). Fans of the free-cooling device run at
the airflow the hour needs (colder air needs less; power follows the cube of airflow);
distribution pumps draw a fixed share of the heat. Towers evaporate the heat they reject
(Q / h_fg, plus blowdown evaporation / (CC - 1)); adiabatic dry coolers evaporate water into
their inlet air only in the hours and to the extent they need it.

Everything that depends only on the weather is computed once per hour (``LoopHours``); a call
at run time does a few arithmetic steps per loop. Functions broadcast over NumPy arrays, so
the same code prices one moment or a whole year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.domain import psychro
from simulator.domain.catalog import Catalog
from simulator.domain.specs import ChillerSpec
from simulator.engine import chillers
from simulator.scenario.facility import (
    AirCooledChillerPlant,
    Cooling,
    DryCoolerPlant,
    WaterCooledChillerPlant,
)

WATER_KG_PER_M3 = 1000.0
# ASHRAE 90.1-2019 Appendix G baseline distribution pump power, 22 W per gpm of water, divided
# by the heat one gpm carries per K of rise (6.309e-5 m3/s x 1000 kg/m3 x 4186 J/kg/K = 264 W/K).
PUMP_W_PER_GPM = 22.0
GPM_HEAT_W_PER_K = 6.309e-5 * WATER_KG_PER_M3 * 4186.0
LIQUID_SUPPLY_C = 32.0  # ASHRAE W32 facility water
DEFAULT_RETURN_DELTA = {"air": 6.0, "liquid": 10.0}


@dataclass(frozen=True)
class LoopHours:
    """One loop's hour-by-hour response to the weather (arrays one value per hour)."""

    role: str
    type: str
    supply_c: float
    return_c: float
    design_w: float
    units: int
    chiller: ChillerSpec | None
    pump_fraction: float
    fan_fraction: float
    tower: WaterCooledChillerPlant | None
    free_dry: np.ndarray
    free_wet: np.ndarray
    airflow_dry: np.ndarray
    airflow_wet: np.ndarray
    cop: np.ndarray
    wet_water_m3_per_j: np.ndarray     # adiabatic water per J of loop heat, at the wet state
    tower_water_m3_per_j: np.ndarray   # tower make-up water per J rejected


def free_fraction(t_free_c, supply_c: float, return_c: float) -> np.ndarray:
    """Share of the loop heat a free-cooling device making water at ``t_free_c`` takes."""
    return np.clip((return_c - np.asarray(t_free_c, dtype=np.float64)) / (return_c - supply_c), 0.0, 1.0)


def airflow_fraction(t_air_c, supply_c: float, return_c: float, approach: float) -> np.ndarray:
    """Airflow a free-cooling device needs as a share of its design: full when its air is at or
    above the temperature that just makes the supply (supply - approach), less in colder air in
    proportion to the air-to-water temperature difference."""
    design_air = supply_c - approach
    t = np.asarray(t_air_c, dtype=np.float64)
    return np.clip((return_c - design_air) / np.maximum(return_c - t, 1e-9), 0.0, 1.0)


def loop_hours(plant, role: str, dry_bulb_c, wet_bulb_c, design_w: float, catalog: Catalog,
               cooling: Cooling) -> LoopHours:
    """Precompute a loop's free-cooling share, fan airflow, chiller COP and water per hour."""
    dry = np.asarray(dry_bulb_c, dtype=np.float64)
    wet = np.minimum(np.asarray(wet_bulb_c, dtype=np.float64), dry)
    if plant.supply is not None:
        supply = float(plant.supply)
    else:
        supply = cooling.supply_air - cooling.coil_approach if role == "air" else LIQUID_SUPPLY_C
    delta = float(plant.return_delta) if plant.return_delta is not None else DEFAULT_RETURN_DELTA[role]
    ret = supply + delta
    pumps = plant.pump_fraction if plant.pump_fraction is not None else PUMP_W_PER_GPM / (GPM_HEAT_W_PER_K * delta)
    zeros = np.zeros(dry.shape)
    never = np.full(dry.shape, np.inf)
    chiller_name = getattr(plant, "chiller", None) if not isinstance(plant, DryCoolerPlant) else plant.trim_chiller
    chiller = catalog.chillers.get(chiller_name) if chiller_name else None
    tower = None
    wet_water = zeros
    tower_water = zeros
    if isinstance(plant, AirCooledChillerPlant):
        t_free = dry + plant.free_cooling_approach if plant.free_cooling else never
        free_dry = free_wet = free_fraction(t_free, supply, ret)
        airflow_dry = airflow_wet = airflow_fraction(dry, supply, ret, plant.free_cooling_approach)
        condenser = dry
        fan = plant.fan_fraction if plant.free_cooling else 0.0
    elif isinstance(plant, WaterCooledChillerPlant):
        tower = plant
        t_free = wet + plant.tower_approach + plant.economiser_approach if plant.economiser else never
        free_dry = free_wet = free_fraction(t_free, supply, ret)
        airflow_dry = airflow_wet = np.ones(dry.shape)
        condenser = wet + plant.tower_approach
        fan = 0.0
        cc = plant.cycles_of_concentration
        tower_water = cc / (cc - 1.0) / psychro.latent_heat_j_per_kg(condenser) / WATER_KG_PER_M3
    elif isinstance(plant, DryCoolerPlant):
        free_dry = free_fraction(dry + plant.approach, supply, ret)
        airflow_dry = airflow_fraction(dry, supply, ret, plant.approach)
        condenser = dry
        fan = plant.fan_fraction
        if plant.adiabatic:
            depression = plant.adiabatic_effectiveness * (dry - wet)
            short = dry + plant.approach - supply
            share = np.where(short <= 0.0, 0.0, np.clip(short / np.maximum(depression, 1e-9), 0.0, 1.0))
            inlet = dry - share * depression
            free_wet = free_fraction(inlet + plant.approach, supply, ret)
            airflow_wet = airflow_fraction(inlet, supply, ret, plant.approach)
            wet_water = share * depression / plant.air_range / psychro.latent_heat_j_per_kg(wet) / WATER_KG_PER_M3
        else:
            free_wet, airflow_wet = free_dry, airflow_dry
    else:  # pragma: no cover - the schema admits only the three types
        raise TypeError(f"unsupported plant {type(plant).__name__}")
    cop = chillers.full_load_cop(chiller, supply, condenser) if chiller is not None else never
    return LoopHours(role, plant.type, supply, ret, float(design_w), plant.units, chiller, float(pumps),
                     float(fan), tower, free_dry, free_wet, airflow_dry, airflow_wet, cop, wet_water, tower_water)


def loop_power(loop: LoopHours, heat_w, hour, water_share=1.0) -> dict[str, np.ndarray]:
    """Power (W) and water (m3/s) of one loop removing ``heat_w`` in ``hour`` (broadcast).

    ``water_share`` in [0, 1] is the share of its wanted adiabatic water the loop may use (a
    water limit); it runs between its dry and wet states in proportion. Returns ``chiller_w``,
    ``rejection_w`` (free-cooling fans and tower fans), ``pump_w`` (distribution and condenser
    pumps), ``water_m3_per_s``, ``free_fraction`` and ``shortfall_w`` (heat a loop without a
    chiller could not bring down to its supply temperature).
    """
    q = np.asarray(heat_w, dtype=np.float64)
    h = np.asarray(hour)
    share = np.asarray(water_share, dtype=np.float64)
    free = loop.free_dry[h] + share * (loop.free_wet[h] - loop.free_dry[h])
    airflow = loop.airflow_dry[h] + share * (loop.airflow_wet[h] - loop.airflow_dry[h])
    mech = (1.0 - free) * q
    if loop.chiller is not None and loop.design_w > 0:
        unit = loop.design_w / loop.units
        running = np.maximum(np.ceil(mech / unit - 1e-9), 1.0)
        plr = mech / (running * unit)
        cop = loop.cop[h] * chillers.part_load_factor(loop.chiller, plr)
        chiller_w = mech / cop
        shortfall = np.zeros(np.shape(mech))
    else:
        chiller_w = np.zeros(np.shape(mech))
        shortfall = mech
    fans = np.where(free > 0.0, loop.fan_fraction * q * airflow ** 3, 0.0)
    fans = np.where(np.asarray(loop.chiller is None) & (shortfall > 0), loop.fan_fraction * q, fans)
    pumps = loop.pump_fraction * q
    water = share * loop.wet_water_m3_per_j[h] * q
    if loop.tower is not None:
        rejected = q + chiller_w
        fans = fans + loop.tower.tower_fan_fraction * rejected
        pumps = pumps + loop.tower.condenser_pump_fraction * rejected
        water = water + loop.tower_water_m3_per_j[h] * rejected
    return {"chiller_w": chiller_w, "rejection_w": fans, "pump_w": pumps, "water_m3_per_s": water,
            "free_fraction": free, "shortfall_w": shortfall}


def loop_power_at(loop: LoopHours, heat_w: float, hour: int, water_share: float = 1.0) -> tuple[float, ...]:
    """``loop_power`` for one moment in plain floats (the engine's hot path, ~20x faster than
    NumPy on scalars): (chiller_w, rejection_w, pump_w, water_m3_per_s, free_fraction, shortfall_w)."""
    q = float(heat_w)
    fd = float(loop.free_dry[hour])
    free = fd + water_share * (float(loop.free_wet[hour]) - fd)
    ad = float(loop.airflow_dry[hour])
    airflow = ad + water_share * (float(loop.airflow_wet[hour]) - ad)
    mech = (1.0 - free) * q
    chiller_w = shortfall = 0.0
    if loop.chiller is not None and loop.design_w > 0:
        unit = loop.design_w / loop.units
        running = max(math.ceil(mech / unit - 1e-9), 1.0)
        plr = max(mech / (running * unit), loop.chiller.min_plr)
        a, b, c = loop.chiller.eir_fplr
        chiller_w = mech / (float(loop.cop[hour]) * plr / (a + b * plr + c * plr * plr)) if mech > 0 else 0.0
    else:
        shortfall = mech
    fans = loop.fan_fraction * q * airflow ** 3 if free > 0.0 else 0.0
    if loop.chiller is None and shortfall > 0:
        fans = loop.fan_fraction * q
    pumps = loop.pump_fraction * q
    water = water_share * float(loop.wet_water_m3_per_j[hour]) * q
    if loop.tower is not None:
        rejected = q + chiller_w
        fans += loop.tower.tower_fan_fraction * rejected
        pumps += loop.tower.condenser_pump_fraction * rejected
        water += float(loop.tower_water_m3_per_j[hour]) * rejected
    return chiller_w, fans, pumps, water, free, shortfall
