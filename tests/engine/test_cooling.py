"""Cooling plant power and water against hand-worked numbers: chiller curves at their rating
points and published derived tables (benchmarks/reference/facility/cooling_curves.yaml), free
cooling, part load, towers, dry coolers with adiabatic assist, and a water limit."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.domain.catalog import shipped_catalog
from simulator.engine import chillers
from simulator.engine.cooling import airflow_fraction, free_fraction, loop_hours, loop_power
from simulator.scenario.facility import (
    AirCooledChillerPlant,
    Cooling,
    DryCoolerPlant,
    WaterCooledChillerPlant,
)

MW = 1e6
CATALOG = shipped_catalog()
AIR = CATALOG.chillers.get("air-cooled-90.1-2019")
WATER = CATALOG.chillers.get("water-cooled-centrifugal-90.1-2019")


def test_chillers_reproduce_their_rating_points_and_the_derived_tables():
    # ASHRAE 90.1-2019 minimum full-load COPs at the AHRI points (curves normalised there).
    assert float(chillers.full_load_cop(AIR, 6.67, 35.0)) == pytest.approx(2.96, rel=2e-3)
    assert float(chillers.full_load_cop(WATER, 6.67, 29.4)) == pytest.approx(6.28, rel=2e-3)
    # cooling_curves.yaml cop_table_full_load (computed there from the same curves).
    table = {15: 4.89, 20: 4.44, 25: 3.93, 30: 3.42, 40: 2.55, 45: 2.20, 50: 1.91}
    for outdoor, cop in table.items():
        assert float(chillers.full_load_cop(AIR, 6.67, outdoor)) == pytest.approx(cop, abs=0.006)
    for ect, cop in {24: 7.06, 26: 6.78, 32: 5.91, 35: 5.50}.items():
        assert float(chillers.full_load_cop(WATER, 6.67, ect)) == pytest.approx(cop, abs=0.006)
    # Part load at fixed temperatures: PLR / EIRFPLR(PLR) (table part_load_multiplier).
    assert chillers.part_load_factor(AIR, [0.75, 0.5, 0.25]).tolist() == pytest.approx([1.005, 0.963, 0.788],
                                                                                        abs=1e-3)
    # Below min_plr the chiller cycles: its COP stays at the min_plr value.
    assert float(chillers.part_load_factor(AIR, 0.02)) == pytest.approx(float(chillers.part_load_factor(AIR, 0.1)))


def test_warm_chilled_water_follows_the_carnot_lift_beyond_the_curve():
    # EIRFT(10, 35) = 0.5961915 - 0.099496 + 0.07888 + 0.015771 + 0.5971875 - 0.266805 = 0.921729.
    at_edge = 2.96 / 0.921729
    # Carnot of the refrigerant lift, evaporator 2 K below the water, condenser 15 K above the air:
    # (15 - 2 + 273.15) / (50 - 13) over (10 - 2 + 273.15) / (50 - 8).
    ratio = (286.15 / 37.0) / (281.15 / 42.0)
    assert float(chillers.full_load_cop(AIR, 15.0, 35.0)) == pytest.approx(at_edge * ratio, rel=1e-9)
    # Cold weather: the condensing pressure is held at the curve's lowest outdoor temperature.
    assert float(chillers.full_load_cop(AIR, 6.67, -10.0)) == pytest.approx(float(chillers.full_load_cop(AIR, 6.67,
                                                                                                          12.7)))


def test_free_cooling_share_and_airflow():
    # Supply 32, return 42: water at 37 from the free cooler takes half the heat.
    assert free_fraction([20.0, 37.0, 42.0, 50.0], 32.0, 42.0).tolist() == [1.0, 0.5, 0.0, 0.0]
    # A dry cooler meeting 32 C at 26 C air runs full airflow from 26 C up; at 20 C it needs
    # (42 - 26) / (42 - 20) of it.
    assert airflow_fraction([30.0, 26.0, 20.0], 32.0, 42.0, 6.0).tolist() == pytest.approx([1.0, 1.0, 16 / 22])


def hours(plant, role, dry, wet, design=MW, cooling=None):
    return loop_hours(plant, role, np.array([dry]), np.array([wet]), design, CATALOG, cooling or Cooling())


def test_air_cooled_chiller_loop_in_the_heat():
    # 35 C outdoors: the free-cooling coil (41 C water) is useless against 21 C return water.
    # Chilled water 15 C (25 C inlet - 10 K). 1 MW over 4 units of 250 kW: all four at PLR 1.
    loop = hours(AirCooledChillerPlant(), "air", 35.0, 20.0)
    out = loop_power(loop, MW, 0)
    # Full-load COP at 15 C water (above), times PLR 1 / EIRFPLR(1) = 1 / 0.999.
    cop = 2.96 / 0.921729 * (286.15 / 37.0) / (281.15 / 42.0) / 0.999
    assert float(out["chiller_w"]) == pytest.approx(MW / cop, rel=1e-9)
    assert float(out["rejection_w"]) == 0.0
    # Pumps: 22 W per gpm; a gpm carries 6.309e-5 m3/s x 1000 kg/m3 x 4186 J/kg/K x 6 K.
    assert float(out["pump_w"]) == pytest.approx(MW * 22.0 / (6.309e-5 * 1000 * 4186 * 6), rel=1e-9)
    assert float(out["water_m3_per_s"]) == 0.0
    # Half the load: two units at PLR 1 (staging), same COP.
    assert float(loop_power(loop, MW / 2, 0)["chiller_w"]) == pytest.approx(MW / 2 / cop, rel=1e-9)
    # 0.3 MW: two units at PLR 0.6, COP x 0.6 / (0.141 + 0.655 * 0.6 + 0.203 * 0.36).
    plf = 0.6 / (0.141 + 0.655 * 0.6 + 0.203 * 0.36) * 0.999
    assert float(loop_power(loop, 0.3 * MW, 0)["chiller_w"]) == pytest.approx(0.3 * MW / (cop * plf), rel=1e-9)


def test_air_cooled_chiller_loop_free_cooling_in_the_cold():
    # 5 C outdoors: coil water at 11 C, below the 15 C supply: all free; airflow
    # (21 - 9) / (21 - 5) = 0.75 of design; fans 2% x 0.75^3.
    loop = hours(AirCooledChillerPlant(), "air", 5.0, 2.0)
    out = loop_power(loop, MW, 0)
    assert float(out["free_fraction"]) == 1.0
    assert float(out["chiller_w"]) == 0.0
    assert float(out["rejection_w"]) == pytest.approx(0.02 * MW * 0.75 ** 3, rel=1e-12)


def test_water_cooled_plant_with_towers_evaporates_the_heat_it_rejects():
    # Wet bulb 20 C: economiser water at 26 C cannot cool 21 C return water; condenser water
    # at 24 C (approach 4 K). Heat rejected = load + compressor work.
    plant = WaterCooledChillerPlant(supply=15.0)
    loop = hours(plant, "air", 30.0, 20.0)
    out = loop_power(loop, MW, 0)
    x, y = 15.0, 24.0
    c = WATER.eir_ft
    eir_edge = c[0] + c[1] * 10 + c[2] * 100 + c[3] * y + c[4] * y * y + c[5] * 10 * y
    carnot = (x - 2 + 273.15) / ((y + 8) - (x - 2)) / ((10 - 2 + 273.15) / ((y + 8) - 8))
    chiller = MW / (6.28 / eir_edge * carnot) * (0.222903 + 0.313387 + 0.463710)
    assert float(out["chiller_w"]) == pytest.approx(chiller, rel=1e-9)
    rejected = MW + chiller
    h_fg = (2500.5 - 2.3097 * 24 - 0.0013 * 24 ** 2) * 1e3
    assert float(out["water_m3_per_s"]) == pytest.approx(rejected / h_fg * 5 / 4 / 1000, rel=1e-9)
    assert float(out["rejection_w"]) == pytest.approx(0.0126 * rejected, rel=1e-9)
    pumps = MW * 22.0 / (6.309e-5 * 1000 * 4186 * 6) + 0.013 * rejected
    assert float(out["pump_w"]) == pytest.approx(pumps, rel=1e-9)


def test_adiabatic_dry_cooler_wets_only_as_much_as_it_needs_and_a_limit_dries_it():
    # 40 C dry bulb, 20 C wet bulb, pads remove 80% of the 20 K depression. Facility water 32 C:
    # dry, the coolers make 46 C water (no free cooling); wetting 14/16 of the pads brings the
    # air to 26 C and the water to 32 C exactly.
    plant = DryCoolerPlant(adiabatic=True, trim_chiller=None)
    loop = hours(plant, "liquid", 40.0, 20.0)
    out = loop_power(loop, MW, 0)
    assert float(out["free_fraction"]) == pytest.approx(1.0)
    h_fg = (2500.5 - 2.3097 * 20 - 0.0013 * 400) * 1e3
    wanted = MW * (14.0 / 10.0) / h_fg / 1000       # air flow x its 14 K of cooling / h_fg
    assert float(out["water_m3_per_s"]) == pytest.approx(wanted, rel=1e-9)
    # Half that water: halfway between dry (no free cooling) and wet.
    half = loop_power(loop, MW, 0, 0.5)
    assert float(half["free_fraction"]) == pytest.approx(0.5)
    assert float(half["water_m3_per_s"]) == pytest.approx(wanted / 2, rel=1e-9)
    # No trim chiller: the half the coolers miss is shortfall, the fans run flat out.
    assert float(half["shortfall_w"]) == pytest.approx(0.5 * MW)
    assert float(half["chiller_w"]) == 0.0


def test_loops_broadcast_over_hours():
    dry = np.array([5.0, 20.0, 35.0])
    loop = loop_hours(DryCoolerPlant(), "liquid", dry, dry - 8.0, MW, CATALOG, Cooling())
    out = loop_power(loop, MW, np.arange(3))
    assert out["chiller_w"].shape == (3,)
    # Return 42 C: 35 C air makes 41 C water, a tenth of the way to the 32 C supply.
    assert out["free_fraction"].tolist() == pytest.approx([1.0, 1.0, 0.1])
    for i in range(3):
        assert float(loop_power(loop, MW, i)["chiller_w"]) == pytest.approx(float(out["chiller_w"][i]))
