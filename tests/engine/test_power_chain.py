"""Power chain losses and the envelope inverse against hand-worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.engine.power_chain import (
    default_ups_capacity_w,
    facility_power,
    max_it_power_within,
    ups_efficiency,
)
from simulator.scenario.schema import EfficiencyCurve, PowerChain

# PDU 98%: 980 kW of IT needs exactly 1 MW out of the UPS, i.e. 50% of a 2 MW UPS.
CHAIN = PowerChain(ups_efficiency=EfficiencyCurve(points=[(0.25, 0.93), (0.5, 0.955)]),
                   pdu_efficiency=0.98, transformer_efficiency=0.99)


def test_ups_interpolation_and_flat_ends():
    curve = PowerChain().ups_efficiency  # (0.1, .86) (0.25, .93) (0.5, .955) (0.75, .96) (1, .96)
    got = ups_efficiency([0.375, 0.05, 0.1, 0.5, 1.3], curve)
    assert got.tolist() == pytest.approx([0.9425, 0.86, 0.86, 0.955, 0.96])


def test_facility_power_hand_worked():
    # UPS out 1 MW at 50% load -> eff 0.955 -> in 1,047,120.419 W; + 300 kW cooling
    # = 1,347,120.419 W before the transformer; / 0.99 = 1,360,727.696 W.
    out = facility_power(980_000.0, 300_000.0, 0.0, CHAIN, 2e6)
    assert out["pdu_loss_w"] == pytest.approx(20_000.0)
    assert out["ups_load_fraction"] == pytest.approx(0.5)
    assert out["ups_efficiency"] == pytest.approx(0.955)
    assert out["ups_loss_w"] == pytest.approx(47_120.419, rel=1e-8)
    assert out["transformer_loss_w"] == pytest.approx(13_607.277, rel=1e-7)
    assert out["facility_w"] == pytest.approx(1_360_727.696, rel=1e-9)
    assert out["pue"] == pytest.approx(1.38849765, rel=1e-8)


def test_cooling_and_other_bypass_the_ups():
    base = facility_power(980_000.0, 0.0, 0.0, CHAIN, 2e6)
    more = facility_power(980_000.0, 100_000.0, 50_000.0, CHAIN, 2e6)
    assert more["ups_loss_w"] == pytest.approx(base["ups_loss_w"])
    assert more["facility_w"] - base["facility_w"] == pytest.approx(150_000.0 / 0.99)


def test_pue_is_nan_without_it_load_and_arrays_broadcast():
    out = facility_power(np.array([0.0, 980_000.0]), 300_000.0, 0.0, CHAIN, 2e6)
    assert math.isnan(out["pue"][0])
    assert out["pue"][1] == pytest.approx(1.38849765, rel=1e-8)
    assert out["facility_w"][0] == pytest.approx(300_000.0 / 0.99)


def test_ups_capacity_defaults():
    # Peak IT / 0.8, times the redundancy: N+1 of 4 modules (default) 5/4, 2N twice, N once.
    assert default_ups_capacity_w(8e6, PowerChain()) == pytest.approx(12.5e6)
    assert default_ups_capacity_w(8e6, PowerChain(redundancy={"ups": "2N"})) == pytest.approx(20e6)
    assert default_ups_capacity_w(8e6, PowerChain(redundancy={"ups": "N"})) == pytest.approx(10e6)
    assert default_ups_capacity_w(8e6, PowerChain(redundancy={"ups": "N+1"}, ups_modules=2)) == pytest.approx(15e6)
    assert default_ups_capacity_w(8e6, PowerChain(ups_capacity=12e6)) == 12e6
    fixed = PowerChain(ups_capacity=2e6, pdu_efficiency=0.98,
                       ups_efficiency=EfficiencyCurve(points=[(0.25, 0.93), (0.5, 0.955)]))
    assert facility_power(980_000.0, 0.0, 0.0, fixed)["ups_efficiency"] == pytest.approx(0.955)
    with pytest.raises(ValueError, match="UPS capacity"):
        facility_power(1.0, 0.0, 0.0, PowerChain())


def test_max_it_power_closed_form_with_flat_ups():
    # Constant UPS 95%: facility = IT * (1 / (0.98 * 0.95) + 0.25) / 0.99, so 10 MW allows
    # IT = 9.9 MW / 1.324113856 = 7,476,698.438 W.
    chain = PowerChain(ups_efficiency=0.95, pdu_efficiency=0.98, transformer_efficiency=0.99)
    got = max_it_power_within(10e6, 0.25, chain, 20e6)
    assert got == pytest.approx(7_476_698.438, rel=1e-9)


def test_max_it_power_inverts_facility_power():
    # The hand-worked case backwards: 1,360,727.696 W with cooling 300/980 of IT -> 980 kW.
    got = max_it_power_within(1_360_727.69580623, 300.0 / 980.0, CHAIN, 2e6)
    assert got == pytest.approx(980_000.0, rel=1e-9)
    envelopes = np.linspace(1e5, 3e6, 7)
    ratios = np.linspace(0.05, 0.6, 7)
    it = max_it_power_within(envelopes, ratios, CHAIN, 2e6, other_w=20_000.0)
    facility = facility_power(it, ratios * it, 20_000.0, CHAIN, 2e6)["facility_w"]
    assert np.all(facility <= envelopes)
    assert facility == pytest.approx(envelopes, rel=1e-12)


def test_max_it_power_zero_when_other_load_exceeds_envelope():
    assert max_it_power_within(1e5, 0.1, CHAIN, 2e6, other_w=2e5) == 0.0
