"""Depreciation and financing: straight line to a residual value without a cost of capital, and
with one the annuity that pays the equipment off (checked by simulating the loan year by year)."""

from __future__ import annotations

import pytest

from simulator import api
from simulator.report.cost import capital_charge_per_year


def _balance_after(capex: float, payment: float, rate: float, years: int) -> float:
    balance = capex
    for _ in range(years):
        balance = balance * (1 + rate) - payment
    return balance


def test_straight_line_to_the_residual_value():
    assert capital_charge_per_year(1000.0, 4) == pytest.approx(250.0)
    assert capital_charge_per_year(1000.0, 4, residual_fraction=0.2) == pytest.approx(200.0)


@pytest.mark.parametrize(("rate", "years", "residual"), [(0.08, 5, 0.0), (0.05, 4, 0.1), (0.12, 15, 0.3)])
def test_the_annuity_pays_the_loan_down_to_the_residual_value(rate, years, residual):
    payment = capital_charge_per_year(1000.0, years, residual, rate)
    assert _balance_after(1000.0, payment, rate, years) == pytest.approx(1000.0 * residual, abs=1e-9)


def test_financing_raises_the_amortised_capex_of_a_run():
    sc = {"name": "fin", "simulation": {"horizon": "1d", "sample_interval": "1h"},
          "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "10C"}},
          "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}]}}
    plain = api.simulate(sc).costs_dict
    financed = api.simulate({**sc, "costs": {"cost_of_capital": 0.08, "residual_value": 0.1}}).costs_dict
    years = 4.0   # servers' default amortisation life
    ratio = capital_charge_per_year(1.0, years, 0.1, 0.08) / (1.0 / years)
    assert financed["amortised_usd"]["servers"] == pytest.approx(plain["amortised_usd"]["servers"] * ratio, rel=1e-9)
    assert financed["capex_usd"] == plain["capex_usd"]
