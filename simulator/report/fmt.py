"""Number formatting shared by the HTML and Markdown reports (and the figure tick labels).

Every helper takes an SI value (J, W, s, USD, kg, a 0-1 fraction) and returns a short string with
its unit, so both reports print a quantity the same way. The style is three significant figures
without exponent notation (``1.00 MWh``, ``12.3 MW``, ``123 days``) in the largest unit that keeps
the number at or above 1. Missing values (None, NaN, infinities, non-numbers) render as ``—`` so a
run that stopped early still formats.
"""

from __future__ import annotations

import math

MISSING = "—"

_ENERGY = [
    (1.0, "J"),
    (3.6e3, "Wh"),
    (3.6e6, "kWh"),
    (3.6e9, "MWh"),
    (3.6e12, "GWh"),
    (3.6e15, "TWh"),
]
_POWER = [(1.0, "W"), (1e3, "kW"), (1e6, "MW"), (1e9, "GW")]
_DURATION = [(1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "days")]
_MASS = [(1.0, "kg"), (1e3, "t"), (1e6, "kt"), (1e9, "Mt")]
_COUNT = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")]


def finite(value: object) -> float | None:
    """``value`` as a float, or None when it is missing, not a number or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _three_figures(number: float) -> str:
    """A non-negative number with three significant figures, never in exponent notation."""
    decimals = 2 if number < 10 else 1 if number < 100 else 0
    return f"{number:.{decimals}f}"


HUGE = 1e6  # beyond a million of the largest unit, exponent notation keeps the text short


def _bounded(number: float, text: str) -> str:
    """``text``, or ``number`` in exponent notation when it is absurdly large (1e300 USD)."""
    return f"{number:.2e}" if abs(number) >= HUGE else text


def _scaled(value: float, units: list[tuple[float, str]]) -> tuple[str, str]:
    """(digits, unit) for |value| in the largest unit of ``units`` that keeps it >= 1."""
    magnitude = abs(value)
    index = 0
    for i, (factor, _) in enumerate(units):
        if magnitude >= factor:
            index = i
    digits = _three_figures(magnitude / units[index][0])
    if float(digits) >= 1000 and index + 1 < len(units):  # 999.7 kWh rounds to 1.00 MWh
        index += 1
        digits = _three_figures(magnitude / units[index][0])
    digits = _bounded(magnitude / units[index][0], digits)
    sign = "-" if value < 0 and float(digits) != 0 else ""
    return sign + digits, units[index][1]


def _with_unit(value: object, units: list[tuple[float, str]]) -> str:
    number = finite(value)
    if number is None:
        return MISSING
    digits, unit = _scaled(number, units)
    return f"{digits} {unit}"


def fmt_energy(joules: object) -> str:
    """Energy in J, Wh, kWh, MWh, GWh or TWh: ``fmt_energy(3.6e9) == "1.00 MWh"``."""
    return _with_unit(joules, _ENERGY)


def fmt_power(watts: object) -> str:
    """Power in W, kW, MW or GW: ``fmt_power(2.5e7) == "25.0 MW"``."""
    return _with_unit(watts, _POWER)


def fmt_duration(seconds: object) -> str:
    """Duration in s, min, h or days: ``fmt_duration(86400 * 30) == "30.0 days"``."""
    return _with_unit(seconds, _DURATION)


def fmt_carbon(kg: object) -> str:
    """Emissions in kg, t, kt or Mt CO2e: ``fmt_carbon(1234.0) == "1.23 t CO2e"``."""
    text = _with_unit(kg, _MASS)
    return text if text == MISSING else f"{text} CO2e"


def fmt_usd(usd: object) -> str:
    """Money: cents below $1000, then k/M/B/T: ``"$2.15"``, ``"$45.6k"``, ``"-$1.23M"``."""
    number = finite(usd)
    if number is None:
        return MISSING
    sign = "-" if number < 0 else ""
    if abs(number) < 999.995:
        cents = f"{abs(number):.2f}"
        return f"{'' if cents == '0.00' else sign}${cents}"
    digits, suffix = _scaled(abs(number), _COUNT)
    return f"{sign}${digits}{suffix}"


def fmt_fraction(fraction: object) -> str:
    """A 0-1 fraction as a percentage with one decimal: ``fmt_fraction(0.8734) == "87.3%"``."""
    number = finite(fraction)
    return MISSING if number is None else f"{_bounded(number * 100, f'{number * 100:.1f}')}%"


def fmt_percent(fraction: object) -> str:
    """A 0-1 fraction as a bare percentage for a column headed "(%)": ``fmt_percent(0.8734) == "87.3"``."""
    number = finite(fraction)
    return MISSING if number is None else _bounded(number * 100, f"{number * 100:.1f}")


def fmt_ms(seconds: object) -> str:
    """A duration in seconds as bare milliseconds for a column headed "(ms)": three significant
    figures below 1000 ms, whole milliseconds with separators above (an overloaded service's
    waits run to minutes): ``fmt_ms(0.01509) == "15.1"``, ``fmt_ms(83.2) == "83,200"``."""
    number = finite(seconds)
    if number is None:
        return MISSING
    ms = number * 1000.0
    if abs(ms) >= HUGE * 1e3:
        return f"{ms:.2e}"
    digits = _three_figures(abs(ms))
    if float(digits) >= 1000:
        digits = f"{round(abs(ms)):,}"
    sign = "-" if ms < 0 and float(digits.replace(",", "")) != 0 else ""
    return sign + digits


def fmt_ratio(ratio: object, decimals: int = 2) -> str:
    """A dimensionless ratio such as PUE: ``fmt_ratio(1.234) == "1.23"``."""
    number = finite(ratio)
    return MISSING if number is None else _bounded(number, f"{number:.{decimals}f}")


def fmt_count(count: object) -> str:
    """A whole number with thousands separators: ``fmt_count(16384) == "16,384"``."""
    number = finite(count)
    if number is None:
        return MISSING
    return f"{number:.2e}" if abs(number) >= HUGE * 1e9 else f"{round(number):,}"


def fmt_si(value: object) -> str:
    """A count with a k/M/B/T suffix from 1000 up: ``"1.20T"`` for 1.2e12, ``"512"`` for 512."""
    number = finite(value)
    if number is None:
        return MISSING
    if abs(number) < 999.5:
        return f"{number if abs(number) >= 0.5 else 0.0:,.0f}"  # never "-0"
    digits, suffix = _scaled(number, _COUNT)
    return digits + suffix


def fmt_tokens(tokens: object) -> str:
    """A token count: ``fmt_tokens(2e9) == "2.00B tokens"``."""
    text = fmt_si(tokens)
    return text if text == MISSING else f"{text} tokens"


def fmt_text(value: object) -> str:
    """A label from an input (scenario or job name) as plain text; missing values as ``—``."""
    if value is None:
        return MISSING
    try:
        if value != value:  # NaN and pandas.NA  # noqa: PLR0124
            return MISSING
    except TypeError:  # pandas.NA refuses a truth value
        return MISSING
    return str(value)
