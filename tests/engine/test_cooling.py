"""Cooling plant power against hand-worked numbers (default plant unless a test says otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.cooling import chiller_cop, cooling_power, free_cooling_fraction, split_heat
from simulator.scenario.schema import Chiller, Cooling

MW = 1e6


def test_air_heat_fully_mechanical_at_30c():
    # COP = 6 - 0.12 * (30 - 25) = 5.4; chiller = 1 MW / 5.4; fans = 6% of 1 MW.
    out = cooling_power(1 * MW, 0.0, 30.0, Cooling())
    assert out["chiller_w"] == pytest.approx(185_185.185, rel=1e-9)
    assert out["fans_w"] == pytest.approx(60_000.0)
    assert out["economiser_w"] == 0.0
    assert out["pumps_w"] == 0.0
    assert out["other_w"] == 0.0
    assert out["total_w"] == pytest.approx(245_185.185, rel=1e-9)


def test_economiser_blend_midpoint():
    # Band 15..21 C: at 18 C half the air heat is free-cooled. COP(18) = 6 + 0.12 * 7 = 6.84.
    out = cooling_power(1 * MW, 0.0, 18.0, Cooling())
    assert out["free_fraction"] == pytest.approx(0.5)
    assert out["economiser_w"] == pytest.approx(15_000.0)  # 3% of 0.5 MW
    assert out["chiller_w"] == pytest.approx(73_099.415, rel=1e-8)  # 0.5 MW / 6.84
    assert out["total_w"] == pytest.approx(148_099.415, rel=1e-8)


def test_free_cooling_fraction_edges_and_zero_band():
    cooling = Cooling()
    assert free_cooling_fraction([-10.0, 15.0, 16.5, 21.0, 40.0], cooling).tolist() == \
        pytest.approx([1.0, 1.0, 0.75, 0.0, 0.0])
    step = Cooling(economiser_band=0.0)
    assert free_cooling_fraction([14.9, 15.0, 15.1], step).tolist() == [1.0, 1.0, 0.0]


def test_fully_free_below_economiser_threshold():
    out = cooling_power(2 * MW, 0.0, 5.0, Cooling())
    assert out["chiller_w"] == 0.0
    assert out["economiser_w"] == pytest.approx(60_000.0)
    assert out["total_w"] == pytest.approx(60_000.0 + 120_000.0)


def test_cop_floor_and_rise_below_reference():
    chiller = Chiller()
    # 60 C: 6 - 0.12 * 35 = 1.8 -> floored at 2.0; 5 C: 6 + 0.12 * 20 = 8.4.
    assert chiller_cop([60.0, 25.0, 5.0], chiller).tolist() == pytest.approx([2.0, 6.0, 8.4])
    assert cooling_power(1 * MW, 0.0, 60.0, Cooling())["chiller_w"] == pytest.approx(500_000.0)


def test_liquid_heat_dry_coolers_then_chiller():
    dry = cooling_power(0.0, 1 * MW, 30.0, Cooling())  # below 32 C: dry coolers at 3%
    assert dry["economiser_w"] == pytest.approx(30_000.0)
    assert dry["chiller_w"] == 0.0
    assert dry["pumps_w"] == pytest.approx(20_000.0)
    assert dry["fans_w"] == 0.0
    edge = cooling_power(0.0, 1 * MW, 32.0, Cooling())  # dry coolers only *below* 32 C
    assert edge["economiser_w"] == 0.0
    assert edge["chiller_w"] == pytest.approx(193_798.450, rel=1e-8)  # COP(32) = 5.16
    hot = cooling_power(0.0, 1 * MW, 35.0, Cooling())  # COP(35) = 4.8
    assert hot["chiller_w"] == pytest.approx(208_333.333, rel=1e-8)
    assert hot["economiser_w"] == 0.0
    assert hot["total_w"] == pytest.approx(228_333.333, rel=1e-8)


def test_other_overhead_in_total_and_broadcasting():
    cooling = Cooling(other_overhead=50_000.0)
    out = cooling_power(np.array([1 * MW, 0.0, 1 * MW]), 0.0, np.array([30.0, 30.0, 5.0]), cooling)
    assert out["other_w"].tolist() == [50_000.0] * 3
    assert out["total_w"].tolist() == pytest.approx([295_185.185, 50_000.0, 140_000.0], rel=1e-9)
    # a (2, 1) heat column against a (3,) temperature row gives a (2, 3) grid
    heat_w, outdoor_c = np.array([[1 * MW], [2 * MW]]), np.array([5.0, 18.0, 30.0])
    grid = cooling_power(heat_w, 0.0, outdoor_c, Cooling())
    assert grid["total_w"].shape == (2, 3)
    assert grid["total_w"][1, 2] == pytest.approx(2 * 245_185.185, rel=1e-9)


def test_split_heat():
    air, liquid = split_heat(100_000.0, "liquid", 0.8)
    assert (float(air), float(liquid)) == pytest.approx((20_000.0, 80_000.0))
    air, liquid = split_heat(np.array([1.0, 2.0]), "air", 0.8)
    assert air.tolist() == [1.0, 2.0]
    assert liquid.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="'air' or 'liquid'"):
        split_heat(1.0, "immersion", 0.8)


def test_liquid_rack_total_cooling():
    # 100 kW liquid rack at 30 C: 20 kW air (fans 1.2 kW, chiller 20/5.4 kW), 80 kW liquid
    # (pumps 1.6 kW, dry coolers 2.4 kW): 1.2 + 3.7037 + 1.6 + 2.4 = 8.9037 kW.
    air, liquid = split_heat(100_000.0, "liquid", Cooling().liquid_capture)
    total_w = cooling_power(air, liquid, 30.0, Cooling())["total_w"]
    assert total_w == pytest.approx(8_903.7037, rel=1e-8)
