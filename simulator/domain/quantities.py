"""Pydantic field types for quantities: accept numbers (SI) or strings with units, store SI floats.

Each type documents its SI unit and examples in the generated JSON Schema, so the scenario
reference shows a planner what to write.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from simulator.domain.units import KIND_NAMES, parser


def _quantity(kind: str):
    what, examples, si = KIND_NAMES[kind]
    schema = {
        "anyOf": [{"type": "number"}, {"type": "string"}],
        "description": f"{what[0].upper() + what[1:]}; a number in {si} or a string such as {examples}.",
    }
    return Annotated[float, BeforeValidator(parser(kind)), WithJsonSchema(schema)]


Amount = _quantity("count")
Seconds = _quantity("time")
Watts = _quantity("power")
Joules = _quantity("energy")
Bytes = _quantity("bytes")
BytesPerS = _quantity("bandwidth")
Flop = _quantity("flop")
FlopPerS = _quantity("flops")
Usd = _quantity("money")
UsdPerJ = _quantity("price_energy")
UsdPerS = _quantity("price_time")
KgPerJ = _quantity("carbon_intensity")
Volume = _quantity("volume")
VolumeRate = _quantity("volume_rate")
UsdPerM3 = _quantity("price_volume")
UsdPerW = _quantity("price_power")
PerS = _quantity("rate")
Celsius = Annotated[_quantity("temperature"), Field(ge=-273.15, le=10_000)]  # a temperature or a difference
Fraction = _quantity("fraction")

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
OutdoorCelsius = Annotated[_quantity("temperature"), Field(ge=-90, le=60)]
Efficiency = Annotated[Fraction, Field(gt=0, le=1)]
Count = Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
NonNegCount = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
BigCount = Annotated[int, Field(strict=True, ge=1, le=2**53)]


def _temperature_difference(value):
    """A temperature difference: a number, or a string in K or C (both the same size of degree)."""
    if isinstance(value, str):
        text = value.strip()
        for unit in ("degC", "°C", "K", "C"):
            if text.endswith(unit):
                text = text[: -len(unit)].strip()
                break
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a temperature difference such as '5K' or 5, got {value!r}") from None
    return value


TemperatureDifference = Annotated[
    float, BeforeValidator(_temperature_difference),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}],
                    "description": "A temperature difference; a number in K or a string such as '5K', '5C'."})]


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
