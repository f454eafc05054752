"""Pydantic field types for quantities: accept numbers (SI) or strings with units, store SI floats.

Each type documents its SI unit and examples in the generated JSON Schema, so the scenario
reference shows a planner what to write.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from simulator.domain.units import KIND_NAMES, human, parser


def _json(kind: str) -> WithJsonSchema:
    """The JSON Schema of a quantity field: a number in SI or a string with its unit."""
    what, examples, si = KIND_NAMES[kind]
    return WithJsonSchema({
        "anyOf": [{"type": "number"}, {"type": "string"}],
        "description": f"{what[0].upper() + what[1:]}; a number in {si} or a string such as {examples}.",
    })


def at_most(limit_si: float, kind: str, why: str = "") -> AfterValidator:
    """An upper bound whose message reads in human units ("at most $20.0/kWh"), not in SI."""

    def check(value: float) -> float:
        if value > limit_si:
            raise ValueError(f"at most {human(limit_si, kind)}{f' ({why})' if why else ''}")
        return value

    return AfterValidator(check)


Amount = Annotated[float, BeforeValidator(parser("count")), _json("count")]
Seconds = Annotated[float, BeforeValidator(parser("time")), _json("time")]
Watts = Annotated[float, BeforeValidator(parser("power")), _json("power")]
Joules = Annotated[float, BeforeValidator(parser("energy")), _json("energy")]
Bytes = Annotated[float, BeforeValidator(parser("bytes")), _json("bytes")]
BytesPerS = Annotated[float, BeforeValidator(parser("bandwidth")), _json("bandwidth")]
Flop = Annotated[float, BeforeValidator(parser("flop")), _json("flop")]
FlopPerS = Annotated[float, BeforeValidator(parser("flops")), _json("flops")]
Usd = Annotated[float, BeforeValidator(parser("money")), _json("money")]
UsdPerJ = Annotated[float, BeforeValidator(parser("price_energy")), _json("price_energy")]
UsdPerS = Annotated[float, BeforeValidator(parser("price_time")), _json("price_time")]
KgPerJ = Annotated[float, BeforeValidator(parser("carbon_intensity")), _json("carbon_intensity")]
Volume = Annotated[float, BeforeValidator(parser("volume")), _json("volume")]
VolumeRate = Annotated[float, BeforeValidator(parser("volume_rate")), _json("volume_rate")]
UsdPerM3 = Annotated[float, BeforeValidator(parser("price_volume")), _json("price_volume")]
UsdPerW = Annotated[float, BeforeValidator(parser("price_power")), _json("price_power")]
PerS = Annotated[float, BeforeValidator(parser("rate")), _json("rate")]
Fraction = Annotated[float, BeforeValidator(parser("fraction")), _json("fraction")]
# An absolute temperature (25C, 77F, 298K all read as 25 degrees C).
Celsius = Annotated[float, BeforeValidator(parser("temperature")), _json("temperature"), Field(ge=-273.15, le=10_000)]
# A temperature difference (a swing, a band, a spread) in kelvin: 18F reads as 10 K, never shifted by 32.
Kelvin = Annotated[float, BeforeValidator(parser("temperature_difference")), _json("temperature_difference")]

PositiveSeconds = Annotated[Seconds, Field(gt=0)]
NonNegSeconds = Annotated[Seconds, Field(ge=0)]
PositiveWatts = Annotated[Watts, Field(gt=0)]
NonNegWatts = Annotated[Watts, Field(ge=0)]
PositiveBytes = Annotated[Bytes, Field(gt=0)]
NonNegBytes = Annotated[Bytes, Field(ge=0)]
PositiveBytesPerS = Annotated[BytesPerS, Field(gt=0)]
PositiveFlopPerS = Annotated[FlopPerS, Field(gt=0)]
NonNegUsd = Annotated[Usd, Field(ge=0)]
NonNegUsdPerJ = Annotated[UsdPerJ, Field(ge=0)]
NonNegKgPerJ = Annotated[KgPerJ, Field(ge=0)]
UnitFraction = Annotated[Fraction, Field(ge=0, le=1)]
# Outdoor air: WMO world records are -89.2 C (Vostok, 1983) and 56.7 C (Death Valley, 1913).
OutdoorCelsius = Annotated[float, BeforeValidator(parser("temperature")), _json("temperature"), Field(ge=-90, le=60)]
Efficiency = Annotated[Fraction, Field(gt=0, le=1)]
Count = Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
NonNegCount = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
BigCount = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class Frozen(BaseModel):
    """Base for every scenario and catalog model: immutable, unknown keys rejected, finite floats."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        strict=False,
        validate_default=True,
        populate_by_name=True,
    )
