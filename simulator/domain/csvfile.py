"""Strict reading of CSV profiles (hourly temperature, price, carbon): every problem found,
each naming the file, line, column and value, and the range a value must lie in.

Lives in the scenario layer so ``dcsim validate`` reads a scenario's CSV files the same way a
run does: a bad file fails before anything runs, never half-way through a simulation.
Pure Python and NumPy (no SciPy, no Numba), so validation stays fast.
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

from simulator.errors import InputError, Problem

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


class _Range(NamedTuple):
    low: float
    high: float
    unit: str


# What each kind of profile holds, in the unit its CSV file is written in.
HUMIDITY_RANGE_PCT = (0.0, 100.0)

RANGES = {
    "temperature": _Range(*TEMPERATURE_RANGE_C, "degrees C"),
    "humidity": _Range(*HUMIDITY_RANGE_PCT, "% relative humidity"),
    "power_kw": _Range(0.0, 1e9, "kW"),
    "share": _Range(0.0, 1.0, "share of capacity"),
    "outage": _Range(0.0, 1.0, ""),
    "price": _Range(*PRICE_RANGE_USD_PER_KWH, "USD/kWh"),
    "carbon": _Range(*CARBON_RANGE_G_PER_KWH, "g/kWh"),
}


def profile_problems(folder: Path, rel: str, column: str, yaml_path: str, kind: str) -> list[Problem]:
    """Every problem of the CSV profile ``rel`` (relative to ``folder``) of ``kind``, each as one
    Problem under ``yaml_path`` whose message starts with ``file:line`` as the scenario wrote it,
    e.g. ``site.climate.path: temps.csv:3: column 'value': 'warm' is not a number``."""
    allowed = RANGES[kind]
    full = str(folder / rel)
    try:
        load_csv_profile(folder / rel, column, value_range=(allowed.low, allowed.high),
                         unit=allowed.unit)
    except InputError as err:
        return [Problem(yaml_path, f"{rel}{p.path[len(full):]}: {p.message}"
                        if p.path.startswith(full) else f"{rel}: {p.message}")
                for p in err.problems]
    return []


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
            raise InputError([Problem(name, f"file is {size / 2**20:.0f} MiB; a CSV input may be at "
                                            f"most {MAX_CSV_BYTES // 2**20} MiB")])
        if path.is_dir():
            raise InputError([Problem(name, "is a folder, expected a CSV file")])
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


def load_csv_pairs(path: Path | str, names: tuple[str, str], value_range: tuple[float, float]) -> np.ndarray:
    """Rows of two whole numbers (``names`` say what each column holds, e.g. prompt and output
    token counts) as an (n, 2) float64 array; a first row that is not two numbers is a header.

    Bounded like the profiles (``MAX_CSV_BYTES``, ``MAX_CSV_ROWS``), strict (UTF-8, finite plain
    numbers inside ``value_range``), and every problem is listed by ``file:line`` and column."""
    name = str(path)
    text = _decode_utf8(_read_bytes(Path(path), name), name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems = _Problems(name)
    low, high = value_range
    pairs: list[tuple[float, float]] = []
    first = True
    try:
        for row in reader:
            if not row or not "".join(row).strip():
                continue
            line = reader.line_num
            parsed = [_parse_number(field) for field in row[:2]]
            if first:
                first = False
                if len(row) >= 2 and all(value is None for value, _ in parsed):
                    continue  # a header row
            if len(pairs) == MAX_CSV_ROWS:
                problems.add(line, f"more than {MAX_CSV_ROWS:,} data rows")
                break
            if len(row) != 2:
                problems.add(line, f"row has {len(row)} field(s); expected 2 ({names[0]}, {names[1]})")
                continue
            good = []
            for column, field, (value, why) in zip(names, row, parsed, strict=True):
                if value is None:
                    problems.add(line, f"column '{column}': {field.strip()[:40]!r} {why}")
                elif not (low <= value <= high and value == round(value)):
                    problems.add(line, f"column '{column}': {value:g} is not a whole number from "
                                       f"{low:,.0f} to {high:,.0f}")
                else:
                    good.append(value)
            if len(good) == 2:
                pairs.append((good[0], good[1]))
    except csv.Error as err:
        problems.add(reader.line_num, f"malformed CSV: {err}")
    if not pairs and not problems.count:
        problems.add(reader.line_num + 1, f"no ({names[0]}, {names[1]}) rows")
    problems.raise_if_any()
    return np.asarray(pairs, dtype=np.float64)
