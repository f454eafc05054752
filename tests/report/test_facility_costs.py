"""Capex by item (facility by technology and redundancy, networks, support servers) and the
rental bill for the same work, against hand calculations."""

from __future__ import annotations

import pytest

from simulator import api

HOUR = 3600.0


def scenario(**extra) -> dict:
    sc = {
        "name": "capex",
        "simulation": {"horizon": "3d", "sample_interval": "1h", "seed": 1},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "30C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1}]},
        "workloads": {"training": [{"name": "j", "model": "gpt3-1.3b", "tokens": "10T", "global_batch": 64,
                                    "micro_batch": 4, "seq": 2048, "gpus": 16, "layout": {"tp": 1, "pp": 1}}]},
    }
    sc.update(extra)
    return sc


def items(result) -> dict[str, dict]:
    return {i["item"]: i for i in result.costs_dict["capex_items"]}


def test_facility_items_follow_the_design_loads_and_redundancy():
    r = api.simulate(scenario())
    design = r.record.design
    got = items(r)
    assert got["building: building"]["usd"] == pytest.approx(4.33 * design.peak_it_w)
    assert got["building: white-space"]["quantity"] == 1
    # UPS at N+1 of 4 modules: peak IT / 0.8 x 5/4, at $0.64 per W.
    assert got["electrical: ups"]["quantity"] == pytest.approx(design.peak_it_w / 0.8 * 1.25)
    assert got["electrical: ups"]["usd"] == pytest.approx(0.64 * design.peak_it_w / 0.8 * 1.25)
    # Generators N+1 (of 4): the worst hour's facility load x 5/4.
    assert got["electrical: generators"]["quantity"] == pytest.approx(design.peak_facility_w * 1.25)
    # At 30 C the air-cooled chillers carry the whole design heat (free cooling needs < 21 C),
    # times 5/4 for N+1.
    assert got["cooling: air-cooled-chiller"]["quantity"] == pytest.approx(design.air_heat_w * 1.25, rel=1e-9)
    assert "cooling: dry-coolers" not in got and "cooling: cdu-manifolds" not in got
    two_n = api.simulate(scenario(power={"redundancy": {"ups": "2N", "generators": "none"}}))
    assert items(two_n)["electrical: ups"]["quantity"] == pytest.approx(design.peak_it_w / 0.8 * 2)
    assert "electrical: generators" not in items(two_n)
    capex = r.costs_dict["capex_usd"]
    assert capex["total"] == pytest.approx(sum(i["usd"] for i in r.costs_dict["capex_items"]))


def test_liquid_racks_buy_cdus_and_a_chiller_less_plant_in_the_cold():
    sc = scenario(site={"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "5C"}})
    sc["cluster"]["racks"][0]["cooling"] = "liquid"
    r = api.simulate(sc)
    got = items(r)
    design = r.record.design
    assert got["cooling: cdu-manifolds"]["quantity"] == pytest.approx(design.plate_heat_w)
    assert got["cooling: dry-coolers"]["quantity"] == pytest.approx(design.liquid_heat_w * 1.25)
    # 5 C all year: neither loop ever needs its chillers, so none are bought.
    assert "cooling: air-cooled-chiller" not in got


def test_network_nics_are_moved_out_of_the_server_price():
    r = api.simulate(scenario())
    got = items(r)
    nics = sum(i["usd"] for i in r.costs_dict["capex_items"] if ": nic:" in i["item"] or " nic: " in i["item"])
    assert got["NICs counted under network"]["usd"] == pytest.approx(-nics)
    assert r.costs_dict["capex_usd"]["servers"] == pytest.approx(2 * 320_000 - nics)


def test_rental_bill_for_the_same_work():
    r = api.simulate(scenario(costs={"rental": {"price": "$2/h", "commitment": "1y", "discount": 0.35}}))
    rental = r.costs_dict["rental"]
    # The job holds 16 GPUs all 72 hours: on demand 1,152 GPU-hours x $2; committed 16 GPUs for
    # the horizon at 65% of the price.
    assert rental["gpu_hours_held"] == pytest.approx(16 * 72)
    assert rental["on_demand_usd"] == pytest.approx(16 * 72 * 2.0)
    assert rental["committed_usd"] == pytest.approx(16 * 72 * 2.0 * 0.65)
    assert rental["rental_usd"] == pytest.approx(16 * 72 * 2.0 * 0.65)
    assert rental["owned_usd"] == pytest.approx(r.costs_dict["total_usd"])
    on_demand = api.simulate(scenario(costs={"rental": {"price": "$2/h"}}))
    assert on_demand.costs_dict["rental"]["committed_usd"] is None
    assert on_demand.costs_dict["rental"]["rental_usd"] == pytest.approx(16 * 72 * 2.0)
