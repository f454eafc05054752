"""Cooling plant power from the heat it removes and the outdoor temperature (vectorised numpy).

Air side: CRAH/CRAC fans move the air-cooled heat (power = ``air_fan_fraction`` * heat); the heat
is then rejected by the economiser (free cooling, power = ``economiser_power_fraction`` * heat)
below ``economiser_below``, by the chiller (power = heat / COP(T)) above ``economiser_below +
economiser_band``, and by a linear blend of the two in between.
Liquid side (direct liquid cooling): pumps (``liquid_pump_fraction`` * heat), then dry coolers
(economiser power fraction) below ``liquid_dry_cooler_below``, else the chiller.
The heat of the fans and pumps themselves is not added to the heat rejected: their power
fractions are meant as plant-level figures that already include it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from simulator.scenario.schema import Chiller, Cooling


def split_heat(rack_heat_w, cooling_type: Literal["air", "liquid"],
               liquid_capture: float) -> tuple[np.ndarray, np.ndarray]:
    """(air_heat_w, liquid_heat_w) of racks: a liquid-cooled rack sends ``liquid_capture`` of its
    heat to the liquid loop and the rest (memory, power supplies, NICs) to the room air."""
    heat_w = np.asarray(rack_heat_w, dtype=np.float64)
    if cooling_type == "air":
        return heat_w.copy(), np.zeros_like(heat_w)
    if cooling_type == "liquid":
        if not 0.0 <= liquid_capture <= 1.0:
            raise ValueError(f"liquid_capture must be in [0, 1], got {liquid_capture!r}")
        liquid_w = heat_w * liquid_capture
        return heat_w - liquid_w, liquid_w
    raise ValueError(f"cooling_type must be 'air' or 'liquid', got {cooling_type!r}")


def chiller_cop(outdoor_c, chiller: Chiller) -> np.ndarray:
    """Chiller COP at outdoor temperature: linear fall above the reference, floored at min_cop.

    COP(T) = max(min_cop, cop_at_reference - cop_slope_per_c * (T - reference_temperature));
    below the reference it keeps rising along the same line (condensing at a lower temperature).
    """
    outdoor = np.asarray(outdoor_c, dtype=np.float64)
    above_c = outdoor - chiller.reference_temperature
    linear = chiller.cop_at_reference - chiller.cop_slope_per_c * above_c
    return np.maximum(chiller.min_cop, linear)


def free_cooling_fraction(outdoor_c, cooling: Cooling) -> np.ndarray:
    """Share of the air-side heat the economiser rejects: 1 at or below ``economiser_below``,
    0 at or above ``economiser_below + economiser_band``, linear in between (a step at
    ``economiser_below`` when the band is 0)."""
    outdoor = np.asarray(outdoor_c, dtype=np.float64)
    if cooling.economiser_band <= 0.0:
        return np.where(outdoor <= cooling.economiser_below, 1.0, 0.0)
    above = (outdoor - cooling.economiser_below) / cooling.economiser_band
    return np.clip(1.0 - above, 0.0, 1.0)


def cooling_power(air_heat_w, liquid_heat_w, outdoor_c, cooling: Cooling) -> dict[str, np.ndarray]:
    """Power drawn by the cooling plant, in W, for the given heat loads and outdoor temperature.

    The three array arguments broadcast together. Returns arrays of the broadcast shape:
    ``chiller_w``, ``economiser_w`` (air economiser plus liquid dry coolers), ``fans_w``,
    ``pumps_w``, ``other_w`` (the constant ``other_overhead``), ``total_w`` (their sum), and for
    reporting ``cop`` (chiller COP at that temperature) and ``free_fraction`` (air-side share
    on free cooling).
    """
    air_w, liquid_w, outdoor = np.broadcast_arrays(
        np.asarray(air_heat_w, dtype=np.float64), np.asarray(liquid_heat_w, dtype=np.float64),
        np.asarray(outdoor_c, dtype=np.float64))
    cop = chiller_cop(outdoor, cooling.chiller)
    free = free_cooling_fraction(outdoor, cooling)
    dry = outdoor < cooling.liquid_dry_cooler_below

    air_free_w = free * air_w
    air_mech_w = air_w - air_free_w
    liquid_free_w = np.where(dry, liquid_w, 0.0)
    liquid_mech_w = liquid_w - liquid_free_w

    chiller_w = (air_mech_w + liquid_mech_w) / cop
    economiser_w = cooling.economiser_power_fraction * (air_free_w + liquid_free_w)
    fans_w = cooling.air_fan_fraction * air_w
    pumps_w = cooling.liquid_pump_fraction * liquid_w
    other_w = np.full(air_w.shape, float(cooling.other_overhead))
    total_w = chiller_w + economiser_w + fans_w + pumps_w + other_w
    return {
        "chiller_w": chiller_w,
        "economiser_w": economiser_w,
        "fans_w": fans_w,
        "pumps_w": pumps_w,
        "other_w": other_w,
        "total_w": total_w,
        "cop": cop,
        "free_fraction": free,
    }
