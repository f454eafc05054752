"""Scenario sections for the facility as built: the cooling plant (pluggable heat-rejection
technologies chosen by ``type:``), and redundancy of the plant and the power chain.

Two water loops reject the heat (engine/cooling.py): the *air plant* makes chilled water for
the room's air handlers and the rear doors; the *liquid plant* makes facility water for the
CDUs of direct-liquid-cooled racks and immersion tanks. Each loop is one of the technologies
below; their curves live in the catalog (``chillers``), each with its source.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from simulator.domain.quantities import (
    Celsius,
    Count,
    Efficiency,
    Frozen,
    Kelvin,
    NonNegSeconds,
    NonNegWatts,
    PositiveWatts,
    UnitFraction,
    VolumeRate,
)

Redundancy = Literal["N", "N+1", "2N"]


class PowerRedundancy(Frozen):
    """Redundancy of the power chain (Uptime tiers: N for Tier I-II, N+1 for Tier III, 2N for IV)."""

    ups: Redundancy = Field("N+1", description="UPS modules beyond N: capex, and their efficiency at lower load.")
    generators: Redundancy | Literal["none"] = Field("N+1", description="Standby diesel generators beyond N "
                                                                         "('none': no generators).")




class _Plant(Frozen):
    """What every heat-rejection technology shares: the loop's water temperatures, its pumps,
    and the units the chillers (or coolers) are split into."""

    supply: Celsius | None = Field(
        None, ge=-20, le=70, description="Water leaving the plant. Default: the air plant's chilled water is "
                                         "cooling.supply_air minus cooling.coil_approach; the liquid plant's "
                                         "facility water 32 C (ASHRAE class W32).")
    return_delta: Annotated[Kelvin, Field(ge=1, le=30)] | None = Field(
        None, description="Return minus supply water temperature at design load; default 6 K "
                                       "(chilled water) or 10 K (facility water).")
    pump_fraction: UnitFraction | None = Field(
        None, description="Distribution pump power per W of heat; default from the ASHRAE 90.1-2019 Appendix G "
                          "baseline of 22 W/gpm: 0.0833 / return_delta (1.4% at a 6 K rise, 0.8% at 10 K).")
    units: Count = Field(4, le=1000, description="Chillers (or coolers) sharing the design load (N); they "
                                                 "stage on and off with the load.")
    redundancy: Redundancy = Field("N+1", description="Spare units installed beyond N (capex and availability).")


class AirCooledChillerPlant(_Plant):
    """Air-cooled chillers (condenser fans in their COP), optionally with integrated free-cooling
    coils that pre-cool the return water whenever the outdoor air is colder than it."""

    type: Literal["air-cooled-chiller"] = "air-cooled-chiller"
    chiller: str = Field("air-cooled-90.1-2019", description="Catalog chiller (dcsim catalog chillers).")
    free_cooling: bool = Field(True, description="Integrated free-cooling coils (economiser).")
    free_cooling_approach: Kelvin = Field(
        6.0, ge=0, le=30, description="Water leaving the free-cooling coil minus outdoor dry bulb (engineering "
                                      "estimate; no vendor datasheet value was found).")
    fan_fraction: UnitFraction = Field(
        0.02, description="Free-cooling coil fan power per W of heat at full airflow (engineering estimate).")


class WaterCooledChillerPlant(_Plant):
    """Water-cooled chillers with open cooling towers (evaporating water), optionally with a
    waterside economiser: the towers cool the return water through a heat exchanger when the
    wet bulb is low enough."""

    type: Literal["water-cooled-chiller"] = "water-cooled-chiller"
    chiller: str = Field("water-cooled-centrifugal-90.1-2019", description="Catalog chiller.")
    economiser: bool = Field(True, description="Waterside economiser (plate heat exchanger).")
    tower_approach: Kelvin = Field(
        4.0, ge=0.5, le=15, description="Tower leaving water minus wet bulb (Lei & Masanet model range "
                                        "2.8-6.7 K).")
    economiser_approach: Kelvin = Field(
        2.0, ge=0, le=10, description="Heat-exchanger approach (Lei & Masanet range 1.7-2.8 K).")
    tower_fan_fraction: UnitFraction = Field(
        0.0126, description="Tower fan power per W of heat rejected: ASHRAE 90.1-2019 minimum 40.2 gpm/hp "
                            "for open propeller towers at 95/85/75 F.")
    condenser_pump_fraction: UnitFraction = Field(
        0.013, description="Condenser-water pump power per W rejected: ASHRAE 90.1-2019 Appendix G "
                           "baseline 19 W/gpm at a 10 F range.")
    cycles_of_concentration: float = Field(
        5.0, gt=1, le=50, description="Tower water cycles of concentration; blowdown = evaporation / (CC - 1) "
                                      "(Lei & Masanet range 3-15).")


class DryCoolerPlant(_Plant):
    """Dry coolers (closed-circuit air coolers, no water) with optional adiabatic pre-cooling of
    their inlet air, and an air-cooled trim chiller for the hours they cannot reach the supply
    temperature (none: the water runs warmer those hours, counted as shortfall hours)."""

    type: Literal["dry-cooler"] = "dry-cooler"
    approach: Kelvin = Field(
        6.0, ge=0, le=30, description="Leaving water minus inlet air (engineering estimate).")
    fan_fraction: UnitFraction = Field(
        0.02, description="Fan power per W of heat at full airflow (engineering estimate).")
    adiabatic: bool = Field(False, description="Evaporative pre-cooling of the inlet air when needed.")
    adiabatic_effectiveness: UnitFraction = Field(
        0.8, description="Share of the wet-bulb depression the pads remove (engineering estimate).")
    air_range: Kelvin = Field(
        10.0, ge=1, le=40, description="Air temperature rise across the coil at design (sets the airflow, "
                                       "hence the water evaporated into it).")
    trim_chiller: str | None = Field("air-cooled-90.1-2019", description="Catalog chiller for the hours the "
                                                                         "coolers cannot make the supply "
                                                                         "temperature; null for none.")


def _default_type(tag: str):
    """A plant written without ``type`` is the loop's default technology."""

    def convert(value):
        if isinstance(value, dict) and "type" not in value:
            return {"type": tag, **value}
        return value

    return BeforeValidator(convert)


_Plants = AirCooledChillerPlant | WaterCooledChillerPlant | DryCoolerPlant
AirPlant = Annotated[_Plants, Field(discriminator="type"), _default_type("air-cooled-chiller")]
LiquidPlant = Annotated[_Plants, Field(discriminator="type"), _default_type("dry-cooler")]


def _air_plant() -> AirCooledChillerPlant:
    return AirCooledChillerPlant()


def _liquid_plant() -> DryCoolerPlant:
    return DryCoolerPlant()


class Cooling(Frozen):
    """The cooling plant: room air handlers on the air plant's chilled water, rear doors, CDUs
    and immersion on the liquid plant's facility water (engine/cooling.py)."""

    supply_air: Celsius = Field(25.0, ge=10, le=45, description="Server inlet (cold-aisle) air; ASHRAE "
                                                                 "recommends 18-27 C.")
    coil_approach: Kelvin = Field(
        10.0, ge=1, le=25, description="Server inlet air minus the chilled water feeding the air handlers: a 7 K "
                                       "coil approach plus 3 K of mixing between handler and server inlet "
                                       "(engineering estimates).")
    crah_fan_fraction: UnitFraction = Field(
        0.05, description="Air-handler (CRAH) fan power per W of room heat: airflow for a 16 K server air rise "
                          "(DGX H100: 10.2 kW at 1105 CFM) plus 20% bypass, at 500 Pa and 60% fan efficiency "
                          "(engineering estimates).")
    air_plant: AirPlant = Field(default_factory=_air_plant, description="Makes chilled water for the air "
                                                                        "handlers and rear doors (default type: "
                                                                        "air-cooled-chiller).")
    liquid_plant: LiquidPlant = Field(default_factory=_liquid_plant, description="Makes facility water for "
                                                                                 "CDUs and immersion tanks "
                                                                                 "(default type: dry-cooler).")
    liquid_capture: UnitFraction = Field(0.8, description="Share of a direct-liquid-cooled rack's heat taken "
                                                          "by its cold plates (the rest goes to the room air).")
    cdu_pump_fraction: UnitFraction = Field(
        0.0065, description="CDU pump power per W of liquid heat: 0.43% hydraulic (CoolIT CHX2000, 35 psi at "
                            "2125 L/min for 2 MW) at 65% wire-to-water efficiency.")
    rear_door_capture: UnitFraction = Field(
        0.95, description="Share of a rear-door rack's heat its door removes (IBM: passive doors 55-85% at "
                          "20-32 kW; active doors about all of it within their rating).")
    rear_door_fan_fraction: UnitFraction = Field(
        0.015, description="Active rear-door fan power per W the door removes (0.5-2 kW per 14-75 kW door; "
                           "0 for passive doors).")
    water_limit: Annotated[VolumeRate, Field(gt=0)] | None = Field(
        None, description="Most water the plant may use, e.g. '20m3/h'; adiabatic coolers run dry beyond it.")
    other_overhead: NonNegWatts = Field(0.0, description="Lighting, offices, security: constant power.")

    @model_validator(mode="after")
    def _water_limit_needs_a_dry_plant(self):
        if self.water_limit is not None:
            wet = [name for name in ("air_plant", "liquid_plant")
                   if getattr(self, name).type == "water-cooled-chiller"]
            if wet:
                raise ValueError(f"water_limit needs plants that can run dry, but {', '.join(wet)} uses "
                                 "cooling towers (use an air-cooled-chiller or a dry-cooler)")
        return self


class EfficiencyCurve(Frozen):
    """Efficiency as a function of load fraction, linear between points (load, efficiency)."""

    points: list[tuple[UnitFraction, Efficiency]] = Field(min_length=1, max_length=64)

    @field_validator("points")
    @classmethod
    def _sorted(cls, points):
        loads = [p[0] for p in points]
        if loads != sorted(loads) or len(set(loads)) != len(loads):
            raise ValueError("points must have strictly increasing load fractions")
        return points


def _curve_shorthand(value):
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return {"points": [[1.0, value]]}
    if isinstance(value, list):
        return {"points": value}
    return value


Curve = Annotated[EfficiencyCurve, BeforeValidator(_curve_shorthand)]


def _default_ups() -> EfficiencyCurve:
    # Double-conversion UPS: Schneider Electric white paper 108 (typical curve).
    return EfficiencyCurve(points=[(0.1, 0.86), (0.25, 0.93), (0.5, 0.955), (0.75, 0.96), (1.0, 0.96)])


class PowerChain(Frozen):
    """Electrical path from grid to IT: transformer, UPS and PDU losses."""

    ups_efficiency: Curve = Field(default_factory=_default_ups, description="UPS efficiency vs load fraction.")
    pdu_efficiency: Efficiency = Field(0.985, description="PDU/busway efficiency.")
    transformer_efficiency: Efficiency = Field(0.99, description="Medium-voltage transformer efficiency.")
    ups_capacity: PositiveWatts | None = Field(
        None, description="UPS rating; default: peak IT power / 0.8, times the redundancy (N+1 over ups_modules "
                          "modules, or 2N).")
    ups_modules: Count = Field(4, le=100, description="UPS modules sharing the load (N).")
    ups_autonomy: NonNegSeconds = Field(300.0, description="How long the UPS batteries carry the IT load "
                                                           "(engineering estimate: 5 min).")
    generator_units: Count = Field(4, le=100, description="Standby generators sharing the load (N).")
    generator_start: NonNegSeconds = Field(10.0, description="From grid loss to generators on load (NFPA 110 "
                                                             "Type 10: 10 s).")
    generator_start_failure: UnitFraction = Field(
        0.01, description="Chance one generator fails to start on demand (engineering estimate, order of the "
                          "IEEE 493 Gold Book figures).")
    redundancy: PowerRedundancy = Field(default_factory=PowerRedundancy,
                                        description="N, N+1 or 2N for the UPS and the generators.")
    power_capping: bool = Field(True, description="Cap GPUs to keep the facility within the envelope.")
