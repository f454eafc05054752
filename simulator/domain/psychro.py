"""Moist-air relations the cooling plant needs: relative humidity from dew point, wet-bulb
temperature from dry-bulb and relative humidity, and the latent heat of evaporating water.

All functions take and return NumPy arrays (or scalars) in degrees C, fractions and SI units.

- Saturation vapour pressure: the Magnus form with Alduchov & Eskridge (1996) coefficients,
  e_s(T) = 6.1094 exp(17.625 T / (T + 243.04)) hPa (J. Appl. Meteor. 35, 601-609), so
  RH = e_s(T_dew) / e_s(T).
- Wet bulb: Stull (2011), "Wet-Bulb Temperature from Relative Humidity and Air Temperature",
  J. Appl. Meteor. Climatol. 50, 2267-2269, eq. (1): within about 1 C for RH 5-99 % and
  T -20..50 C at sea-level pressure. Inputs are clipped to that range and the result to
  [dew point, dry bulb], where physics puts it.
- Latent heat of vaporisation: the fit used by Lei & Masanet's data-centre water model
  (github.com/nuoaleon/Data-Center-Water-footprint, simulation_funs_DC.py):
  h_fg(T) = 2500.5 - 2.3097 T - 0.0013 T^2 kJ/kg.
"""

from __future__ import annotations

import numpy as np

MAGNUS_B = 17.625
MAGNUS_C = 243.04
STULL_RH_RANGE_PCT = (5.0, 99.0)
STULL_T_RANGE_C = (-20.0, 50.0)


def relative_humidity(dry_bulb_c, dew_point_c) -> np.ndarray:
    """Relative humidity (0..1) of air at ``dry_bulb_c`` whose dew point is ``dew_point_c``
    (a dew point above the dry bulb is read as saturated air)."""
    t = np.asarray(dry_bulb_c, dtype=np.float64)
    td = np.minimum(np.asarray(dew_point_c, dtype=np.float64), t)
    return np.exp(MAGNUS_B * td / (MAGNUS_C + td) - MAGNUS_B * t / (MAGNUS_C + t))


def dew_point(dry_bulb_c, relative_humidity_fraction) -> np.ndarray:
    """Dew point (C) of air at ``dry_bulb_c`` and relative humidity (0..1, floored at 1e-3)."""
    t = np.asarray(dry_bulb_c, dtype=np.float64)
    gamma = np.log(np.maximum(np.asarray(relative_humidity_fraction, dtype=np.float64), 1e-3)) \
        + MAGNUS_B * t / (MAGNUS_C + t)
    return MAGNUS_C * gamma / (MAGNUS_B - gamma)


def wet_bulb(dry_bulb_c, relative_humidity_fraction) -> np.ndarray:
    """Wet-bulb temperature (C), Stull (2011), from dry bulb (C) and relative humidity (0..1)."""
    t_in = np.asarray(dry_bulb_c, dtype=np.float64)
    rh_in = np.asarray(relative_humidity_fraction, dtype=np.float64)
    rh = np.clip(100.0 * rh_in, *STULL_RH_RANGE_PCT)
    t = np.clip(t_in, *STULL_T_RANGE_C)
    tw = (t * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t + rh) - np.arctan(rh - 1.676331)
          + 0.00391838 * rh ** 1.5 * np.arctan(0.023101 * rh) - 4.686035)
    # Shift by how far the dry bulb was clipped, then keep it between dew point and dry bulb.
    tw = tw + (t_in - t)
    return np.clip(tw, dew_point(t_in, np.clip(rh_in, 1e-3, 1.0)), t_in)


def wet_bulb_from_dew_point(dry_bulb_c, dew_point_c) -> np.ndarray:
    """Wet-bulb temperature (C) of air at ``dry_bulb_c`` with dew point ``dew_point_c``."""
    return wet_bulb(dry_bulb_c, relative_humidity(dry_bulb_c, dew_point_c))


def latent_heat_j_per_kg(water_c) -> np.ndarray:
    """Latent heat of vaporisation of water at ``water_c`` (J/kg), Lei & Masanet's fit."""
    t = np.asarray(water_c, dtype=np.float64)
    return (2500.5 - 2.3097 * t - 0.0013 * t * t) * 1e3
