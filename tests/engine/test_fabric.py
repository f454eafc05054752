"""Fabric sizing by hand, and jobs sharing oversubscribed uplinks slowing each other."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import api
from simulator.domain.catalog import shipped_catalog
from simulator.engine.fabric import FabricSize, network_shares, size_fabric
from simulator.scenario.schema import Fabric


def test_two_tier_clos_by_hand():
    # 64 NICs of 400G on 64-port 400G switches, non-blocking: 32 down / 32 up per leaf,
    # 2 leaves, 64 uplinks on ceil(64/64) = 1 spine; 64 switch links + 64 node links, two ends
    # each, on twin-port (2 x 400G) optics: (128 + 128) / 2 = 128 transceivers, of which the 32
    # in the nodes' cages draw from the nodes; one fibre per link.
    f = size_fabric(Fabric(topology="fat-tree"), 64, 50e9, shipped_catalog(), nics_per_node=8)
    assert (f.leaves, f.spines, f.cores, f.tiers) == (2, 1, 0, 2)
    assert f.optics == 128
    assert f.power_w == pytest.approx(3 * 750.0 + 96 * 17.0)
    assert f.price_usd == pytest.approx(3 * 30000.0 + 128 * 1500.0 + 128 * 120.0)
    assert f.nodes_per_leaf == 4           # fat-tree: 32 ports / 8 NICs per node


def test_oversubscription_shrinks_uplinks():
    # o = 3: 48 of 64 ports face the nodes, 16 go up.
    f = size_fabric(Fabric(topology="rail-optimized", oversubscription=3.0), 512, 50e9,
                    shipped_catalog(), nics_per_node=8)
    assert f.switch_ports_down == 48
    assert f.leaves == 11                  # ceil(512 / 48)
    assert f.nodes_per_leaf == 48          # rail-optimised: one port per node per rail leaf


def shares_for(o: float, per_leaf: int, jobs: list[np.ndarray]) -> list[float]:
    fab = FabricSize(0, 2, 8, 4, 0, per_leaf, 0, 0, 0.0, 0.0, 50e9, o, per_leaf)
    return network_shares(fab, jobs)


def test_single_job_across_full_leaves_gets_one_over_o():
    # 8 leaves of 4 nodes, a job on all 32: each leaf's 4 nodes send 28/31 of their traffic up.
    jobs = [np.arange(32)]
    [share] = shares_for(4.0, 4, jobs)
    assert share == pytest.approx((4 / 4.0) / (4 * 28 / 31))


def test_jobs_sharing_leaves_slow_each_other():
    per_leaf, o = 4, 2.0
    # Alone: job A has 2 nodes in each of leaves 0-3 (8 nodes): 2*6/7 node-units up per leaf,
    # capacity 4/2 = 2: no contention.
    a = np.array([0, 1, 4, 5, 8, 9, 12, 13])
    [alone] = shares_for(o, per_leaf, [a])
    assert alone == 1.0
    # B takes the other 2 nodes of the same leaves: each leaf now carries 2 * (2*6/7) = 3.43.
    b = a + 2
    both = shares_for(o, per_leaf, [a, b])
    assert both[0] == pytest.approx(2.0 / (2 * 2 * 6 / 7))
    assert both[1] == pytest.approx(both[0])


def test_non_blocking_fabric_never_contends():
    assert shares_for(1.0, 4, [np.arange(32), np.arange(32, 64)]) == [1.0, 1.0]


def scenario(oversubscription: float, jobs: int) -> dict:
    training = [{
        "name": f"job{i}", "model": "gpt3-1.3b", "tokens": "3B", "global_batch": 256, "micro_batch": 4,
        "seq": 2048, "gpus": 64, "precision": "bf16-mixed", "layout": {"tp": 1, "pp": 1},
    } for i in range(jobs)]
    return {
        "name": "fabric",
        "simulation": {"horizon": "1d", "sample_interval": "5min", "seed": 1},
        "site": {"power_envelope": "5MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {
            "racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 4, "count": 4}],
            "fabric": {"topology": "fat-tree", "oversubscription": oversubscription},
        },
        "workloads": {"training": training},
    }


def test_oversubscribed_fabric_slows_a_multi_node_job():
    free = api.simulate(scenario(1.0, 1)).jobs.iloc[0]
    tight = api.simulate(scenario(4.0, 1)).jobs.iloc[0]
    assert free["network_share_mean"] == pytest.approx(1.0)
    assert tight["network_share_mean"] < 1.0
    assert tight["end_s"] - tight["start_s"] > free["end_s"] - free["start_s"]


def test_co_tenants_on_shared_uplinks_finish_later_than_alone():
    # o = 4 on 64-port switches: 51 ports down, so 6 nodes (8 NICs each) per leaf; capacity
    # 6/4 = 1.5 node-units up per leaf. Alone, job0 on nodes 0-7 sends 6*2/7 = 1.714 up from
    # leaf 0: share 1.5/1.714 = 0.875. With job1 on nodes 8-15, leaf 1 carries job0's
    # 2*6/7 plus job1's 4*4/7: 4.0 units, so both run at 1.5/4 = 0.375.
    alone = api.simulate(scenario(4.0, 1)).jobs.iloc[0]
    both = api.simulate(scenario(4.0, 2)).jobs
    assert alone["network_share_mean"] == pytest.approx(1.5 / (6 * 2 / 7))
    assert both["network_share_mean"].iloc[0] == pytest.approx(1.5 / 4.0)
    assert both["network_share_mean"].iloc[1] == pytest.approx(1.5 / 4.0)
    assert both["end_s"].iloc[0] > alone["end_s"]
