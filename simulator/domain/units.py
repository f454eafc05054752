"""Human units in, SI out: parse "30d", "400Gb/s", "1.2MW", "80GiB", "$0.08/kWh" and back.

Every quantity inside dcsim is SI (s, W, J, bytes, bytes/s, FLOP, FLOP/s, USD, USD/J,
kg CO2e/J, degrees Celsius for temperatures, kelvin for temperature differences, 1/s for
rates). A bare number in a scenario is read as already being in that SI unit. Strings carry
their unit; a unit of the wrong kind (a bandwidth where a power belongs) is an error that names
both kinds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from simulator.errors import UnitError

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<cur>\$)?\s*(?P<num>{_NUMBER})\s*(?P<unit>.*?)\s*$")

_SI_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_BIN_PREFIX = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}


def _prefixed(symbols: list[str], base: float, prefixes: dict[str, float]) -> dict[str, float]:
    return {p + s: base * f for s in symbols for p, f in prefixes.items()}


def _build_tables() -> dict[str, dict[str, float]]:
    time = {
        "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
        "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
        "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
        "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
        "d": 86400.0, "day": 86400.0, "days": 86400.0,
        "w": 604800.0, "wk": 604800.0, "week": 604800.0, "weeks": 604800.0,
        "y": 31536000.0, "yr": 31536000.0, "year": 31536000.0, "years": 31536000.0,
    }
    power = _prefixed(["W"], 1.0, {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9})
    power["mW"] = 1e-3
    energy = _prefixed(["J"], 1.0, {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12})
    energy.update(_prefixed(["Wh"], 3600.0, {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}))
    byte_units = _prefixed(["B"], 1.0, _SI_PREFIX)
    byte_units.update(_prefixed(["B"], 1.0, _BIN_PREFIX))
    byte_units.update({"byte": 1.0, "bytes": 1.0})
    bit_units = _prefixed(["b", "bit"], 0.125, _SI_PREFIX)
    bit_units.update(_prefixed(["b", "bit"], 0.125, _BIN_PREFIX))
    data = {**byte_units, **bit_units}
    bandwidth: dict[str, float] = {}
    for sym, f in data.items():
        bandwidth[sym + "/s"] = f
        if sym.endswith("b"):
            bandwidth[sym + "ps"] = f  # Gbps
        if sym.endswith("B"):
            bandwidth[sym + "ps"] = f  # GBps
    flop_prefix = {"": 1.0, "K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    flop = _prefixed(["FLOP", "FLOPs", "flop"], 1.0, flop_prefix)
    flops = _prefixed(["FLOP/s", "FLOPS", "flop/s", "FLOPs/s"], 1.0, flop_prefix)
    money = {"": 1.0, "USD": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "kUSD": 1e3, "MUSD": 1e6}
    price_energy: dict[str, float] = {}
    for sym, f in energy.items():
        price_energy["/" + sym] = 1.0 / f
        price_energy["USD/" + sym] = 1.0 / f
    carbon: dict[str, float] = {}
    for mass, fm in {"g": 1e-3, "kg": 1.0, "t": 1e3}.items():
        for tag in ("", "CO2", "CO2e", "CO2eq"):
            for sym, fe in energy.items():
                carbon[f"{mass}{tag}/{sym}"] = fm / fe
    rate = {"/s": 1.0, "/min": 1 / 60.0, "/h": 1 / 3600.0, "/hr": 1 / 3600.0, "/d": 1 / 86400.0,
            "/day": 1 / 86400.0, "Hz": 1.0, "kHz": 1e3, "per s": 1.0, "per min": 1 / 60.0,
            "per h": 1 / 3600.0, "per hour": 1 / 3600.0, "/hour": 1 / 3600.0}
    for word in ("req", "request", "requests", "queries", "tokens", "tok"):
        for per, f in list(rate.items()):
            if per.startswith("/"):
                rate[word + per] = f
    rate.update({"rps": 1.0, "qps": 1.0})
    volume = {"m3": 1.0, "m^3": 1.0, "L": 1e-3, "l": 1e-3, "kL": 1.0, "ML": 1e3, "gal": 3.785411784e-3,
              "kgal": 3.785411784}
    volume_rate = {f"{v}/{t}": fv / ft for v, fv in volume.items()
                   for t, ft in (("s", 1.0), ("min", 60.0), ("h", 3600.0), ("hr", 3600.0), ("d", 86400.0))}
    price_volume = {"/" + k: 1.0 / v for k, v in volume.items()}
    price_volume.update({"USD/" + k: 1.0 / v for k, v in volume.items()})
    price_power = {"/" + k: 1.0 / v for k, v in power.items()}
    price_power.update({"USD/" + k: 1.0 / v for k, v in power.items()})
    price_time = {"/" + k: 1.0 / v for k, v in time.items()}
    price_time.update({"USD/" + k: 1.0 / v for k, v in time.items()})
    count = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}
    for word in ("tokens", "token", "tok", "requests", "req", "steps", "sequences", "seq"):
        for prefix, f in list(count.items()):
            if prefix.isalpha() or prefix == "":
                count[f"{prefix}{word}"] = f
    return {
        "count": count,
        "time": time,
        "power": power,
        "energy": energy,
        "bytes": data,
        "bandwidth": bandwidth,
        "flop": flop,
        "flops": flops,
        "money": money,
        "price_energy": price_energy,
        "price_time": price_time,
        "volume": volume,
        "volume_rate": volume_rate,
        "price_volume": price_volume,
        "price_power": price_power,
        "carbon_intensity": carbon,
        "rate": rate,
        "fraction": {"": 1.0, "%": 0.01},
        "dimensionless": {"": 1.0},
    }


_TABLES = _build_tables()

KIND_NAMES = {
    "count": ("a count", "'300B', '2.5T tokens', '1e6'", "1"),
    "time": ("a duration", "'30d', '5min', '1.5h', '200ms'", "s"),
    "power": ("a power", "'700W', '40kW', '1.2MW'", "W"),
    "energy": ("an energy", "'5kWh', '1.2MWh', '3MJ'", "J"),
    "bytes": ("a size in bytes", "'80GiB', '141GB', '512MB'", "B"),
    "bandwidth": ("a bandwidth", "'400Gb/s', '900GB/s', '3.35TB/s'", "B/s"),
    "flop": ("a FLOP count", "'6e23 FLOP', '1.2 EFLOP'", "FLOP"),
    "flops": ("a compute rate", "'989 TFLOP/s', '2.25 PFLOP/s'", "FLOP/s"),
    "money": ("an amount of money", "'$30000', '$30k', '$1.2M'", "USD"),
    "price_energy": ("an energy price", "'$0.08/kWh', '$80/MWh'", "USD/J"),
    "price_time": ("a price per time", "'$2.5/h'", "USD/s"),
    "volume": ("a volume", "'5m3', '1200L', '10kgal'", "m3"),
    "volume_rate": ("a volume flow", "'50m3/h', '2L/s'", "m3/s"),
    "price_volume": ("a price per volume", "'$2/m3', '$0.004/L'", "USD/m3"),
    "price_power": ("a price per power", "'$1200/kW', '$11/W'", "USD/W"),
    "carbon_intensity": ("a carbon intensity", "'350g/kWh', '0.35kg/kWh'", "kg/J"),
    "rate": ("a rate", "'10/s', '600/min'", "1/s"),
    "fraction": ("a fraction", "'95%', 0.95", "1"),
    "temperature": ("a temperature", "'25C', '77F', '298K'", "degC"),
    "temperature_difference": ("a temperature difference", "'10C', '18F', '10K'", "K"),
    "dimensionless": ("a plain number", "'12', '0.5'", "1"),
}

_CURRENCY_KINDS = ("money", "price_energy", "price_time", "price_volume", "price_power")

_TEMPERATURE = {
    "C": lambda x: x, "°C": lambda x: x, "degC": lambda x: x, "celsius": lambda x: x,
    "F": lambda x: (x - 32.0) * 5.0 / 9.0, "°F": lambda x: (x - 32.0) * 5.0 / 9.0,
    "degF": lambda x: (x - 32.0) * 5.0 / 9.0,
    "K": lambda x: x - 273.15,
}


# A difference of temperatures scales but never shifts: 18 F of swing is 10 K, not -7.8 C.
_TEMPERATURE_DIFFERENCE = {
    "C": 1.0, "°C": 1.0, "degC": 1.0, "celsius": 1.0, "K": 1.0,
    "F": 5.0 / 9.0, "°F": 5.0 / 9.0, "degF": 5.0 / 9.0,
}


def _normalise_unit(unit: str) -> str:
    return unit.replace(" ", "").replace("·", "")


def _lookup(unit: str, kind: str) -> float | None:
    table = _TABLES[kind]
    for candidate in (unit, _normalise_unit(unit)):
        if candidate in table:
            return table[candidate]
    # Accept the price kinds without a leading '$' when written as "0.08 USD/kWh".
    return None


def _kinds_of(unit: str) -> list[str]:
    found = []
    for kind in _TABLES:
        if kind in ("dimensionless", "fraction") and unit == "":
            continue
        if _lookup(unit, kind) is not None:
            found.append(kind)
    if _normalise_unit(unit) in _TEMPERATURE:
        found += ["temperature", "temperature_difference"]
    return found


def parse_quantity(value: object, kind: str) -> float:
    """Read ``value`` (a number, or a string with a unit) as a quantity of ``kind``, in SI.

    Raises UnitError naming the expected kind and, where the unit belongs to another kind,
    that kind too.
    """
    if kind not in KIND_NAMES:
        raise ValueError(f"unknown quantity kind {kind!r}")
    what, examples, _si = KIND_NAMES[kind]
    if isinstance(value, bool) or value is None:
        raise UnitError(f"expected {what} such as {examples}, got {value!r}")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:
            raise UnitError(f"{value} is too large to be {what}") from None
        if not math.isfinite(result):
            raise UnitError(f"expected a finite {what.split(' ', 1)[1]}, got {value!r}")
        return result
    if not isinstance(value, str):
        raise UnitError(f"expected {what} such as {examples}, got {type(value).__name__} {value!r}")
    if len(value) > 64:
        raise UnitError(f"expected {what} such as {examples}, got a {len(value)}-character string")
    match = _QUANTITY.match(value)
    if not match:
        raise UnitError(f"expected {what} such as {examples}, got {value!r}")
    number = float(match["num"])
    unit = match["unit"]
    currency = bool(match["cur"])
    if not math.isfinite(number):
        raise UnitError(f"{value!r} is too large to be {what}")
    if kind == "temperature":
        convert = _TEMPERATURE.get(_normalise_unit(unit) or "C")
        if convert is not None and not currency:
            return float(convert(number))
        factor = None
    elif kind == "temperature_difference":
        factor = None if currency else _TEMPERATURE_DIFFERENCE.get(_normalise_unit(unit) or "C")
    else:
        factor = _lookup(unit, kind)
    if factor is not None:
        if kind in _CURRENCY_KINDS and not currency and unit and not unit.startswith("USD"):
            raise UnitError(f"expected {what} with a currency, such as {examples}, got {value!r}")
        inverse = 1.0 / factor
        result = number / inverse if factor < 1.0 and inverse.is_integer() else number * factor
        if not math.isfinite(result):
            raise UnitError(f"{value!r} is too large to be {what}")
        return result
    others = [k for k in _kinds_of(unit) if k != kind and not k.startswith("temperature")]
    if unit and others:
        other_what = KIND_NAMES[others[0]][0]
        raise UnitError(f"{value!r} is {other_what}, expected {what} such as {examples}")
    if unit:
        raise UnitError(f"unknown unit {unit!r} in {value!r}: expected {what} such as {examples}")
    raise UnitError(f"expected {what} such as {examples}, got {value!r}")


_FORMAT_UNITS = {
    "count": [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"), (1.0, "")],
    "time": [(86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "us")],
    "power": [(1e9, "GW"), (1e6, "MW"), (1e3, "kW"), (1.0, "W")],
    "energy": [(3.6e12, "GWh"), (3.6e9, "MWh"), (3.6e6, "kWh"), (1.0, "J")],
    "bytes": [(2.0**50, "PiB"), (2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B")],
    "bandwidth": [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"), (1.0, "B/s")],
    "flop": [(1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1.0, "FLOP")],
    "flops": [(1e15, "PFLOP/s"), (1e12, "TFLOP/s"), (1e9, "GFLOP/s"), (1.0, "FLOP/s")],
    "money": [(1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")],
    "price_energy": [(1 / 3.6e6, "/kWh")],
    "price_time": [(1 / 3600.0, "/h")],
    "volume": [(1.0, "m3"), (1e-3, "L")],
    "volume_rate": [(1 / 3600.0, "m3/h")],
    "price_volume": [(1.0, "/m3")],
    "price_power": [(1e-3, "/kW")],
    "carbon_intensity": [(1e-3 / 3.6e6, "g/kWh")],
    "rate": [(1.0, "/s")],
    "fraction": [(0.01, "%")],
    "temperature": [(1.0, "C")],
    "temperature_difference": [(1.0, "K")],
    "dimensionless": [(1.0, "")],
}


def format_quantity(value_si: float, kind: str, digits: int | None = None) -> str:
    """Write an SI value in the largest unit that keeps it >= 1; ``parse_quantity`` reads it back."""
    units = _FORMAT_UNITS[kind]
    factor, unit = units[-1]
    for f, u in units:
        if abs(value_si) >= f:
            factor, unit = f, u
            break
    inverse = 1.0 / factor
    number = value_si * inverse if inverse.is_integer() else value_si / factor
    text = repr(number) if digits is None else f"{number:.{digits}g}"
    if text.endswith(".0"):
        text = text[:-2]
    if kind in _CURRENCY_KINDS:
        return f"${text}{unit}"
    sep = "" if unit in ("%", "") or kind == "count" else " "
    return f"{text}{sep}{unit}"


# ----------------------------------------------------------------------------- the one number formatter
MISSING = "—"
HUGE = 1e6  # beyond a million of the largest unit, exponent notation keeps the text short

# Ascending (factor, unit) ladders for ``human``; a quantity shows in the largest unit that keeps
# it at or above 1, zero in the unit of factor 1.
_LADDERS: dict[str, list[tuple[float, str]]] = {
    "energy": [(1.0, "J"), (3.6e3, "Wh"), (3.6e6, "kWh"), (3.6e9, "MWh"), (3.6e12, "GWh"), (3.6e15, "TWh")],
    "power": [(1.0, "W"), (1e3, "kW"), (1e6, "MW"), (1e9, "GW")],
    "time": [(1e-6, "us"), (1e-3, "ms"), (1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "days")],
    "mass": [(1.0, "kg"), (1e3, "t"), (1e6, "kt"), (1e9, "Mt")],
    "count": [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")],
    "bytes": [(1.0, "B"), (2.0**10, "KiB"), (2.0**20, "MiB"), (2.0**30, "GiB"), (2.0**40, "TiB"), (2.0**50, "PiB")],
    "bandwidth": [(1.0, "B/s"), (1e3, "kB/s"), (1e6, "MB/s"), (1e9, "GB/s"), (1e12, "TB/s")],
    "flop": [(1.0, "FLOP"), (1e9, "GFLOP"), (1e12, "TFLOP"), (1e15, "PFLOP"), (1e18, "EFLOP")],
    "flops": [(1.0, "FLOP/s"), (1e9, "GFLOP/s"), (1e12, "TFLOP/s"), (1e15, "PFLOP/s")],
    "price_energy": [(1 / 3.6e6, "/kWh")],
    "price_time": [(1 / 3600.0, "/h")],
    "carbon_intensity": [(1e-3 / 3.6e6, "g/kWh")],
    "rate": [(1.0, "/s")],
    "temperature": [(1.0, "C")],
    "temperature_difference": [(1.0, "K")],
    "volume": [(1e-3, "L"), (1.0, "m3")],
    "volume_rate": [(1e-3, "L/s"), (1.0, "m3/s")],
    "price_volume": [(1.0, "/m3")],
    "price_power": [(1.0, "/W")],
    "dimensionless": [(1.0, "")],
}


def finite(value: object) -> float | None:
    """``value`` as a float, or None when it is missing, not a number or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def three_figures(number: float) -> str:
    """A non-negative number with three significant figures, never in exponent notation."""
    decimals = 2 if number < 10 else 1 if number < 100 else 0
    return f"{number:.{decimals}f}"


def bounded(number: float, text: str) -> str:
    """``text``, or ``number`` in exponent notation when it is absurdly large (1e300 USD)."""
    return f"{number:.2e}" if abs(number) >= HUGE else text


def scaled(value: float, units: list[tuple[float, str]]) -> tuple[str, str]:
    """(digits, unit) for |value| in the largest unit of ``units`` (ascending) that keeps it >= 1;
    zero in the unit of factor 1 (else the first), anything smaller in the first."""
    magnitude = abs(value)
    index = next((i for i, (f, _) in enumerate(units) if f == 1.0), 0) if magnitude == 0 else 0
    for i, (factor, _) in enumerate(units):
        if magnitude >= factor > 0:
            index = i
    digits = three_figures(magnitude / units[index][0])
    if float(digits) >= 1000 and index + 1 < len(units) \
            and float(three_figures(magnitude / units[index + 1][0])) >= 1:  # 999.7 kWh rounds to 1.00 MWh
        index += 1
        digits = three_figures(magnitude / units[index][0])
    digits = bounded(magnitude / units[index][0], digits)
    sign = "-" if value < 0 and float(digits) != 0 else ""
    return sign + digits, units[index][1]


def human(value_si: object, kind: str) -> str:
    """The one way dcsim writes a quantity for people (reports, tables, messages): three
    significant figures without exponent notation, in the largest unit that keeps the number at
    or above 1 (``human(3.6e9, "energy") == "1.00 MWh"``, ``human(0.005, "time") == "5.00 ms"``);
    money as dollars with cents below $1000 and k/M/B/T above; a fraction as a percentage; a
    missing, non-numeric or infinite value as ``MISSING``. Parses back (``parse_quantity``) to
    within the rounding."""
    number = finite(value_si)
    if number is None:
        return MISSING
    if kind == "money":
        sign = "-" if number < 0 else ""
        if abs(number) < 999.995:
            cents = f"{abs(number):.2f}"
            return f"{'' if cents == '0.00' else sign}${cents}"
        digits, suffix = scaled(abs(number), _LADDERS["count"])
        return f"{sign}${digits}{suffix}"
    if kind == "fraction":
        return f"{bounded(number * 100, f'{number * 100:.1f}')}%"
    digits, unit = scaled(number, _LADDERS[kind])
    if kind in ("price_energy", "price_time"):
        return f"${digits}{unit}"
    return f"{digits}{'' if kind in ('count', 'dimensionless') else ' '}{unit}"


def parser(kind: str) -> Callable[[object], float]:
    """A one-argument parse function for ``kind`` (for pydantic BeforeValidator)."""

    def parse(value: object) -> float:
        try:
            return parse_quantity(value, kind)
        except UnitError as err:
            raise ValueError(str(err)) from None

    parse.__name__ = f"parse_{kind}"
    return parse
