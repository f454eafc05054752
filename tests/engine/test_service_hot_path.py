"""The per-sample shortcuts of engine/serving.py give the same bits as the plain formulas they
replace (costmodel/queueing.py ``wait_exceedance``, the 0/1 TPOT indicator, ``np.interp``)."""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from simulator.costmodel.queueing import wait_exceedance
from simulator.costmodel.serving_plan import LoadCurve
from simulator.engine.serving import LATENCY_GRID_S, _TtftGrid

RNG = np.random.default_rng(12)


@pytest.mark.parametrize("prefill_s", [0.0, 3.7e-5, 0.0412, 0.8, 1.0, 17.0, 2.5e6])
def test_ttft_exceedance_is_wait_exceedance_bit_for_bit(prefill_s):
    grid = _TtftGrid(prefill_s)
    for mean_wait, p_wait in [(0.0, 0.5), (0.3, 0.0), *zip(10.0 ** RNG.uniform(-5, 4, 40), RNG.uniform(0, 1, 40),
                                                             strict=True)]:
        expected = wait_exceedance(LATENCY_GRID_S - prefill_s, float(mean_wait), float(p_wait))
        got = grid.exceedance(float(mean_wait), float(p_wait))
        assert got.tobytes() == expected.tobytes()


def test_tpot_prefix_add_is_the_indicator_product():
    plain = np.zeros(len(LATENCY_GRID_S))
    prefix = np.zeros(len(LATENCY_GRID_S))
    grid = LATENCY_GRID_S.tolist()
    for tpot, served in zip([1e-4, 0.0123, 0.05, float(LATENCY_GRID_S[37]), 1e7, 3e-5],
                            RNG.uniform(1, 1e6, 6), strict=True):
        plain += served * (tpot > LATENCY_GRID_S).astype(float)
        prefix[:bisect.bisect_left(grid, tpot)] += served
    assert prefix.tobytes() == plain.tobytes()


def test_load_curve_point_matches_np_interp():
    rates = np.array([0.0, 0.5, 1.25, 3.0, 7.5])
    curve = LoadCurve(7.5, 900.0, rates, np.array([0.05, 0.05, 0.07, 0.2, 0.9]), np.zeros(5),
                      np.array([0.01, 0.01, 0.012, 0.02, 0.04]), np.array([0.0, 1.0, 2.3, 6.0, 16.0]),
                      np.array([0.0, 0.03, 0.08, 0.2, 0.5]), np.array([80.0, 300.0, 420.0, 600.0, 690.0]),
                      np.array([0.0, 0.0, 0.0, 0.01, 0.2]))
    for rate in [-1.0, 0.0, 0.3, 0.5, 1.0, 2.999, 3.0, 7.4, 7.5, 9.0, *RNG.uniform(0, 7.5, 30)]:
        point, power = curve.point(float(rate))
        r = min(max(float(rate), 0.0), 7.5 * (1.0 - 1e-12))
        assert point.batch == float(np.interp(r, rates, curve.batch))
        assert point.prefill_share == float(np.interp(r, rates, curve.prefill_share))
        assert point.prefill_wait_s == max(float(np.interp(r, rates, curve.ttft_s)) - 0.05, 0.0)
        assert point.tpot_s == (0.01 if r <= 0.5 else float(np.interp(r, rates, curve.tpot_s)))
        assert power == float(np.interp(r, rates, curve.power_w))
        assert curve.preemptions_at(float(rate)) == float(np.interp(min(float(rate), 7.5), rates, curve.preemptions))
