"""Number formatting of the HTML and Markdown reports (and the figure tick labels).

Every quantity goes through the one formatter, ``domain.units.human`` (three significant figures,
the largest unit that keeps the number at or above 1, ``—`` for a missing value), so the reports,
the terminal tables and the error messages write a quantity the same way. The helpers below only
name the quantity and add the column-specific forms (percent columns, milliseconds, counts).
"""

from __future__ import annotations

from simulator.domain.units import HUGE, MISSING, bounded, finite, human, scaled, three_figures

_COUNT = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")]


def fmt_energy(joules: object) -> str:
    """Energy in J, Wh, kWh, MWh, GWh or TWh: ``fmt_energy(3.6e9) == "1.00 MWh"``."""
    return human(joules, "energy")


def fmt_power(watts: object) -> str:
    """Power in W, kW, MW or GW: ``fmt_power(2.5e7) == "25.0 MW"``."""
    return human(watts, "power")


def fmt_duration(seconds: object) -> str:
    """Duration in us, ms, s, min, h or days: ``fmt_duration(86400 * 30) == "30.0 days"``."""
    return human(seconds, "time")


def fmt_carbon(kg: object) -> str:
    """Emissions in kg, t, kt or Mt CO2e: ``fmt_carbon(1234.0) == "1.23 t CO2e"``."""
    text = human(kg, "mass")
    return text if text == MISSING else f"{text} CO2e"


def fmt_usd(usd: object) -> str:
    """Money: cents below $1000, then k/M/B/T: ``"$2.15"``, ``"$45.6k"``, ``"-$1.23M"``."""
    return human(usd, "money")


def fmt_fraction(fraction: object) -> str:
    """A 0-1 fraction as a percentage with one decimal: ``fmt_fraction(0.8734) == "87.3%"``."""
    number = finite(fraction)
    return MISSING if number is None else f"{bounded(number * 100, f'{number * 100:.1f}')}%"


def fmt_percent(fraction: object) -> str:
    """A 0-1 fraction as a bare percentage for a column headed "(%)": ``fmt_percent(0.8734) == "87.3"``."""
    number = finite(fraction)
    return MISSING if number is None else bounded(number * 100, f"{number * 100:.1f}")


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
    digits = three_figures(abs(ms))
    if float(digits) >= 1000:
        digits = f"{round(abs(ms)):,}"
    sign = "-" if ms < 0 and float(digits.replace(",", "")) != 0 else ""
    return sign + digits


def fmt_ratio(ratio: object, decimals: int = 2) -> str:
    """A dimensionless ratio such as PUE: ``fmt_ratio(1.234) == "1.23"``."""
    number = finite(ratio)
    return MISSING if number is None else bounded(number, f"{number:.{decimals}f}")


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
    digits, suffix = scaled(number, _COUNT)
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
