"""Demand that changes over the horizon: a service's request rate growing by a compound rate
('6%/month', '50%/year'), and the highest rate it reaches within a run."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

# A month is a twelfth of a Julian year, so twelve months of growth make a year of it exactly.
MONTH_S = 365.25 * 86400.0 / 12.0
MAX_GROWTH_PER_MONTH = 10.0      # x11 a month: far beyond any demand curve, still finite over ten years
_TEXT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(%?)\s*(?:/|per)\s*(month|mo|year|yr|y)\s*$")


def rate_per_period(text: str) -> tuple[float, str] | None:
    """'6%/month' -> (0.06, 'month'), '0.03 per year' -> (0.03, 'year'); None when ``text`` is not
    a number (or percentage) per month or per year."""
    m = _TEXT.match(text)
    if m is None:
        return None
    return float(m.group(1)) / (100.0 if m.group(2) else 1.0), "month" if m.group(3) in ("month", "mo") else "year"


def _growth(value: object) -> object:
    """'6%/month', '50%/year', '0.06/month' or a plain number (a fraction per month) -> the
    compound growth per month; a decline stays above -100% (a rate cannot fall below zero)."""
    if isinstance(value, bool):
        raise ValueError("a growth rate such as '6%/month' or '50%/year'")
    if isinstance(value, str):
        rate = rate_per_period(value)
        if rate is None:
            raise ValueError(f"a growth rate such as '6%/month' or '50%/year' (got {value!r})")
        number, period = rate
        if number <= -1.0:
            raise ValueError(f"{value!r} would take the request rate below zero: a decline is above -100%")
        value = number if period == "month" else (1.0 + number) ** (1.0 / 12.0) - 1.0
    if isinstance(value, int | float):
        return bounded_rate(float(value), MAX_GROWTH_PER_MONTH, "growth per month")
    return value


def bounded_rate(value: float, cap: float, what: str) -> float:
    """A compound rate above -100% (the quantity stays positive) and at most ``cap``."""
    if not -1.0 < value <= cap:
        raise ValueError(f"a {what} above -100% and at most {cap:.0%} (got {value:.4g})")
    return value


MonthlyGrowth = Annotated[float, BeforeValidator(_growth), WithJsonSchema({
    "anyOf": [{"type": "number"}, {"type": "string"}],
    "description": "Compound growth per month; a number or a string such as '6%/month', '50%/year'."})]


def growth_factor(growth_per_month: float, t_s: float) -> float:
    """How many times the starting rate the rate is at ``t_s`` seconds after t=0."""
    return (1.0 + growth_per_month) ** (t_s / MONTH_S) if growth_per_month else 1.0


def mean_growth_factor(growth_per_month: float, start_s: float, end_s: float) -> float:
    """The growth factor's mean over [start_s, end_s]: (f(end) - f(start)) / (k (end - start))
    with f(t) = exp(k t), k = ln(1 + g) / month; f(start) for an empty interval."""
    if not growth_per_month or end_s <= start_s:
        return growth_factor(growth_per_month, start_s)
    k = math.log1p(growth_per_month) / MONTH_S
    return (math.exp(k * end_s) - math.exp(k * start_s)) / (k * (end_s - start_s))


def peak_factor(growth_per_month: float, horizon_s: float) -> float:
    """The largest growth factor within [0, horizon_s]: at the end when growing, 1 when declining."""
    return max(1.0, growth_factor(growth_per_month, horizon_s))


def peak_rate_per_s(service, horizon_s: float) -> float:
    """A service's busiest arrival rate within the horizon: its base rate x the daily profile's
    busiest hour x its growth at its peak (planning's serving floor, the headroom warning)."""
    return float(service.arrival_rate) * max(service.daily_profile) * peak_factor(service.growth, horizon_s)
