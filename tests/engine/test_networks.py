"""Every network of the site against the NVIDIA DGX SuperPOD reference architecture
(RA-11333-001 V11): compute fabric counts by tier, the 4-SU bill of materials, support servers."""

from __future__ import annotations

import pytest

from simulator import api
from simulator.domain.catalog import shipped_catalog
from simulator.engine.cluster import build_groups
from simulator.engine.fabric import size_fabric
from simulator.engine.networks import build_support, plan_networks
from simulator.scenario.schema import Fabric

CATALOG = shipped_catalog()


@pytest.mark.parametrize(("gpus", "leaves", "spines", "cores"), [
    (248, 8, 4, 0), (504, 16, 8, 0), (1016, 32, 16, 0),            # RA Table 4 (1, 2, 4 SU)
    (2048, 64, 32, 0), (4096, 128, 128, 64), (8192, 256, 256, 128), (16384, 512, 512, 256),  # Table 3
])
def test_rail_optimised_fabric_matches_the_superpod_tables(gpus, leaves, spines, cores):
    f = size_fabric(Fabric(), gpus, 50e9, CATALOG)
    assert (f.leaves, f.spines, f.cores) == (leaves, spines, cores)


def test_four_su_transceivers_match_table_8():
    # Table 8: 1536 switch + 508 system twin-port transceivers for 127 nodes (and 4 UFM ports).
    f = size_fabric(Fabric(), 1016, 50e9, CATALOG)
    assert f.optics == pytest.approx(1536 + 508, abs=8)


def cluster(racks: int, **extra) -> api.LoadedScenario:
    return api.load_scenario({"name": "n", "site": {"power_envelope": "100MW"},
                              "cluster": {"racks": [{"node": "dgx-h100", "nodes_per_rack": 4, "count": racks}],
                                          **extra}})


def test_default_support_and_networks_of_four_sus():
    loaded = cluster(32)                                    # 128 nodes, 1024 GPUs
    groups = build_groups(loaded.scenario.cluster.racks, loaded.catalog)
    support = build_support(loaded.scenario.cluster, 1024, loaded.catalog)
    # One of each per 256 GPUs: 4 storage appliances, 4 management servers, 4 UFMs (Table 7), 4 login.
    assert [n for _, n in support.rows] == [4, 4, 4, 4]
    plan = plan_networks(loaded.scenario.cluster, groups, support, loaded.catalog)
    # Out-of-band: 128 nodes + 16 support servers x (1 or 2 ports) + the switches of the other
    # networks + 2 PDUs per rack, on 48-port 1 GbE switches at 12:1 -> 44 down per leaf.
    switches = sum(i.count for i in plan.items if i.kind == "switch" and i.network != "oob")
    oob_ports = 128 + (4 * 2 + 12 * 1) + switches + 2 * 32
    _, leaves, spines, _ = plan.others["oob"]
    assert leaves == -(-oob_ports // 44)
    assert leaves + spines == 8                              # Table 7: 8 SN2201
    # Compute NICs: one ConnectX-7 per GPU; storage and in-band: one dual-port card per node each.
    nics = {(i.network, i.name): i.count for i in plan.items if i.kind == "nic"}
    assert nics == {("compute", "connectx7-400g"): 1024, ("storage", "connectx7-2x200g"): 128,
                    ("frontend", "connectx7-2x200g"): 128}


def test_support_and_networks_can_be_switched_off():
    loaded = cluster(2, support=[], networks={"storage": None, "frontend": None, "oob": None})
    groups = build_groups(loaded.scenario.cluster.racks, loaded.catalog)
    support = build_support(loaded.scenario.cluster, 64, loaded.catalog)
    plan = plan_networks(loaded.scenario.cluster, groups, support, loaded.catalog)
    assert support.rows == () and plan.others == {}
    assert {i.network for i in plan.items} == {"compute"}
