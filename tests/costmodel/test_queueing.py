"""Closed forms of a continuously batched replica (engine/queueing.py), against hand algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.costmodel.queueing import (
    batch_fixed_point,
    capacity_per_s,
    fluid_step,
    operating_point,
    patient_fluid_step,
    share_within,
)

BATCHES = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])


def test_capacity_is_a_full_batch_over_its_request_time():
    # 32 requests of 100 tokens at 10 ms per iteration, each also stalls the batch for a 20 ms
    # prefill: 32 requests every 100 * 0.01 + 32 * 0.02 = 1.64 s.
    assert capacity_per_s(0.02, 0.01, 100, 32) == pytest.approx(32 / 1.64)


def test_constant_iteration_time_gives_littles_law_batch():
    flat = np.full(len(BATCHES), 0.01)
    p = operating_point(5.0, 0.02, BATCHES, flat, 100)
    # rho = 5 * 0.02 = 0.1; TPOT = 0.01 / 0.9; b = 5 * 100 * TPOT = 5.555...
    assert p.prefill_share == pytest.approx(0.1)
    assert p.tpot_s == pytest.approx(0.01 / 0.9)
    assert p.batch == pytest.approx(5 * 100 * 0.01 / 0.9)
    # M/D/1 (Pollaczek-Khinchine): W = rho * t_pre / (2 (1 - rho)).
    assert p.prefill_wait_s == pytest.approx(0.1 * 0.02 / (2 * 0.9))


def test_linear_iteration_time_solved_on_its_segment():
    # t_dec(b) = 10 ms + 1 ms * b; c = 5 * 100 / 0.9 = 555.6; b = c * 0.01 / (1 - c * 0.001) = 12.5.
    linear = 0.01 + 0.001 * BATCHES
    p = operating_point(5.0, 0.02, BATCHES, linear, 100)
    assert p.batch == pytest.approx(12.5)
    assert p.tpot_s == pytest.approx((0.01 + 0.001 * 12.5) / 0.9)


def test_at_capacity_the_batch_is_full():
    linear = 0.01 + 0.001 * BATCHES
    cap = capacity_per_s(0.02, linear[-1], 100, 32)
    p = operating_point(cap * (1 - 1e-9), 0.02, BATCHES, linear, 100)
    assert p.batch == pytest.approx(32.0, rel=1e-6)


def test_light_load_batch_below_one_runs_at_batch_one_speed():
    linear = 0.01 + 0.001 * BATCHES
    # c * t_dec(1) = 0.1 / (1 - 0.002) * 100 * 0.011 < 1: b = c * t_dec(1).
    p = operating_point(0.1, 0.02, BATCHES, linear, 100)
    assert p.batch == pytest.approx(0.1 * 100 * 0.011 / (1 - 0.002))
    assert p.tpot_s == pytest.approx(0.011 / (1 - 0.002))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(c=st.floats(0.1, 1e4), slope=st.floats(0.0, 0.01), base=st.floats(1e-4, 0.05))
def test_fixed_point_solves_its_equation(c, slope, base):
    table = base + slope * BATCHES
    b = batch_fixed_point(c, BATCHES, table)
    t = float(np.interp(max(b, 1.0), BATCHES, table))
    if b < BATCHES[-1]:
        assert b == pytest.approx(c * t, rel=1e-9)
    else:
        assert c * t >= BATCHES[-1] * (1 - 1e-9)      # saturated: demand exceeds a full batch


def test_fluid_queue_overload_and_drain():
    over = fluid_step(0.0, 20.0, 15.0, 10.0)
    assert (over.served, over.backlog_end, over.mean_backlog) == pytest.approx((150.0, 50.0, 25.0))
    # 100 queued, 1/s arriving, 11/s served: empty after 10 s of 20; served 100 + 20.
    drain = fluid_step(100.0, 1.0, 11.0, 20.0)
    assert drain.served == pytest.approx(120.0)
    assert drain.backlog_end == 0.0
    assert drain.mean_backlog == pytest.approx(0.5 * 100 * 10 / 20)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(backlog=st.floats(0, 1e6), arrive=st.floats(0, 1e4), capacity=st.floats(0, 1e4), dt=st.floats(0, 1e4))
def test_fluid_queue_conserves_requests(backlog, arrive, capacity, dt):
    step = fluid_step(backlog, arrive, capacity, dt)
    assert backlog + arrive * dt == pytest.approx(step.served + step.backlog_end, rel=1e-12, abs=1e-9)
    assert step.served <= capacity * dt * (1 + 1e-12) + 1e-9 or capacity * dt >= backlog + arrive * dt
    assert step.backlog_end >= -1e-9 and step.served >= 0


def test_share_within_follows_the_exponential_tail():
    assert share_within(0.0, 0.5, 0.4) == pytest.approx(0.6)            # the 60% who never wait
    assert share_within(1.0, 0.5, 1.0) == pytest.approx(1 - math.exp(-2.0))
    assert share_within(-0.1, 0.5, 0.4) == 0.0                          # SLO below the prefill itself
    assert share_within(1.0, 0.0, 0.0) == 1.0


def test_quantiles_of_an_exponential_from_its_exceedance_counts():
    from simulator.costmodel.queueing import quantile_from_exceedance, wait_exceedance

    grid = np.logspace(-4, 6, 501)
    tau = 0.37
    exceed = 1000.0 * wait_exceedance(grid, tau, 1.0)            # P(W > t) = exp(-t / tau)
    assert quantile_from_exceedance(grid, exceed, 1000.0, 0.5) == pytest.approx(tau * math.log(2), rel=0.01)
    assert quantile_from_exceedance(grid, exceed, 1000.0, 0.99) == pytest.approx(tau * math.log(100), rel=0.01)
    # 30% wait at all: the median does not wait; the p99 is tau/0.3 * ln(0.3/0.01) with mean wait tau.
    partial = 1000.0 * wait_exceedance(grid, tau, 0.3)
    assert quantile_from_exceedance(grid, partial, 1000.0, 0.5) <= grid[0]
    assert quantile_from_exceedance(grid, partial, 1000.0, 0.99) == pytest.approx(
        tau / 0.3 * math.log(0.3 / 0.01), rel=0.01)
    assert math.isnan(quantile_from_exceedance(grid, partial * 0, 0.0, 0.5))


def test_patient_queue_caps_the_backlog_at_capacity_times_patience():
    # 10/s arrive, 6/s served, patience 50 s: the backlog grows 4/s from 100 to its cap of 300
    # (6 x 50) after 50 s, then 4/s give up for the remaining 50 s of a 100 s segment.
    step = patient_fluid_step(100.0, 10.0, 6.0, 100.0, 50.0)
    assert step.served == pytest.approx(600.0)
    assert step.backlog_end == pytest.approx(300.0)
    assert step.abandoned == pytest.approx(200.0)
    # Mean backlog: 50 s rising 100 -> 300 (mean 200), then 50 s at 300.
    assert step.mean_backlog == pytest.approx(250.0)
    assert pytest.approx(step.served + step.abandoned + step.backlog_end) == 100.0 + 10.0 * 100.0


def test_patient_queue_without_capacity_loses_every_arrival_and_the_queue():
    step = patient_fluid_step(50.0, 3.0, 0.0, 10.0, 600.0)
    assert (step.served, step.backlog_end) == (0.0, 0.0)
    assert step.abandoned == pytest.approx(50.0 + 30.0)


def test_patient_queue_under_the_cap_is_the_plain_fluid_queue():
    for args in ((0.0, 5.0, 8.0, 30.0), (100.0, 5.0, 8.0, 30.0), (10.0, 9.0, 8.0, 30.0)):
        plain = fluid_step(*args)
        patient = patient_fluid_step(*args, 600.0)
        assert (patient.served, patient.backlog_end, patient.mean_backlog, patient.abandoned) == \
            (plain.served, plain.backlog_end, plain.mean_backlog, 0.0)
    never = patient_fluid_step(10.0, 9.0, 0.0, 30.0, float("inf"))
    assert never.abandoned == 0.0 and never.backlog_end == pytest.approx(10.0 + 270.0)


def test_a_capacity_drop_gives_up_the_queue_above_the_new_cap():
    # 1000 queued, capacity falls to 2/s with patience 100 s: 800 give up at once.
    step = patient_fluid_step(1000.0, 2.0, 2.0, 10.0, 100.0)
    assert step.abandoned == pytest.approx(800.0)
    assert step.backlog_end == pytest.approx(200.0)
