"""Scenario section ``operation``: energy-aware operation of the site, applied hour by hour
(engine/operation.py decides from the price and carbon profiles before the run; engine/supply.py
settles batteries, on-site generation and PPAs against the grid after it).

- ``flexible``: pause (with a checkpoint first, and a restore after) or slow the named training
  jobs in hours whose price or carbon intensity is above a threshold or among the day's N highest;
- ``demand_response``: a CSV of grid power caps (kW) by hour; the site caps its GPUs (and pauses
  work if it must) to stay under them;
- ``battery``: capacity, power, round-trip efficiency and degradation cost, dispatched to
  arbitrage the price or shave the grid peak (against ``site.electricity.demand_charge``);
- ``onsite``: solar or wind behind the meter, an hourly generation profile scaled to a capacity;
- ``ppa``: a power purchase agreement that supplies matched energy at its price and counts as
  zero-carbon in market-based accounting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from simulator.domain.quantities import (
    Frozen,
    Joules,
    KgPerJ,
    PositiveWatts,
    UnitFraction,
    UsdPerJ,
    UsdPerW,
)
from simulator.scenario.site import CsvProfile


def _profile_shorthand(value):
    if isinstance(value, str) and value in ("solar", "flat"):
        return {"type": value}
    return value


class SolarShape(Frozen):
    """Built-in solar output: sin(pi (h - 6) / 12) between 06:00 and 18:00, 0 at night."""

    type: Literal["solar"] = "solar"


class FlatShape(Frozen):
    """Constant output at the full capacity (a baseload or a flat PPA block)."""

    type: Literal["flat"] = "flat"


GenerationProfile = Annotated[SolarShape | FlatShape | CsvProfile, Field(discriminator="type"),
                              BeforeValidator(_profile_shorthand)]


class Flexible(Frozen):
    """Training jobs that may yield to price or carbon: paused (checkpoint, idle, restore) or
    slowed (board cap) in flagged hours. An hour is flagged if its signal is above ``above`` or
    among the ``top_hours`` highest of its calendar day (either rule, or both)."""

    jobs: list[str] | Literal["all"] = Field("all", description="Names of the flexible training jobs, or 'all'.")
    signal: Literal["price", "carbon"] = Field("price", description="What the thresholds look at.")
    price_above: Annotated[UsdPerJ, Field(ge=-1e-3)] | None = Field(
        None, description="Flag hours dearer than this, e.g. '$0.15/kWh' (signal: price).")
    carbon_above: Annotated[KgPerJ, Field(ge=0)] | None = Field(
        None, description="Flag hours dirtier than this, e.g. '400g/kWh' (signal: carbon).")
    top_hours: int = Field(0, ge=0, le=23, description="Flag the N highest hours of each day.")
    action: Literal["pause", "slow"] = Field("pause", description="Pause (checkpoint first) or slow the jobs.")
    slow_to: UnitFraction = Field(0.5, description="Board cap as a share of TDP while slowed.")

    @model_validator(mode="after")
    def _a_rule(self):
        if self.price_above is not None and self.signal != "price":
            raise ValueError("price_above needs signal: price")
        if self.carbon_above is not None and self.signal != "carbon":
            raise ValueError("carbon_above needs signal: carbon")
        if self.top_hours == 0 and self.price_above is None and self.carbon_above is None:
            raise ValueError("give a threshold (price_above or carbon_above) or top_hours")
        return self


class DemandResponse(Frozen):
    """Grid power caps by hour from a CSV (kW in ``column``; a row per hour from 00:00 on day 1,
    repeating); the site stays under min(envelope, cap)."""

    path: str = Field(min_length=1, max_length=4096, description="CSV path relative to the scenario file.")
    column: str = Field("cap_kw", description="Column holding the cap in kW (blank-free; use a large value "
                                              "for hours without an event).")


class Battery(Frozen):
    """A battery on the site's grid side (engine/supply.py)."""

    capacity: Annotated[Joules, Field(gt=0)] = Field(description="Usable energy, e.g. '4MWh'.")
    power: PositiveWatts = Field(description="Charge and discharge power limit, e.g. '1MW'.")
    round_trip_efficiency: UnitFraction = Field(
        0.829, description="Energy out / energy in: NREL REopt defaults 0.96 x 0.90 x 0.96.")
    degradation_cost: Annotated[UsdPerJ, Field(ge=0)] = Field(
        0.02 / 3.6e6, description="Wear cost per energy discharged, e.g. '$0.02/kWh' (engineering estimate).")
    strategy: Literal["arbitrage", "peak-shave"] = Field(
        "arbitrage", description="arbitrage: charge in each day's cheapest hours, discharge in its dearest; "
                                 "peak-shave: discharge above peak_target, recharge below it.")
    peak_target: PositiveWatts | None = Field(None, description="Grid power to shave down to (peak-shave); default "
                                                                "90% of the run's highest facility power.")
    initial_charge: UnitFraction = Field(0.5, description="State of charge at t=0.")
    capex: Annotated[UsdPerJ, Field(ge=0)] = Field(
        165.0 / 3.6e6, description="Purchase per energy capacity, e.g. '$165/kWh' (BNEF 2024 turnkey average).")
    amortisation_years: float = Field(10.0, gt=0, le=40)


class Onsite(Frozen):
    """Generation behind the meter: ``capacity`` times the profile's hourly shape (0..1)."""

    name: str = Field("onsite", min_length=1, max_length=200)
    kind: Literal["solar", "wind", "other"] = Field("solar")
    capacity: PositiveWatts = Field(description="Peak output, e.g. '5MW'.")
    profile: GenerationProfile = Field(default_factory=SolarShape, description="'solar', 'flat' or a CSV of "
                                                                               "output shares (0..1) by hour.")
    capex: Annotated[UsdPerW, Field(ge=0)] = Field(0.0, description="Purchase per W of capacity (0 when leased).")
    amortisation_years: float = Field(25.0, gt=0, le=40)


class Ppa(Frozen):
    """A sleeved PPA: its generation covers the grid draw hour by hour at ``price`` (surplus is
    sold back at the grid price) and counts as zero-carbon in market-based accounting."""

    capacity: PositiveWatts = Field(description="Contracted peak output, e.g. '10MW'.")
    price: Annotated[UsdPerJ, Field(ge=0)] = Field(description="Price of its energy, e.g. '$0.05/kWh'.")
    profile: GenerationProfile = Field(default_factory=SolarShape)


class Operation(Frozen):
    """Energy-aware operation policies (every one optional)."""

    flexible: Flexible | None = None
    demand_response: DemandResponse | None = None
    battery: Battery | None = None
    onsite: list[Onsite] = Field(default_factory=list, max_length=16)
    ppa: Ppa | None = None
    residual_mix_carbon: Annotated[KgPerJ, Field(ge=0)] | None = Field(
        None, description="Carbon intensity of grid energy not covered by a PPA in market-based accounting; "
                          "default the grid's hourly intensity.")
    savings_baseline: bool = Field(True, description="Also run without the in-loop policies (flexible, demand "
                                                     "response) to report what they saved and cost.")
