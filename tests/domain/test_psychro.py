"""Moist-air relations against published values."""

from __future__ import annotations

import pytest

from simulator.domain import psychro


def test_stull_wet_bulb_worked_example():
    # Stull (2011): T = 20 C, RH = 50% gives Tw = 13.7 C.
    assert float(psychro.wet_bulb(20.0, 0.5)) == pytest.approx(13.7, abs=0.05)


def test_wet_bulb_lies_between_dew_point_and_dry_bulb():
    for t, rh in ((35.0, 0.1), (-5.0, 0.9), (45.0, 0.05), (25.0, 1.0)):
        tw = float(psychro.wet_bulb(t, rh))
        assert float(psychro.dew_point(t, rh)) - 1e-9 <= tw <= t
    assert float(psychro.wet_bulb(25.0, 1.0)) == pytest.approx(25.0, abs=0.3)


def test_relative_humidity_and_dew_point_round_trip():
    rh = float(psychro.relative_humidity(30.0, 12.0))
    assert float(psychro.dew_point(30.0, rh)) == pytest.approx(12.0, abs=1e-9)
    # Magnus: e_s(20 C) = 6.1094 exp(17.625 * 20 / 263.04) = 23.37 hPa; 50% RH at 20 C has a
    # dew point of 9.3 C.
    assert float(psychro.relative_humidity(20.0, 9.3)) == pytest.approx(0.50, abs=0.005)


def test_latent_heat():
    # Lei & Masanet's fit: 2453.8 kJ/kg at 20 C (steam tables: 2453.5).
    assert float(psychro.latent_heat_j_per_kg(20.0)) == pytest.approx(2453.5e3, rel=5e-4)
