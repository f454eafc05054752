"""Calendar time in a scenario: a start date, moments given as dates or as offsets after the
start, yearly trends, and the calendar months a dated run is reported in.

- ``simulation.start: 2027-01-01`` dates t=0; ``start_day_of_year`` and ``start_hour`` (the
  season and the hour of day the climate and price profiles read) follow from it, and an error
  is raised if the scenario also gives them and they disagree.
- A moment (``When``) is an ISO date (``2027-06-01``), a month (``2027-06``, its first day), a
  quarter (``2028-Q1``, its first day) or an offset after t=0 (``180d``, ``1y``). A year in a
  duration is 365 days (domain/units.py ``y``), so ``3y`` is 1095 days, not three calendar years;
  dates count real calendar days.
- A yearly trend (``3%/year``) compounds: the value at t is base x (1 + trend)^(t / 365 d).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, model_validator

from simulator.domain.quantities import Frozen, NonNegSeconds
from simulator.domain.units import parser
from simulator.scenario.demand import bounded_rate, rate_per_period

DAY_S = 86400.0
YEAR_S = 365.0 * DAY_S                 # the 'y' of domain/units.py
MAX_TREND_PER_YEAR = 10.0              # x11 a year: beyond any price or carbon path, finite over ten years
_QUARTER = re.compile(r"^\s*(\d{4})-?Q([1-4])\s*$", re.IGNORECASE)
_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")
_WHEN_HELP = ("a date such as 2027-01-01, a month 2027-06, a quarter 2028-Q1, or an offset after the "
              "start such as '180d' or '1y'")
_time = parser("time")


def _date(value: object) -> object:
    """A YAML date, datetime or ISO text -> datetime.datetime (midnight when no time is given)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        if m := _QUARTER.match(text):
            return dt.datetime(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
        if m := _MONTH.match(text):
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError(f"month {month} of {text!r} is not 01-12")
            return dt.datetime(int(m.group(1)), month, 1)
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2027-01-01 (got {value!r})")


def parse_when(value: object) -> object:
    """A moment: a date (datetime.datetime) or an offset in seconds after t=0 (float >= 0)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {_WHEN_HELP} (got {value!r})")
    try:
        return _date(value)
    except ValueError as err:
        if isinstance(value, str) and (_QUARTER.match(value) or _MONTH.match(value)):
            raise ValueError(str(err)) from None
    try:
        seconds = _time(value)
    except ValueError:
        raise ValueError(f"expected {_WHEN_HELP} (got {value!r})") from None
    if seconds < 0:
        raise ValueError(f"an offset after the start cannot be negative (got {value!r})")
    return float(seconds)


CalendarDate = Annotated[dt.datetime, BeforeValidator(_date), WithJsonSchema(
    {"type": "string", "description": "A date (2027-01-01), a month (2027-06) or a quarter (2028-Q1)."})]
When = Annotated[dt.datetime | float, BeforeValidator(parse_when), WithJsonSchema(
    {"anyOf": [{"type": "string"}, {"type": "number"}],
     "description": "A date (2027-01-01), month (2027-06), quarter (2028-Q1) or offset after the start ('180d')."})]


_DATE_LIKE = re.compile(r"^\s*\d{4}-(\d{2}|Q[1-4])", re.IGNORECASE)


def start_context(raw: object) -> dict:
    """Validation context of a raw scenario: its ``simulation.start`` as a datetime (None when
    absent or unreadable; the simulation section reports a bad one itself)."""
    sim = raw.get("simulation") if isinstance(raw, dict) else None
    start = sim.get("start") if isinstance(sim, dict) else None
    try:
        return {"start": _date(start) if start is not None else None}
    except ValueError:
        return {"start": None}


def _date_to_offset(value: object, info: ValidationInfo) -> object:
    """A date -> seconds after simulation.start (from the validation context, see
    ``start_context``); offsets ('365d', numbers) pass on to the duration parser."""
    if not isinstance(value, dt.date) and not (isinstance(value, str) and _DATE_LIKE.match(value)):
        return value
    when = _date(value)
    assert isinstance(when, dt.datetime)
    return resolve_moment(when, (info.context or {}).get("start"))


RunMoment = Annotated[NonNegSeconds, BeforeValidator(_date_to_offset), WithJsonSchema(
    {"anyOf": [{"type": "string"}, {"type": "number"}],
     "description": "An offset after t=0 ('365d') or, with simulation.start, a date (2028-01-15), month or quarter."})]


def describe(when: dt.datetime | float) -> str:
    """A moment as the scenario wrote it, for messages."""
    if isinstance(when, dt.datetime):
        return when.strftime("%Y-%m-%d") if when.time() == dt.time() else when.isoformat()
    return f"{when / DAY_S:g} d after the start"


def offset_s(when: dt.datetime | float, start: dt.datetime | None) -> float | None:
    """Seconds after t=0 of a moment; None for a date when the run has no start date."""
    if isinstance(when, dt.datetime):
        return None if start is None else (when - start).total_seconds()
    return float(when)


def resolve_moment(when: dt.datetime | float, start: dt.datetime | None) -> float:
    """Seconds after t=0 of a moment; ValueError, worded for the scenario's error, for a date
    without a start date or before it."""
    seconds = offset_s(when, start)
    if seconds is None:
        raise ValueError(f"the date {describe(when)} needs simulation.start (the date of t=0), or give an offset "
                         f"such as '180d'")
    if seconds < 0:
        raise ValueError(f"{describe(when)} is before simulation.start ({describe(start or 0.0)})")
    return seconds


def _trend(value: object) -> object:
    """'3%/year', '-5%/year', '0.03/year' or a number (a fraction per year) -> fraction per year."""
    if isinstance(value, bool):
        raise ValueError("a yearly trend such as '3%/year'")
    if isinstance(value, str):
        rate = rate_per_period(value)
        if rate is None or rate[1] != "year":
            raise ValueError(f"a yearly trend such as '3%/year' or '-5%/year' (got {value!r})")
        value = rate[0]
    if isinstance(value, int | float):
        return bounded_rate(float(value), MAX_TREND_PER_YEAR, "trend per year")
    return value


YearlyTrend = Annotated[float, BeforeValidator(_trend), WithJsonSchema({
    "anyOf": [{"type": "number"}, {"type": "string"}],
    "description": "Compound change per year; a number or a string such as '3%/year'."})]


def trend_factor(trend_per_year: float, t_s):
    """How many times its base value a trended quantity is at ``t_s`` (scalar or array)."""
    return (1.0 + trend_per_year) ** (t_s / YEAR_S) if trend_per_year else 1.0 + 0.0 * t_s


class Dated(Frozen):
    """The calendar start of a run; the season and hour of day follow from it."""

    start: CalendarDate | None = Field(
        None, description="Calendar date (and time) of t=0, e.g. 2027-01-01; sets start_day_of_year and "
                          "start_hour. Dates elsewhere in the scenario need it.")

    @model_validator(mode="before")
    @classmethod
    def _derive_season(cls, data: object) -> object:
        if not isinstance(data, dict) or data.get("start") is None:
            return data
        start = _date(data["start"])       # a bad date raises here, at simulation
        assert isinstance(start, dt.datetime)
        derived = {"start_day_of_year": start.timetuple().tm_yday,
                   "start_hour": start.hour + start.minute / 60.0 + start.second / 3600.0}
        for key, value in derived.items():
            given = data.get(key)
            if given is not None and not isinstance(given, bool) and isinstance(given, int | float) \
                    and abs(float(given) - value) > 1e-9:
                raise ValueError(f"start {describe(start)} gives {key} {value:g} but {key} is {given}: "
                                 f"give start alone")
        return {**data, **derived}


def month_edges(start: dt.datetime | None, horizon_s: float) -> tuple[list[str], list[float]]:
    """The calendar months a run covers: labels ('2027-01') and the edges in seconds after t=0
    (first edge 0, last the horizon). Without a start date: months of 365/12 days, 'M01', ..."""
    labels: list[str] = []
    edges = [0.0]
    if start is None:
        month = YEAR_S / 12.0
        k = 0
        while edges[-1] < horizon_s - 1e-6:
            k += 1
            labels.append(f"M{k:02d}")
            edges.append(min(k * month, horizon_s))
        return labels, edges
    y, m = start.year, start.month
    while edges[-1] < horizon_s - 1e-6:
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        edges.append(min((dt.datetime(y, m, 1) - start).total_seconds(), horizon_s))
    return labels, edges
