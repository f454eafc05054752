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

import codecs
import csv
import io
import math
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter

from simulator.errors import InputError, Problem
from simulator.scenario.catalog import Catalog, shipped_catalog
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

MAX_CSV_ROWS = 1_000_000
MAX_CSV_BYTES = 256 * 2**20  # far above 1,000,000 rows of "hour,value"; stops a wrong file early
MAX_LISTED_PROBLEMS = 20

# Plausibility ranges for CSV values, wide enough for any real series, narrow enough to catch a
# file in the wrong unit (Fahrenheit or kelvin, USD/MWh, kg/kWh would still pass for carbon).
# Temperature: WMO world records, -89.2 C (Vostok, 1983) and 56.7 C (Death Valley, 1913).
TEMPERATURE_RANGE_C = (-90.0, 60.0)
# Price: above every wholesale cap in force (AEMO AUD 17,500/MWh in 2024-25, ERCOT USD 5,000/MWh,
# EU SDAC EUR 4,000/MWh) and below the deepest floors (AEMO AUD -1,000/MWh, SDAC EUR -500/MWh).
PRICE_RANGE_USD_PER_KWH = (-20.0, 20.0)
# Carbon: lignite, the dirtiest grid source, is ~1,000-1,200 g/kWh (IPCC AR5 WGIII Annex III).
CARBON_RANGE_G_PER_KWH = (0.0, 2000.0)

# A plain decimal number: no nan/inf, no underscores, no hex (float() would accept all three).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


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
    return lfilter([1.0], [1.0, -phi], draws)


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
class _Range(NamedTuple):
    low: float
    high: float
    unit: str


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


def load_csv_profile(path: Path | str, column: str = "value", *,
                     value_range: tuple[float, float] | None = None, unit: str = "") -> np.ndarray:
    """The values of ``column`` in a CSV file, one per data row, as float64.

    Strict: UTF-8 (a byte-order mark is allowed), a header row naming ``column``, an optional
    ``hour`` column that must count 0, 1, 2, ..., every value a finite plain decimal number
    (inside ``value_range`` when given), 1 to 1,000,000 data rows; blank lines are skipped.
    Every problem (the first 20 listed) is raised at once as an InputError whose paths read
    ``file:line`` and whose messages name the column and the value found.
    """
    name = str(path)
    raw = _read_bytes(Path(path), name)
    text = _decode_utf8(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems = _Problems(name)
    values: list[float] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputError([Problem(f"{name}:1", f"file is empty; expected a header row naming "
                                                   f"column '{column}', then data rows")])
        value_col, hour_col = _header_columns(header, column, name)
        allowed = _Range(*(value_range or (-math.inf, math.inf)), unit)
        values = _read_rows(reader, (value_col, hour_col), column, allowed, problems)
    except csv.Error as err:
        problems.add(reader.line_num, f"malformed CSV: {err}")
    if not values and not problems.count:
        problems.add(reader.line_num + 1, "no data rows after the header")
    problems.raise_if_any()
    return np.asarray(values, dtype=np.float64)


class _Problems:
    """CSV problems as ``file:line`` Problems: the first 20 listed, the rest counted."""

    def __init__(self, name: str):
        self.name = name
        self.listed: list[Problem] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(Problem(f"{self.name}:{line}", message, line=line))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        problems = list(self.listed)
        if self.count > len(self.listed):
            problems.append(Problem(self.name, f"{self.count - len(self.listed)} more problems "
                                               "not listed"))
        raise InputError(problems)


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise InputError([Problem(name, f"file is {size / 2**20:.0f} MiB; a profile may be at "
                                            f"most {MAX_CSV_BYTES // 2**20} MiB")])
        return path.read_bytes()
    except OSError as err:
        raise InputError([Problem(name, f"cannot read the file: {err.strerror or err}")]) from None


def _decode_utf8(raw: bytes, name: str) -> str:
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        at = skip + err.start
        line = raw.count(b"\n", 0, at) + 1
        message = f"not UTF-8: byte 0x{raw[at]:02x} at byte offset {at}; save the file as UTF-8"
        raise InputError([Problem(f"{name}:{line}", message)]) from None


def _header_columns(header: list[str], column: str, name: str) -> tuple[int, int | None]:
    """Indices of the value column and of the optional ``hour`` column in the header row."""
    names = [h.strip() for h in header]
    problems = []
    if column not in names:
        found = ", ".join(repr(n) for n in names) or "none"
        problems.append(Problem(f"{name}:1", f"no column '{column}' in the header row "
                                             f"(columns found: {found})"))
    for wanted in dict.fromkeys((column, "hour")):
        if names.count(wanted) > 1:
            problems.append(Problem(f"{name}:1", f"column '{wanted}' appears more than once in "
                                                 "the header row"))
    if problems:
        raise InputError(problems)
    hour_col = names.index("hour") if "hour" in names and column != "hour" else None
    return names.index(column), hour_col


def _parse_number(field: str) -> tuple[float | None, str]:
    """(value, "") for a finite plain decimal number, else (None, why)."""
    text = field.strip()
    if not _NUMBER.fullmatch(text):
        try:
            special = float(text)
        except ValueError:
            return None, "is not a number"
        finite = math.isfinite(special)
        return None, "is not a plain number" if finite else "is not a finite number"
    value = float(text)
    if not math.isfinite(value):
        return None, "is not a finite number"
    return value, ""


def _read_rows(reader, columns: tuple[int, int | None], column: str, allowed: _Range,
               problems: _Problems) -> list[float]:
    """Parse the data rows; values of bad rows are left out and their problems recorded."""
    value_col, hour_col = columns
    width = max(value_col, hour_col or 0) + 1
    values: list[float] = []
    check_hours = hour_col is not None
    low, high = allowed.low, allowed.high
    in_unit = f" {allowed.unit}" if allowed.unit else ""
    hint = f"is the file in{in_unit}?" if allowed.unit else "is the file in the right unit?"
    rows = 0
    for row in reader:
        if not row:
            continue  # blank line
        line = reader.line_num
        if rows == MAX_CSV_ROWS:
            problems.add(line, f"more than {MAX_CSV_ROWS:,} data rows")
            break
        if len(row) < width:
            problems.add(line, f"row has {len(row)} field(s) but column '{column}' is field "
                               f"{value_col + 1}")
            rows += 1
            continue
        if check_hours:
            hour, why = _parse_number(row[hour_col])
            if hour != rows:
                shown = repr(row[hour_col].strip())
                detail = f"{shown} {why}" if why else f"got {shown}"
                problems.add(line, f"column 'hour': expected {rows} (hours count 0, 1, 2, ... "
                                   f"one per row), {detail}")
                check_hours = False  # one gap would misalign every later row: report it once
        value, why = _parse_number(row[value_col])
        if value is None:
            problems.add(line, f"column '{column}': {row[value_col].strip()!r} {why}")
        elif not low <= value <= high:
            problems.add(line, f"column '{column}': {value:g} is outside the plausible range "
                               f"{low:g} to {high:g}{in_unit}; {hint}")
        else:
            values.append(value)
        rows += 1
    return values
