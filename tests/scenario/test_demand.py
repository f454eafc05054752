"""Demand over the horizon: growth rates read as compound growth per month, the arrivals a
growing service draws match the closed-form integral, and training deadlines are checked,
warned about and judged in plans."""

from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter, ValidationError

from simulator import api
from simulator.plan.evaluate import judge
from simulator.scenario.demand import MONTH_S, MonthlyGrowth, growth_factor, peak_factor
from simulator.scenario.plan import PlanSpec

GROWTH = TypeAdapter(MonthlyGrowth)


@pytest.mark.parametrize(("text", "per_month"), [
    ("6%/month", 0.06), ("0.06/month", 0.06), (0.06, 0.06), ("50%/year", 1.5 ** (1 / 12) - 1),
    ("-20%/year", 0.8 ** (1 / 12) - 1), ("0%/month", 0.0),
])
def test_growth_rates_read_as_compound_growth_per_month(text, per_month):
    assert GROWTH.validate_python(text) == pytest.approx(per_month, rel=1e-12)


@pytest.mark.parametrize("text", ["-200%/month", "-100%/year", "6%", "fast", True, 11.0])
def test_impossible_growth_rates_are_refused(text):
    with pytest.raises(ValidationError):
        GROWTH.validate_python(text)


def test_twelve_months_of_monthly_growth_make_a_year_of_it():
    g = GROWTH.validate_python("50%/year")
    assert growth_factor(g, 12 * MONTH_S) == pytest.approx(1.5, rel=1e-12)
    assert peak_factor(-0.1, 6 * MONTH_S) == 1.0


def _service_scenario(growth: str) -> dict:
    return {
        "name": "growth",
        "simulation": {"horizon": "60d", "sample_interval": "1d", "seed": 5},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}]},
        "workloads": {"inference": [{"name": "chat", "model": "gpt3-125m", "replicas": 1, "arrival_rate": "2/s",
                                     "prompt_tokens": 128, "output_tokens": 16, "growth": growth}]},
    }


def test_a_growing_service_draws_the_integral_of_its_rate():
    # rate(t) = r (1 + g)^(t / M): arrivals over [0, T] = r M / ln(1 + g) ((1 + g)^(T / M) - 1).
    r, g, horizon = 2.0, 1.0, 60 * 86400.0
    result = api.simulate(_service_scenario("100%/month"))
    expected = r * MONTH_S / math.log(1 + g) * ((1 + g) ** (horizon / MONTH_S) - 1)
    arrived = result.summary_dict["requests_arrived"]
    assert arrived == pytest.approx(expected, rel=5 * math.sqrt(expected) / expected + 1e-3)
    # the last day's arrivals over the first day's: (1 + g)^(59 days / M), within Poisson noise
    per_day = result.timeseries["requests_arrived"].to_numpy()
    assert per_day[-1] / per_day[0] == pytest.approx((1 + g) ** (59 * 86400.0 / MONTH_S), rel=0.02)


def test_a_missed_deadline_is_a_warning_and_breaks_a_plan():
    sc = {
        "name": "deadline",
        "simulation": {"horizon": "1d", "sample_interval": "1h", "seed": 1},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}]},
        "workloads": {"training": [{"name": "j", "model": "gpt3-125m", "tokens": "100T", "global_batch": 32,
                                    "gpus": 8, "deadline": "12h"}]},
    }
    result = api.simulate(sc)
    kinds = {w["kind"]: w["message"] for w in result.summary_dict["warnings"]}
    assert "had not finished by its deadline (12.0 h)" in kinds["job-missed-deadline"]
    outcome = {"summary": result.summary_dict, "costs": result.costs_dict, "services": {},
               "jobs": {"j": {"status": "running", "end_s": None, "deadline_s": 12 * 3600.0}}}
    spec = PlanSpec.model_validate({"decisions": [{"path": "cluster.racks[0].count", "values": [1]}],
                                    "objectives": [{"metric": "total_usd"}]})
    assert "deadline.j" in judge(outcome, spec)[1]
    met = {**outcome, "jobs": {"j": {"status": "finished", "end_s": 3600.0, "deadline_s": 12 * 3600.0}}}
    assert "deadline.j" not in judge(met, spec)[1]
