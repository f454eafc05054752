"""dcsim plan on a dated scenario: a delivery date is a decision, plan.html shows the best plan's
build-out and each service's demand against capacity, and the SLO target holds month by month."""

from __future__ import annotations

import copy
import re
from xml.etree import ElementTree

from simulator import api
from simulator.plan import run_plan
from simulator.plan.evaluate import judge
from simulator.plan.figures import buildout_figure
from simulator.plan.outputs import plan_html
from simulator.scenario.plan import PlanSpec

# One rack of two DGX H100 from the start; a second one delivered on a date the plan chooses.
# GPT-3 1.3B on that second rack's 16 GPUs (~52k tokens/s per GPU: 300B tokens in ~4 days) must
# finish by day 40: a delivery on 1 Feb (day 31) makes it, one on 1 Mar (day 59) cannot.
BASE = {
    "name": "dated-plan",
    "simulation": {"start": "2027-01-01", "horizon": "90d", "sample_interval": "6h", "seed": 3},
    "site": {"power_envelope": [{"from": "2027-01-01", "power": "1MW"}, {"from": "2027-02-01", "power": "2MW"}],
             "climate": "temperate"},
    "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1},
                          {"name": "b", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1,
                           "available_from": "2027-02-01"}]},
    "workloads": {"training": [{"name": "pretrain", "model": "gpt3-1.3b", "tokens": "300B", "global_batch": 256,
                                "seq": 2048, "gpus": 16, "rack_group": "b", "deadline": "40d"}]},
    "plan": {"decisions": [{"name": "b_from", "path": "cluster.racks[1].available_from",
                            "values": ["2027-01-15", "2027-02-01", "2027-03-01"]}],
             "objectives": ["total_usd"], "search": {"sampler": "grid", "trials": 3, "batch": 3},
             "sensitivity": 0.0},
}


def test_the_latest_delivery_that_meets_the_deadline_wins():
    ran = run_plan(api.load_scenario(copy.deepcopy(BASE)))
    result = ran.result
    best = result.best()
    assert best is not None and best.values["b_from"] == "2027-02-01"     # later is cheaper, March too late
    broken = {t.values["b_from"]: t.broken for t in result.trials}
    assert list(broken["2027-03-01"]) == ["deadline.pretrain"] and not broken["2027-02-01"]
    page = plan_html(result, ran.sensitivity, "dated")
    assert "Build-out of the best plan" in page
    outcome = result.outcomes[best.key]
    booked = {row["group"]: row["at_s"] for row in outcome["costs"]["capex_schedule"]}
    assert booked == {"a": 0.0, "b": 31 * 86400.0}
    # The build-out figure: rack a's 16 GPUs (2 DGX H100) from January, rack b's 16 more from
    # February, stacked per month; drawn as inline SVG (no PNG, no matplotlib).
    timeline = buildout_figure(outcome)
    assert timeline is not None and timeline.x.categories == ("2027-01", "2027-02", "2027-03")
    a, b = timeline.panels[0].series
    assert a.y.tolist() == [16, 16, 16] and b.base.tolist() == [16, 16, 16] and b.y.tolist() == [16, 32, 32]
    svgs = re.findall(r"<figure>(<svg .*?</svg>)</figure>", page, re.S)
    assert "<img" not in page and len(svgs) == 2  # every plan tried, and the build-out
    bars = [el for el in ElementTree.fromstring(svgs[1]).iter("{http://www.w3.org/2000/svg}rect")
            if el.get("class") == "bar"]
    assert len(bars) == 5  # rack b has no bar in January


def test_slo_target_holds_in_every_month():
    spec = PlanSpec.model_validate({"decisions": [{"path": "x", "values": [1]}],
                                    "constraints": {"min_slo_attainment": {"chat": 0.9}}})
    months = [{"slo_attainment": {"chat": 1.0}}, {"slo_attainment": {"chat": 0.5}}]
    outcome = {"summary": {"peak_facility_power_w": 1.0, "power_envelope_w": 2.0, "monthly": months,
                           "total_usd": 1.0},
               "costs": {"total_usd": 1.0}, "jobs": {}, "services": {"chat": {"slo_attainment": 0.95}}}
    assert judge(outcome, spec)[1] == ["min_slo_attainment.chat"]
    outcome["summary"]["monthly"] = months[:1]
    assert judge(outcome, spec)[1] == []
