"""Scenario section ``site``: where the cluster lives: its grid power envelope, outdoor climate
(dry and wet bulb) and electricity (price, carbon, demand charge)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from simulator.domain.quantities import (
    Frozen,
    NonNegKgPerJ,
    NonNegSeconds,
    NonNegUsdPerJ,
    OutdoorCelsius,
    PositiveSeconds,
    PositiveWatts,
    UnitFraction,
    UsdPerW,
    at_most,
)
from simulator.scenario.calendar import YearlyTrend
from simulator.scenario.phased import MAX_SCHEDULE_STEPS, EnvelopeStep, ScheduledEnvelope


def _shorthand(key: str, tag: str):
    """Allow ``climate: temperate`` as shorthand for ``{type: builtin, name: temperate}``."""

    def convert(value):
        if isinstance(value, str):
            return {"type": tag, key: value}
        return value

    return BeforeValidator(convert)


class BuiltinClimate(Frozen):
    """A catalog climate (see ``dcsim catalog climates``)."""

    type: Literal["builtin"] = "builtin"
    name: str = Field(description="Catalog climate name, e.g. temperate, hot-dry, nordic.")


class CsvProfile(Frozen):
    """An hourly (or any step) profile from a CSV file: columns ``hour`` and ``value``.

    Paths are relative to the scenario file and may not leave its folder. The profile repeats
    when the simulation runs past its end.
    """

    type: Literal["csv"] = "csv"
    path: str = Field(min_length=1, max_length=4096, description="CSV path relative to the scenario file.")
    column: str = Field("value", description="Column holding the values.")


class CsvClimate(CsvProfile):
    """Hourly weather from a CSV file: dry-bulb temperature (C) in ``column``, and the wet bulb
    (C) in ``wet_bulb_column`` or the relative humidity (%) in ``humidity_column``; without
    either, ``relative_humidity`` holds every hour."""

    wet_bulb_column: str | None = Field(None, description="Column holding the wet-bulb temperature (C).")
    humidity_column: str | None = Field(None, description="Column holding the relative humidity (%).")
    relative_humidity: UnitFraction = Field(0.5, description="Relative humidity when the file has no "
                                                             "humidity or wet-bulb column.")

    @model_validator(mode="after")
    def _one_humidity(self):
        if self.wet_bulb_column is not None and self.humidity_column is not None:
            raise ValueError("give wet_bulb_column or humidity_column, not both")
        return self


class ConstantClimate(Frozen):
    """A fixed outdoor temperature (for tests and what-ifs)."""

    type: Literal["constant"] = "constant"
    temperature: OutdoorCelsius
    relative_humidity: UnitFraction = Field(0.5, description="Relative humidity (sets the wet bulb).")
    wet_bulb: OutdoorCelsius | None = Field(None, description="Wet-bulb temperature; default from the "
                                                             "relative humidity.")

    @model_validator(mode="after")
    def _wet_below_dry(self):
        if self.wet_bulb is not None and self.wet_bulb > self.temperature:
            raise ValueError(f"wet_bulb ({self.wet_bulb:g} C) cannot exceed the temperature "
                             f"({self.temperature:g} C)")
        return self


Climate = Annotated[
    BuiltinClimate | CsvClimate | ConstantClimate,
    Field(discriminator="type"),
    _shorthand("name", "builtin"),
]


class FlatProfile(Frozen):
    """The same value every hour."""

    type: Literal["flat"] = "flat"


class TimeOfUseProfile(Frozen):
    """Peak hours cost ``peak_multiplier`` times the base, off-peak ``offpeak_multiplier`` times."""

    type: Literal["time-of-use"] = "time-of-use"
    peak_start_hour: float = Field(16.0, ge=0, lt=24)
    peak_end_hour: float = Field(21.0, gt=0, le=24)
    peak_multiplier: float = Field(2.0, gt=0, le=100)
    offpeak_multiplier: float = Field(0.8, gt=0, le=100)
    weekend_offpeak: bool = True

    @field_validator("peak_end_hour")
    @classmethod
    def _after_start(cls, end: float, info: ValidationInfo) -> float:
        start = info.data.get("peak_start_hour")
        if start is not None and end <= start:
            raise ValueError(f"must be after peak_start_hour ({start:g}); got {end:g}")
        return end


class SolarDipProfile(Frozen):
    """Carbon intensity falling around midday as solar output rises: base*(1 - depth*daylight)."""

    type: Literal["solar-dip"] = "solar-dip"
    depth: UnitFraction = Field(0.4, description="Fractional drop at solar noon.")


PriceProfile = Annotated[FlatProfile | TimeOfUseProfile | CsvProfile, Field(discriminator="type")]
CarbonProfile = Annotated[FlatProfile | SolarDipProfile | CsvProfile, Field(discriminator="type")]


class Electricity(Frozen):
    """Grid electricity: price and carbon intensity, each a base value times an hourly profile."""

    price: Annotated[NonNegUsdPerJ, at_most(20.0 / 3.6e6, "price_energy")] = Field(
        0.08 / 3.6e6, description="Base price, e.g. '$0.08/kWh' (at most $20/kWh, as a CSV profile).")
    price_profile: PriceProfile = Field(default_factory=FlatProfile)
    carbon: Annotated[NonNegKgPerJ, at_most(2.0 / 3.6e6, "carbon_intensity")] = Field(
        0.35 / 3.6e6, description="Base intensity, e.g. '350g/kWh' (at most 2000 g/kWh, as a CSV profile).")
    carbon_profile: CarbonProfile = Field(default_factory=FlatProfile)
    demand_charge: Annotated[UsdPerW, Field(ge=0)] = Field(
        0.0, description="Charge per W of the month's highest grid draw, e.g. '$15/kW' (per 30 days).")
    price_trend: YearlyTrend = Field(0.0, description="Yearly change of the price, compounded, e.g. '3%/year'.")
    carbon_trend: YearlyTrend = Field(0.0, description="Yearly change of the carbon intensity, e.g. '-5%/year'.")


class GridOutages(Frozen):
    """Losses of the grid supply: Poisson (``per_year``, exponential durations of mean
    ``mean_duration``) or hour by hour from a CSV (``path``: 1 in ``column`` for the hours the
    grid is out; consecutive hours are one outage). engine/grid_events.py rides them through on
    the UPS and generators, or blacks the site out."""

    per_year: float = Field(0.0, ge=0, le=10_000, description="Mean outages per year (Poisson).")
    mean_duration: PositiveSeconds = Field(3600.0, description="Mean outage duration, e.g. '2h'.")
    path: str | None = Field(None, min_length=1, max_length=4096, description="CSV of outage hours instead.")
    column: str = Field("outage", description="CSV column: 1 while the grid is out, 0 otherwise.")
    restart_time: NonNegSeconds = Field(1800.0, description="After a blackout, until work restarts (then each job "
                                                            "reads its checkpoint back).")


class Site(ScheduledEnvelope):
    """Where the cluster lives: grid power envelope (one power or a schedule), outdoor climate, electricity."""

    name: str = Field("site", max_length=200)
    power_envelope: PositiveWatts = Field(
        description="Grid connection limit for the whole facility, e.g. '20MW', or a schedule "
                    "[{from: 2027-01-01, power: 20MW}, {from: 2028-Q1, power: 60MW}].")
    climate: Climate = Field(default_factory=lambda: BuiltinClimate(name="temperate"))
    electricity: Electricity = Field(default_factory=Electricity)
    grid_outages: GridOutages | None = Field(None, description="Grid supply outages (none when absent).")
    power_schedule: list[EnvelopeStep] | None = Field(
        None, min_length=1, max_length=MAX_SCHEDULE_STEPS,
        description="The envelope's steps, in date order (set by giving power_envelope a list).")
