"""Chiller COP from its catalog curves: temperature lift and part load (vectorised NumPy).

Inside the curve ranges: the EnergyPlus Chiller:Electric:EIR model, full-load
COP(x, y) = cop_ref / EIRFT(x, y) with x the leaving chilled water and y the condenser-side
temperature. Outside them the curve is held at its edge and scaled by the Carnot COP of the
refrigerant lift, T_evap / (T_cond - T_evap) with T_evap = x - evaporator_approach and
T_cond = y + condenser_approach (kelvin): warmer chilled water (warm-water cooling, 15-20 C)
keeps gaining as physics says, where the biquadratic would turn over. Below the lowest y the
condensing pressure is held (head-pressure control), so cold weather gains nothing more.

Part load: COP(PLR) = COP_full * PLR / EIRFPLR(PLR); below ``min_plr`` the chiller cycles on
and off at ``min_plr``, so its COP stays at the ``min_plr`` value.
"""

from __future__ import annotations

import numpy as np

from simulator.domain.specs import ChillerSpec

KELVIN = 273.15


def _eirft(spec: ChillerSpec, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    c1, c2, c3, c4, c5, c6 = spec.eir_ft
    return c1 + c2 * x + c3 * x * x + c4 * y + c5 * y * y + c6 * x * y


def carnot_cop(spec: ChillerSpec, x, y) -> np.ndarray:
    """Carnot COP of the refrigerant lift for chilled water ``x`` and condenser side ``y`` (C)."""
    evap = np.asarray(x, dtype=np.float64) - spec.evaporator_approach + KELVIN
    cond = np.asarray(y, dtype=np.float64) + spec.condenser_approach + KELVIN
    return evap / np.maximum(cond - evap, 1.0)


def full_load_cop(spec: ChillerSpec, chilled_water_c, condenser_c) -> np.ndarray:
    """Full-load COP at leaving chilled water ``chilled_water_c`` and condenser-side temperature
    ``condenser_c`` (broadcast)."""
    x = np.asarray(chilled_water_c, dtype=np.float64)
    y = np.maximum(np.asarray(condenser_c, dtype=np.float64), spec.y_range[0])
    xc = np.clip(x, *spec.x_range)
    yc = np.clip(y, *spec.y_range)
    inside = spec.cop_ref / _eirft(spec, xc, yc)
    return inside * carnot_cop(spec, x, y) / carnot_cop(spec, xc, yc)


def part_load_factor(spec: ChillerSpec, plr) -> np.ndarray:
    """COP at part-load ratio ``plr`` over the full-load COP at the same temperatures."""
    p = np.maximum(np.asarray(plr, dtype=np.float64), spec.min_plr)
    a, b, c = spec.eir_fplr
    return p / (a + b * p + c * p * p)
