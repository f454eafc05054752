"""Units: human strings in, SI out, checked against conversions worked out by hand."""

from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.domain.units import KIND_NAMES, format_quantity, human, parse_quantity, parser
from simulator.errors import DcsimError, UnitError

ALL_KINDS = [
    "count",
    "time",
    "power",
    "energy",
    "bytes",
    "bandwidth",
    "flop",
    "flops",
    "money",
    "price_energy",
    "price_time",
    "volume",
    "volume_rate",
    "price_volume",
    "price_power",
    "carbon_intensity",
    "rate",
    "fraction",
    "temperature",
    "temperature_difference",
    "dimensionless",
]

KWH_J = 3.6e6  # 1 kWh = 1000 W * 3600 s


def test_every_documented_kind_is_known():
    assert sorted(KIND_NAMES) == sorted(ALL_KINDS)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # 400 Gb/s = 400e9 bit/s / 8 bit per byte = 5e10 B/s
        ("400Gb/s", "bandwidth", 5e10),
        ("400 Gbps", "bandwidth", 5e10),
        ("3.35TB/s", "bandwidth", 3.35e12),
        ("900GB/s", "bandwidth", 9e11),
        # 80 GiB = 80 * 2**30 = 85 899 345 920 B
        ("80GiB", "bytes", 85_899_345_920.0),
        ("141GB", "bytes", 141e9),
        ("512MiB", "bytes", 512 * 2**20),
        # $0.08 per kWh, 1 kWh = 3.6e6 J
        ("$0.08/kWh", "price_energy", 0.08 / KWH_J),
        ("$80/MWh", "price_energy", 80 / 3.6e9),
        ("0.08 USD/kWh", "price_energy", 0.08 / KWH_J),
        # 350 g/kWh = 0.35 kg / 3.6e6 J
        ("350 g/kWh", "carbon_intensity", 0.35 / KWH_J),
        ("350g/kWh", "carbon_intensity", 0.35 / KWH_J),
        ("0.35kg/kWh", "carbon_intensity", 0.35 / KWH_J),
        # (77 - 32) * 5/9 = 25 C
        ("77F", "temperature", 25.0),
        ("25C", "temperature", 25.0),
        ("-40F", "temperature", -40.0),
        ("298.15K", "temperature", 25.0),
        # A difference scales by 5/9 without the 32 F offset: 60 F of swing = 33.33 K, 18 F = 10 K.
        ("60F", "temperature_difference", 60 * 5 / 9),
        ("18 degF", "temperature_difference", 10.0),
        ("10K", "temperature_difference", 10.0),
        ("10C", "temperature_difference", 10.0),
        ("7", "temperature_difference", 7.0),
        ("30d", "time", 30 * 86400.0),
        ("5min", "time", 300.0),
        ("1.5h", "time", 5400.0),
        ("200ms", "time", 0.2),
        ("2.5us", "time", 2.5e-6),
        ("1.2MW", "power", 1.2e6),
        ("700W", "power", 700.0),
        ("40kW", "power", 40e3),
        ("5kWh", "energy", 5 * KWH_J),
        ("3MJ", "energy", 3e6),
        ("300B", "count", 300e9),
        ("2.5T tokens", "count", 2.5e12),
        ("1e6", "count", 1e6),
        ("95%", "fraction", 0.95),
        ("989.4TFLOP/s", "flops", 989.4e12),
        ("2.25 PFLOP/s", "flops", 2.25e15),
        ("6e23 FLOP", "flop", 6e23),
        ("$30k", "money", 30e3),
        ("$1.2M", "money", 1.2e6),
        ("$2.5/h", "price_time", 2.5 / 3600),
        ("600/min", "rate", 10.0),
        ("10/s", "rate", 10.0),
    ],
)
def test_hand_worked_conversions(text, kind, expected):
    assert parse_quantity(text, kind) == pytest.approx(expected, rel=1e-12)


def test_exact_values_where_exact_arithmetic_is_possible():
    # No rounding in these: powers of two and exact decimal multiples.
    assert parse_quantity("80GiB", "bytes") == 85_899_345_920.0
    assert parse_quantity("400Gb/s", "bandwidth") == 50_000_000_000.0
    assert parse_quantity("30d", "time") == 2_592_000.0
    assert parse_quantity("77F", "temperature") == 25.0


def test_bare_numbers_are_already_si():
    assert parse_quantity(700, "power") == 700.0
    assert parse_quantity(2.5, "time") == 2.5
    assert isinstance(parse_quantity(3, "count"), float)
    # Plain counts and fractions may be written as strings without a unit ...
    assert parse_quantity("42", "count") == 42.0
    assert parse_quantity("0.5", "fraction") == 0.5


def test_strings_for_dimensioned_kinds_must_carry_a_unit():
    # ... but a quoted "42" where a power belongs is ambiguous (W? kW?) and is refused.
    with pytest.raises(UnitError, match="expected a power"):
        parse_quantity("42", "power")


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (5e10, "bandwidth", "50.0 GB/s"),
        (85_899_345_920.0, "bytes", "80.0 GiB"),
        (2_592_000.0, "time", "30.0 days"),
        (0.005, "time", "5.00 ms"),
        (0.0, "time", "0.00 s"),
        (1.2e6, "power", "1.20 MW"),
        (999_700.0, "power", "1.00 MW"),       # 999.7 kW rounds up into the next unit
        (0.95, "fraction", "95.0%"),
        (300e9, "count", "300B"),
        (30e3, "money", "$30.0k"),
        (12.345, "money", "$12.35"),
        (0.08 / KWH_J, "price_energy", "$0.08/kWh"),
        (float("nan"), "power", "—"),
        (None, "energy", "—"),
    ],
)
def test_human_renders_three_significant_figures(value, kind, text):
    assert human(value, kind) == text


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["energy", "power", "time", "bytes", "bandwidth", "flop", "flops"]),
       value=st.floats(min_value=1.0, max_value=1e17, allow_nan=False, allow_infinity=False))
def test_human_reads_back_within_its_rounding(kind, value):
    """From each kind's smallest unit up (below it three figures keep only two decimals)."""
    text = human(value, kind)
    assert math.isclose(parse_quantity(text, kind), value, rel_tol=0.006), (kind, value, text)


def test_the_reports_format_through_the_same_formatter():
    from simulator.report import fmt

    for value in (0.0, 0.2, 59.9, 3600.0, 1.2e6, 3.6e9, 7.7e12):
        assert fmt.fmt_energy(value) == human(value, "energy")
        assert fmt.fmt_power(value) == human(value, "power")
        assert fmt.fmt_duration(value) == human(value, "time")
        assert fmt.fmt_usd(value) == human(value, "money")


# ----------------------------------------------------------------------------- round trips
_POSITIVE = st.floats(min_value=1e-6, max_value=1e15, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(ALL_KINDS), value=_POSITIVE)
def test_format_then_parse_round_trips(kind, value):
    text = format_quantity(value, kind)
    back = parse_quantity(text, kind)
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=0.0), (kind, value, text, back)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(min_value=-90.0, max_value=1000.0, allow_nan=False))
def test_temperature_round_trips_below_zero_too(value):
    back = parse_quantity(format_quantity(value, "temperature"), "temperature")
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=1e-12)


# ----------------------------------------------------------------------------- errors
def test_wrong_kind_names_both_kinds():
    with pytest.raises(UnitError) as info:
        parse_quantity("400Gb/s", "power")
    text = str(info.value)
    assert "'400Gb/s'" in text
    assert "bandwidth" in text  # what it is
    assert "power" in text  # what was expected
    assert "700W" in text  # an example of what is allowed


def test_wrong_kind_other_direction():
    with pytest.raises(UnitError, match=r"is a power, expected a duration"):
        parse_quantity("5kW", "time")


@pytest.mark.parametrize(
    ("text", "unit"), [("5 parsecs", "parsecs"), ("12 furlongs/s", "furlongs/s")]
)
def test_unknown_unit_is_named(text, unit):
    with pytest.raises(UnitError) as info:
        parse_quantity(text, "time")
    assert f"unknown unit '{unit}'" in str(info.value)
    assert "a duration" in str(info.value)


@pytest.mark.parametrize(
    "value",
    ["1e999W", "1e308 GW", "nan", "inf W", float("nan"), float("inf"), -float("inf")],
)
def test_non_finite_and_overflow_rejected(value):
    with pytest.raises(UnitError):
        parse_quantity(value, "power")


def test_overflowing_integer_is_a_unit_error():
    # A YAML integer literal with 400 digits arrives as a Python int too large for a float;
    # it must be reported as bad input (UnitError), not escape as OverflowError.
    with pytest.raises(UnitError):
        parse_quantity(10**400, "power")


@pytest.mark.parametrize("value", [True, False, None, [700], {"w": 700}, b"700W"])
def test_non_quantities_rejected(value):
    with pytest.raises(UnitError, match="expected a power"):
        parse_quantity(value, "power")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0.08/kWh", "price_energy"),
        ("80/MWh", "price_energy"),
        ("2.5/h", "price_time"),
        ("30k", "money"),
    ],
)
def test_prices_need_a_currency(text, kind):
    with pytest.raises(UnitError, match="with a currency"):
        parse_quantity(text, kind)


def test_overlong_strings_rejected_without_regex_work():
    with pytest.raises(UnitError, match="100-character string"):
        parse_quantity("1" * 100, "power")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown quantity kind"):
        parse_quantity("1W", "voltage")


def test_parser_for_pydantic_raises_value_error_with_the_message():
    parse = parser("bandwidth")
    assert parse("400Gb/s") == 5e10
    assert parse.__name__ == "parse_bandwidth"
    with pytest.raises(ValueError, match="is a power, expected a bandwidth") as info:
        parse("5kW")
    assert not isinstance(info.value, UnitError)


def test_unit_error_is_a_dcsim_error_and_pickles():
    err = UnitError("'5kW' is a power, expected a duration")
    assert isinstance(err, DcsimError)
    assert isinstance(err, ValueError)
    assert err.exit_code == 2
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is UnitError
    assert str(back) == str(err)


def test_errors_are_also_the_matching_builtins():
    import pickle

    from simulator.errors import CatalogError, DcsimError, DoesNotFitError, InputError, Problem

    bad = InputError([Problem("a.b", "is wrong", 3)], "s.yaml")
    assert isinstance(bad, ValueError) and isinstance(bad, DcsimError)
    assert isinstance(CatalogError("unknown node 'x'"), LookupError)
    assert isinstance(DoesNotFitError("too big", 2.0, 1.0), ValueError)
    with pytest.raises(ValueError, match="expected a power"):
        parse_quantity("400Gb/s", "power")          # a UnitError
    back = pickle.loads(pickle.dumps(bad))
    assert type(back) is InputError and back.lines() == bad.lines()
