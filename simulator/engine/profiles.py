"""Hourly environment profiles: outdoor temperature, electricity price and carbon intensity.

Every function returns one value per simulated hour: element ``k`` is the value at ``k`` hours
after t=0, where t=0 is ``start_hour`` on day ``start_day_of_year``. The calendar is fixed and
simple: a year has 365 days, day 1 is a Monday, and there is no daylight-saving time. CSV
profiles are calendar profiles too: row ``i`` is hour ``i`` counted from 00:00 on day 1, and a
profile shorter than the simulation repeats (so a 24-row file is a daily shape, a 168-row file
a weekly one, an 8760-row file a year).

Units: temperatures in degrees C, prices in USD/J, carbon intensity in kg CO2e/J. CSV files
hold what planners have to hand instead: prices in USD/kWh, carbon in g CO2e/kWh, temperature
in degrees C; they are converted here, and they give absolute values (the base price or
intensity in the scenario is not applied to them).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulator.domain import psychro
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.csvfile import (  # noqa: F401 - re-exported for callers of this module
    CARBON_RANGE_G_PER_KWH,
    HUMIDITY_RANGE_PCT,
    MAX_CSV_BYTES,
    MAX_CSV_ROWS,
    PRICE_RANGE_USD_PER_KWH,
    TEMPERATURE_RANGE_C,
    _Range,
    load_csv_profile,
)
from simulator.errors import InputError
from simulator.scenario.check import check_file
from simulator.scenario.schema import (
    BuiltinClimate,
    ConstantClimate,
    CsvProfile,
    Electricity,
    FlatProfile,
    SolarDipProfile,
    TimeOfUseProfile,
)

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.0
J_PER_KWH = 3.6e6
KG_PER_G = 1e-3


# ----------------------------------------------------------------------------- time axis
def absolute_hours(hours: int, start_day_of_year: int, start_hour: float) -> np.ndarray:
    """Hours since 00:00 on day 1 of the year, one per simulated hour (float64, ``hours`` long)."""
    if isinstance(hours, bool) or not isinstance(hours, int | np.integer) or hours < 1:
        raise ValueError(f"hours must be a positive integer, got {hours!r}")
    if not 1 <= start_day_of_year <= 366:
        raise ValueError(f"start_day_of_year must be in 1..366, got {start_day_of_year!r}")
    if not 0.0 <= start_hour < HOURS_PER_DAY:
        raise ValueError(f"start_hour must be in [0, 24), got {start_hour!r}")
    offset = (start_day_of_year - 1) * HOURS_PER_DAY + float(start_hour)
    return offset + np.arange(int(hours), dtype=np.float64)


def _hour_of_day(abs_h: np.ndarray) -> np.ndarray:
    return np.mod(abs_h, HOURS_PER_DAY)


# ----------------------------------------------------------------------------- temperature
def ar1_noise(hours: int, std: float, corr_hours: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) noise with standard deviation ``std`` and correlation time ``corr_hours``.

    x[k] = phi * x[k-1] + e[k] with phi = exp(-1/tau) and sd(e) = std * sqrt(1 - phi^2), so the
    variance stays ``std**2`` at every step; x[0] is drawn from that stationary distribution.
    Draws exactly ``hours`` standard normals from ``rng`` (even when ``std`` is 0), so the
    stream a component consumes does not depend on its parameters.
    """
    if std < 0 or not math.isfinite(std):
        raise ValueError(f"std must be finite and >= 0, got {std!r}")
    if not corr_hours > 0:
        raise ValueError(f"corr_hours must be > 0, got {corr_hours!r}")
    draws = rng.standard_normal(int(hours))
    phi = math.exp(-1.0 / corr_hours)
    draws[0] *= std
    draws[1:] *= std * math.sqrt(1.0 - phi * phi)
    return ar1_filter(draws, phi)


def ar1_filter(e: np.ndarray, phi: float) -> np.ndarray:
    """x[0] = e[0], x[k] = phi * x[k-1] + e[k]: the recursion ``scipy.signal.lfilter([1], [1, -phi], e)``
    computes, with the same operations in the same order (so the same bits), without importing
    scipy.signal (about 2 s of start-up for one filter). A year of hours takes a few ms."""
    values = e.tolist()
    prev = 0.0
    for k, v in enumerate(values):
        prev = v + phi * prev if k else v
        values[k] = prev
    return np.array(values, dtype=np.float64)


def hourly_temperature_c(
        climate: BuiltinClimate | ConstantClimate | CsvProfile, hours: int, start_day_of_year: int,
        start_hour: float, rng: np.random.Generator, catalog: Catalog | None = None,
        base_dir: Path | str | None = None) -> np.ndarray:
    """Outdoor dry-bulb temperature in degrees C, one value per simulated hour.

    Built-in climates: mean + annual cosine (period 365 days, peak at noon on ``warmest_day``)
    + diurnal cosine (peak at ``warmest_hour``) + AR(1) weather noise drawn from ``rng``.
    ``catalog`` defaults to the shipped catalog; ``base_dir`` (the scenario's folder) is needed
    for CSV profiles, whose values are degrees C.
    """
    abs_h = absolute_hours(hours, start_day_of_year, start_hour)
    if isinstance(climate, ConstantClimate):
        return np.full(abs_h.shape, float(climate.temperature))
    if isinstance(climate, CsvProfile):
        return _csv_hourly(climate, abs_h, base_dir, "site.climate.path",
                           _Range(*TEMPERATURE_RANGE_C, "degrees C"))
    if not isinstance(climate, BuiltinClimate):
        raise TypeError(f"unsupported climate {type(climate).__name__}")
    spec = (catalog or shipped_catalog()).climates.get(climate.name, "site.climate.name")
    day_position = 1.0 + (abs_h - 12.0) / HOURS_PER_DAY  # == d at noon on day d
    annual = spec.annual_amplitude * np.cos(
        2.0 * np.pi * (day_position - spec.warmest_day) / DAYS_PER_YEAR)
    diurnal = spec.diurnal_amplitude * np.cos(
        2.0 * np.pi * (_hour_of_day(abs_h) - spec.warmest_hour) / HOURS_PER_DAY)
    noise = ar1_noise(abs_h.size, spec.noise_std, spec.noise_corr_hours, rng)
    return spec.mean + annual + diurnal + noise


def hourly_wet_bulb_c(
        climate: BuiltinClimate | ConstantClimate | CsvProfile, dry_bulb_c: np.ndarray, start_day_of_year: int,
        start_hour: float, catalog: Catalog | None = None, base_dir: Path | str | None = None) -> np.ndarray:
    """Outdoor wet-bulb temperature in degrees C for each hour of ``dry_bulb_c`` (no random draws).

    Built-in climates: the dew point follows an annual cosine (mean, amplitude, most humid day)
    and the wet bulb follows from it and the hour's dry bulb (Stull 2011); a climate without a
    dew point holds 50% relative humidity. Constant climates: their wet bulb, else their
    relative humidity. CSV climates: the wet-bulb or humidity column, else a fixed humidity.
    """
    dry = np.asarray(dry_bulb_c, dtype=np.float64)
    abs_h = absolute_hours(dry.size, start_day_of_year, start_hour)
    if isinstance(climate, ConstantClimate):
        if climate.wet_bulb is not None:
            return np.full(dry.shape, float(climate.wet_bulb))
        return psychro.wet_bulb(dry, climate.relative_humidity)
    if isinstance(climate, CsvProfile):
        wet_col = getattr(climate, "wet_bulb_column", None)
        rh_col = getattr(climate, "humidity_column", None)
        if wet_col is not None:
            wet = _csv_hourly(climate.model_copy(update={"column": wet_col}), abs_h, base_dir,
                              "site.climate.wet_bulb_column", _Range(*TEMPERATURE_RANGE_C, "degrees C"))
            return np.minimum(wet, dry)
        if rh_col is not None:
            rh = _csv_hourly(climate.model_copy(update={"column": rh_col}), abs_h, base_dir,
                             "site.climate.humidity_column", _Range(*HUMIDITY_RANGE_PCT, "% relative humidity"))
            return psychro.wet_bulb(dry, rh / 100.0)
        return psychro.wet_bulb(dry, getattr(climate, "relative_humidity", 0.5))
    if not isinstance(climate, BuiltinClimate):
        raise TypeError(f"unsupported climate {type(climate).__name__}")
    spec = (catalog or shipped_catalog()).climates.get(climate.name, "site.climate.name")
    if spec.dew_point_mean is None:
        return psychro.wet_bulb(dry, 0.5)
    peak = spec.dew_point_peak_day or spec.warmest_day
    day_position = 1.0 + (abs_h - 12.0) / HOURS_PER_DAY
    dew = spec.dew_point_mean + spec.dew_point_amplitude * np.cos(
        2.0 * np.pi * (day_position - peak) / DAYS_PER_YEAR)
    return psychro.wet_bulb_from_dew_point(dry, dew)


# ----------------------------------------------------------------------------- price and carbon
def time_of_use_multiplier(profile: TimeOfUseProfile, abs_h: np.ndarray) -> np.ndarray:
    """Peak multiplier in [peak_start_hour, peak_end_hour) on weekdays (every day unless
    ``weekend_offpeak``), off-peak multiplier otherwise. Day 1 is a Monday; days 6, 7 a weekend."""
    hod = _hour_of_day(abs_h)
    peak = (hod >= profile.peak_start_hour) & (hod < profile.peak_end_hour)
    if profile.weekend_offpeak:
        weekday = np.floor(abs_h / HOURS_PER_DAY).astype(np.int64) % 7  # 0 = Monday
        peak &= weekday < 5
    return np.where(peak, profile.peak_multiplier, profile.offpeak_multiplier)


def daylight(hour_of_day: np.ndarray) -> np.ndarray:
    """Solar output shape in [0, 1]: sin(pi (h - 6) / 12) between 06:00 and 18:00, else 0."""
    shape = np.sin(np.pi * (np.asarray(hour_of_day, dtype=np.float64) - 6.0) / 12.0)
    return np.clip(shape, 0.0, 1.0)


def hourly_price_usd_per_j(electricity: Electricity, hours: int, start_day_of_year: int,
                           start_hour: float, base_dir: Path | str | None = None) -> np.ndarray:
    """Grid energy price in USD/J per simulated hour: the base price times the profile
    (flat or time-of-use), or a CSV of absolute prices in USD/kWh."""
    abs_h = absolute_hours(hours, start_day_of_year, start_hour)
    profile = electricity.price_profile
    if isinstance(profile, CsvProfile):
        usd_per_kwh = _csv_hourly(profile, abs_h, base_dir, "site.electricity.price_profile.path",
                                  _Range(*PRICE_RANGE_USD_PER_KWH, "USD/kWh"))
        return usd_per_kwh / J_PER_KWH
    if isinstance(profile, TimeOfUseProfile):
        return electricity.price * time_of_use_multiplier(profile, abs_h)
    if isinstance(profile, FlatProfile):
        return np.full(abs_h.shape, float(electricity.price))
    raise TypeError(f"unsupported price profile {type(profile).__name__}")


def hourly_carbon_kg_per_j(electricity: Electricity, hours: int, start_day_of_year: int,
                           start_hour: float, base_dir: Path | str | None = None) -> np.ndarray:
    """Grid carbon intensity in kg CO2e/J per simulated hour: the base intensity times the
    profile (flat, or solar-dip: 1 - depth * daylight), or a CSV of absolute g CO2e/kWh."""
    abs_h = absolute_hours(hours, start_day_of_year, start_hour)
    profile = electricity.carbon_profile
    if isinstance(profile, CsvProfile):
        g_per_kwh = _csv_hourly(profile, abs_h, base_dir, "site.electricity.carbon_profile.path",
                                _Range(*CARBON_RANGE_G_PER_KWH, "g/kWh"))
        return g_per_kwh * (KG_PER_G / J_PER_KWH)
    if isinstance(profile, SolarDipProfile):
        return electricity.carbon * (1.0 - profile.depth * daylight(_hour_of_day(abs_h)))
    if isinstance(profile, FlatProfile):
        return np.full(abs_h.shape, float(electricity.carbon))
    raise TypeError(f"unsupported carbon profile {type(profile).__name__}")


# ----------------------------------------------------------------------------- CSV
def _csv_hourly(profile: CsvProfile, abs_h: np.ndarray, base_dir: Path | str | None,
                yaml_path: str, allowed: _Range) -> np.ndarray:
    """Read a CSV profile from the scenario folder and index it by calendar hour (wrapping)."""
    if base_dir is None:
        raise ValueError("base_dir (the scenario's folder) is required for a CSV profile")
    folder = Path(base_dir)
    problems = check_file(folder, profile.path, yaml_path)
    if problems:
        raise InputError(problems)
    values = load_csv_profile(folder / profile.path, profile.column,
                              value_range=(allowed.low, allowed.high), unit=allowed.unit)
    return values[np.floor(abs_h).astype(np.int64) % values.size]
