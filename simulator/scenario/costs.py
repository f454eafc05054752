"""Scenario section for money: amortisation, maintenance, price overrides, water and fuel
prices, and a rental price to compare owning with renting (report/cost.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.domain.quantities import (
    Frozen,
    NonNegSeconds,
    NonNegUsd,
    UnitFraction,
    UsdPerM3,
    UsdPerS,
    at_most,
)

# Money: facility build cost runs $8-15 per watt of IT (Uptime Institute, JLL 2024); item prices
# reach hundreds of thousands of dollars. Limits a thousand times above keep every total finite.
MAX_CAPEX_PER_WATT_USD = 10_000.0
MAX_ITEM_PRICE_USD = 1e10


class Rental(Frozen):
    """Renting the same accelerators instead of owning the site: on demand, or committed for a
    term at a discount."""

    price: UsdPerS = Field(description="Price per GPU-hour on demand, e.g. '$2.5/h'.", gt=0)
    commitment: NonNegSeconds = Field(0.0, description="Committed term (e.g. '1y'); 0 for on demand only.")
    discount: UnitFraction = Field(0.0, description="Discount for the committed term, e.g. 0.35.")


class Costs(Frozen):
    """Capital and operating costs. Catalog prices are used unless overridden here."""

    server_amortisation_years: float = Field(4.0, gt=0, le=50)
    network_amortisation_years: float = Field(5.0, gt=0, le=50)
    facility_capex_per_watt: Annotated[NonNegUsd, at_most(MAX_CAPEX_PER_WATT_USD, "money", "per watt")] | None = Field(
        None, description="One facility price per W of design IT load, instead of the itemised building, "
                          "electrical and cooling capex (catalog facility_costs).")
    facility_amortisation_years: float = Field(15.0, gt=0, le=60)
    maintenance_fraction_per_year: UnitFraction = Field(0.03, description="Yearly maintenance as a share of capex.")
    residual_value: UnitFraction = Field(0.0, description="What equipment is still worth at the end of its "
                                                          "amortisation life, as a share of its price.")
    cost_of_capital: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        0.0, description="Financing, a rate per year (e.g. 0.08): capex is charged as the annuity that repays it; "
                         "0 is straight-line depreciation.")
    price_overrides: dict[str, Annotated[NonNegUsd, at_most(MAX_ITEM_PRICE_USD, "money", "per item")]] = Field(
        default_factory=dict, description="Catalog item name -> unit price (>= 0).")
    water_price: Annotated[UsdPerM3, Field(ge=0)] = Field(
        2.5, description="Water and sewer per m3, e.g. '$2.5/m3' (engineering estimate of US municipal rates, "
                         "$1.5-5/m3).")
    diesel_price: NonNegUsd = Field(1.0, description="Generator fuel per litre in USD (engineering estimate).")
    rental: Rental | None = Field(None, description="A rental price to set beside the owned cost of the same work.")
