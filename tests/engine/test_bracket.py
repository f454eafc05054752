"""largest_within (engine/bracket.py): the largest feasible point of a monotone function."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.bracket import largest_within


def counted(f):
    calls = []

    def wrapped(x):
        calls.append(x)
        return f(x)
    return wrapped, calls


def test_square_root_by_regula_falsi():
    f, calls = counted(lambda x: x * x)
    x = largest_within(f, 2.0, 0.0, 2.0)
    assert x * x <= 2.0
    assert x == pytest.approx(math.sqrt(2.0), abs=1e-7)
    assert len(calls) < 20                               # bisection to 1e-7 would take 25


def test_kinked_and_discontinuous_functions_stay_feasible():
    kinked = lambda x: 100.0 * x if x < 0.5 else 50.0 + 1000.0 * (x - 0.5)  # noqa: E731
    x = largest_within(kinked, 60.0, 0.0, 1.0)
    assert kinked(x) <= 60.0 and x == pytest.approx(0.51, abs=1e-7)
    step = lambda x: 0.0 if x < 0.3 else 10.0  # noqa: E731
    x = largest_within(step, 5.0, 0.0, 1.0)
    assert step(x) <= 5.0 and x == pytest.approx(0.3, abs=1e-6)


def test_known_end_values_are_not_recomputed():
    f, calls = counted(lambda x: x)
    largest_within(f, 0.25, 0.0, 1.0, f_lo=0.0, f_hi=1.0)
    assert 0.0 not in calls and 1.0 not in calls


def test_needs_a_bracket():
    with pytest.raises(ValueError):
        largest_within(lambda x: x, 2.0, 0.0, 1.0)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(a=st.floats(0.01, 100), b=st.floats(0, 100), c=st.floats(0, 100), frac=st.floats(0.001, 0.999))
def test_monotone_cubics(a, b, c, frac):
    def f(x):
        return a * x + b * x**2 + c * x**3

    limit = frac * f(1.0)
    x = largest_within(f, limit, 0.0, 1.0)
    assert f(x) <= limit
    # Within x_tol of the root, or within f_rtol of the limit.
    assert f(x + 2e-7) > limit or f(x) >= limit * (1 - 2e-7)
