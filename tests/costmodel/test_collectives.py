"""Collective cost model: hand-computed cases, structure, and the fit to NCCL measurements
(accuracy by size band, benchmarks/accuracy_collectives.py)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simulator.costmodel import collective_tiers as ct
from simulator.costmodel import collectives as coll

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "benchmarks" / "reference"
H100_NVLINK_BYTES_PER_S = 450e9  # NVLink 4: 18 links x 25 GB/s per direction (datasheet)
NDR_NIC_BYTES_PER_S = 400e9 / 8


def ideal_tier(bw, latency_s=0.0, ranks=8, **kw):
    return ct.tier_row(bw, latency_s, ranks, **kw)[None, :]


def two_tiers(lat0=1e-6, lat1=5e-6, **kw):
    """NVLink-like tier of 400 GB/s, 8 ranks; network tier of 50 GB/s; ideal efficiencies."""
    return np.vstack([ct.tier_row(4e11, lat0, 8, **kw), ct.tier_row(5e10, lat1, np.inf)])


def g(*sizes):
    return np.array(sizes, dtype=np.float64)


# ----------------------------------------------------------------- one tier, by hand


def test_ring_all_reduce_1gb_on_8_ranks_at_100gbps_busbw():
    tiers = ideal_tier(1e11)
    # ring 2*7/8 * 1e9 / 1e11 = 0.0175 s; the tree would take 2 * 1e9 / 1e11 = 0.02 s
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(0.0175, rel=1e-12)


def test_tree_wins_when_latency_dominates_and_ring_when_bandwidth_does():
    tiers = ideal_tier(1e11, latency_s=1e-5)
    # 1 kB: ring 14 steps (140 us) + 17.5 ns; tree 2*log2(8) = 6 steps (60 us) + 20 ns
    assert coll.all_reduce_time(1e3, g(8), tiers) == pytest.approx(6e-5 + 2e3 / 1e11, rel=1e-12)
    # 1 GB: ring 0.0175 s + 140 us beats the tree's 0.02 s + 60 us
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(0.0175 + 1.4e-4, rel=1e-12)


def test_in_network_reduction_moves_s_whatever_the_ranks_but_not_on_two():
    # 8 ranks, full-speed in-switch reduction: 1e9 / 1e11 = 0.01 s beats the ring's 0.0175 s
    tiers = ideal_tier(1e11, innet_efficiency=1.0)
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(0.01, rel=1e-12)
    # at half speed it loses to the ring again
    tiers = ideal_tier(1e11, innet_efficiency=0.5)
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(0.0175, rel=1e-12)
    # two ranks never use it (NCCL disables NVLS there): ring at 50% = 1e9 / 5e10 = 0.02 s
    tiers = ideal_tier(1e11, efficiency=0.5, innet_efficiency=1.0)
    assert coll.all_reduce_time(1e9, g(2), tiers) == pytest.approx(0.02, rel=1e-12)


def test_all_gather_is_half_the_ring_all_reduce_bandwidth_term():
    tiers = ideal_tier(1e11)
    for n in (2.0, 4.0, 8.0):
        ag = coll.all_gather_time(1e9, g(n), tiers)
        assert ag == pytest.approx((n - 1) / n * 1e9 / 1e11, rel=1e-12)
        assert ag == pytest.approx(coll.ring_all_reduce_s(1e9, n, tiers[0]) / 2, rel=1e-12)
        assert coll.reduce_scatter_time(1e9, g(n), tiers) == ag


def test_half_bandwidth_size_halves_achieved_bandwidth():
    tiers = ideal_tier(1e11, efficiency=0.8, half_bytes=4e6)
    # at S = S_half the all-gather runs at 0.8 * 1e11 / 2 = 40 GB/s: 7/8 * 4e6 / 4e10 = 87.5 us
    assert coll.all_gather_time(4e6, g(8), tiers) == pytest.approx(8.75e-5, rel=1e-12)


def test_send_recv_latency_floor_and_bandwidth():
    tiers = ideal_tier(1e11, latency_s=3e-6, efficiency=0.5, p2p_efficiency=0.8)
    # 1 byte costs the latency (plus 1 / 8e10 s); 8 GB costs 8e9 / 8e10 = 0.1 s more
    assert coll.send_recv_time(1.0, g(2), tiers) == pytest.approx(3e-6 + 1 / 8e10, rel=1e-12)
    assert coll.send_recv_time(8e9, g(2), tiers) == pytest.approx(3e-6 + 0.1, rel=1e-12)
    assert coll.send_recv_time(0.0, g(2), tiers) == 0.0


def test_call_floor_bounds_synchronising_collectives_only():
    tiers = ideal_tier(1e11, latency_s=1e-6, call_floor_s=4e-5)
    assert coll.all_reduce_time(1e3, g(8), tiers) == 4e-5
    assert coll.all_gather_time(1e3, g(8), tiers) == 4e-5
    assert coll.all_to_all_time(1e3, g(8), tiers) == 4e-5
    # send/recv: 1 us + 1e3 / 1e11
    assert coll.send_recv_time(1e3, g(2), tiers) == pytest.approx(1e-6 + 1e-8, rel=1e-12)
    # large buffers are unaffected: 0.0175 s + 14 us
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(0.0175 + 1.4e-5, rel=1e-12)


def protocol_tier(**kw):
    """400 GB/s, 8 ranks; Simple: 80% of the link, 10 us per call, 1 us per step; LL: 40%,
    2 us per call, 0.2 us per step; LL128: 72%, 6 us per call, 0.5 us per step."""
    args = {"efficiency": 0.8, "base_latency_s": 1e-5, "ll_efficiency": 0.4,
            "ll_base_latency_s": 2e-6, "ll_latency_s": 2e-7, "ll128_efficiency": 0.72,
            "ll128_base_latency_s": 6e-6, "ll128_latency_s": 5e-7, **kw}
    return ct.tier_row(4e11, 1e-6, 8, **args)[None, :]


def test_each_protocol_prices_latency_plus_bytes_and_the_fastest_runs():
    tiers = protocol_tier()
    t = tiers[0]
    # 8 ranks, 1 kB: ring LL 2 + 14 * 0.2 = 4.8 us + 1.75 kB / 160 GB/s; tree LL 2 + 6 * 0.2
    # = 3.2 us + 2 kB / 160 GB/s wins
    assert coll.ring_all_reduce_s(1e3, 8.0, t, coll.Protocol.LL) == pytest.approx(
        4.8e-6 + 1.75e3 / 1.6e11, rel=1e-12)
    assert coll.all_reduce_time(1e3, g(8), tiers) == pytest.approx(3.2e-6 + 2e3 / 1.6e11, rel=1e-12)
    assert ct.fastest_all_reduce(1e3, 8.0, t)[:2] == ("tree", "ll")
    # 1 GB: ring Simple 10 + 14 us + 1.75 GB / 320 GB/s = 5.4929 ms beats ring LL128's 6 + 7 us
    # + 1.75 GB / 288 GB/s = 6.0889 ms and everything else
    assert coll.all_reduce_time(1e9, g(8), tiers) == pytest.approx(2.4e-5 + 1.75e9 / 3.2e11,
                                                                   rel=1e-12)
    assert ct.fastest_all_reduce(1e9, 8.0, t)[:2] == ("ring", "simple")
    # 2 MB in between: tree LL128 6 + 3 us + 4e6 / 2.88e11 = 22.89 us beats ring LL128 (25.15),
    # ring LL (26.68), tree LL (28.2), tree Simple (28.5) and ring Simple (34.94 us)
    assert ct.fastest_all_reduce(2e6, 8.0, t)[:2] == ("tree", "ll128")
    assert coll.all_reduce_time(2e6, g(8), tiers) == pytest.approx(9e-6 + 4e6 / 2.88e11, rel=1e-12)
    # all-gather takes the fastest ring protocol too: 1 kB, LL 2 + 7 * 0.2 us + 875 B / 160 GB/s
    assert coll.all_gather_time(1e3, g(8), tiers) == pytest.approx(3.4e-6 + 875 / 1.6e11,
                                                                   rel=1e-12)


def test_protocols_are_off_unless_given_an_efficiency():
    simple_only = ct.tier_row(4e11, 1e-6, 8, efficiency=0.8, base_latency_s=1e-5)[None, :]
    t = simple_only[0]
    assert coll.ring_all_reduce_s(1e3, 8.0, t, coll.Protocol.LL) == np.inf
    assert coll.tree_all_reduce_s(1e3, 8.0, t, coll.Protocol.LL128) == np.inf
    # tree Simple: 10 + 6 us + 2 kB / 320 GB/s
    assert coll.all_reduce_time(1e3, g(8), simple_only) == pytest.approx(1.6e-5 + 2e3 / 3.2e11,
                                                                         rel=1e-12)
    # the default row is the one-protocol model without per-call latency
    row = ct.tier_row(4e11, 1e-6, 8)
    assert row[coll.TierCol.BASE] == 0.0 and row[coll.TierCol.LL_EFF] == 0.0 and row[coll.TierCol.LL128_EFF] == 0.0
    assert row[coll.TierCol.INNET_LAT] == row[coll.TierCol.P2P_LAT] == 1e-6
    with pytest.raises(ValueError):
        ct.tier_row(4e11, 1e-6, 8, ll_latency_s=-1e-6)


def test_in_network_reduction_latency_has_a_call_and_a_per_rank_part():
    t = ct.tier_row(1e11, 1e-6, 8, innet_efficiency=1.0, innet_base_latency_s=5e-6,
                      innet_latency_s=2e-6)
    # 5 + 2 * 7 * 2 us + 1e9 / 1e11; on 4 ranks 5 + 2 * 3 * 2 us
    assert coll.innet_all_reduce_s(1e9, 8.0, t) == pytest.approx(3.3e-5 + 0.01, rel=1e-12)
    assert coll.innet_all_reduce_s(1e9, 4.0, t) == pytest.approx(1.7e-5 + 0.01, rel=1e-12)
    assert coll.innet_all_reduce_s(1e9, 2.0, t) == np.inf
    assert ct.fastest_all_reduce(1e9, 8.0, t)[:2] == ("innet", "simple")


def test_send_recv_has_its_own_latency():
    tiers = ct.tier_row(1e11, 1e-6, 8, p2p_efficiency=0.5, p2p_latency_s=7e-6)[None, :]
    assert coll.send_recv_time(5e9, g(2), tiers) == pytest.approx(7e-6 + 0.1, rel=1e-12)


# ----------------------------------------------------------------- several tiers, by hand


def test_hierarchical_all_reduce_is_the_sum_of_its_phases():
    tiers = two_tiers()
    # RS inside the node: 7/8 * 1e9 / 4e11 = 2.1875 ms + 7 * 1 us = 2.1945 ms; AG the same.
    # AR of 1e9 / 8 = 1.25e8 B across 4 nodes, ring: 2*3/4 * 1.25e8 / 5e10 = 3.75 ms + 6 * 5 us
    # = 3.78 ms (tree: 5 ms + 4 * 5 us). Total 2 * 2.1945 + 3.78 = 8.169 ms.
    assert coll.all_reduce_time(1e9, g(8, 4), tiers) == pytest.approx(8.169e-3, rel=1e-12)
    # one GPU per node: only the network phase, on the whole buffer: 2*3/4 * 1e9/5e10 + 30 us
    assert coll.all_reduce_time(1e9, g(1, 4), tiers) == pytest.approx(0.03003, rel=1e-12)


def test_hierarchical_all_gather_gathers_outside_first():
    tiers = two_tiers(lat0=0.0, lat1=0.0)
    # across 4 nodes: output 1e9 / 8, 3/4 of it over 50 GB/s = 1.875 ms;
    # inside the node: output 1e9, 7/8 of it over 400 GB/s = 2.1875 ms
    assert coll.all_gather_time(1e9, g(8, 4), tiers) == pytest.approx(4.0625e-3, rel=1e-12)
    assert coll.reduce_scatter_time(1e9, g(8, 4), tiers) == pytest.approx(4.0625e-3, rel=1e-12)


def test_all_to_all_is_set_by_the_slowest_tier_crossed():
    tiers = two_tiers(lat0=0.0, lat1=0.0)
    # 32 ranks, 3.2 GB each: 7 peers in the node get 0.7 GB over 400 GB/s (1.75 ms),
    # 24 peers elsewhere get 2.4 GB over 50 GB/s (48 ms)
    assert coll.all_to_all_time(3.2e9, g(8, 4), tiers) == pytest.approx(0.048, rel=1e-12)
    # inside one node only: 7/8 * 3.2e9 / 4e11 = 7 ms
    assert coll.all_to_all_time(3.2e9, g(8, 1), tiers) == pytest.approx(0.007, rel=1e-12)


def test_group_floor_is_the_largest_of_the_tiers_crossed():
    tiers = np.vstack([ct.tier_row(4e11, 1e-6, 8, call_floor_s=4e-5),
                       ct.tier_row(5e10, 5e-6, np.inf)])
    assert coll.all_reduce_time(1e3, g(2, 4), tiers) == 4e-5
    # the network tier alone has no floor: the tree's 2*log2(4) = 4 steps of 5 us + 2e3 / 5e10
    # (the ring would take 6 steps)
    assert coll.all_reduce_time(1e3, g(1, 4), tiers) == pytest.approx(2e-5 + 4e-8, rel=1e-12)


def test_send_recv_across_nodes_uses_the_network_tier():
    tiers = two_tiers()
    assert coll.send_recv_time(5e9, g(1, 2), tiers) == pytest.approx(5e-6 + 0.1, rel=1e-12)
    assert coll.send_recv_time(4e9, g(2, 1), tiers) == pytest.approx(1e-6 + 0.01, rel=1e-12)


def test_one_rank_costs_nothing():
    tiers = two_tiers(call_floor_s=1e-5)
    for kind in coll.KINDS:
        assert ct.times(kind, [1e6], [1, 1], tiers)[0] == 0.0


# ----------------------------------------------------------------- structure


@pytest.fixture(scope="module")
def dgx_tiers():
    return ct.make_tiers(H100_NVLINK_BYTES_PER_S, None, 8, NDR_NIC_BYTES_PER_S, None)


@pytest.mark.parametrize("kind", sorted(coll.KINDS))
@pytest.mark.parametrize("group", [(2, 1), (8, 1), (8, 4), (4, 16), (1, 8)])
def test_time_never_falls_as_the_buffer_grows(dgx_tiers, kind, group):
    if kind == "send_recv" and np.prod(group) != 2:
        group = (2, 1) if group[0] > 1 else (1, 2)
    sizes = np.logspace(0, 11, 400)
    t = ct.times(kind, sizes, group, dgx_tiers)
    assert np.all(t > 0)
    assert np.all(np.diff(t) >= 0)


def test_vectorised_entry_matches_scalar_kernels(dgx_tiers):
    sizes = np.logspace(3, 10, 50)
    group = g(8, 4)
    scalar = {"all_reduce": coll.all_reduce_time, "all_gather": coll.all_gather_time,
              "reduce_scatter": coll.reduce_scatter_time, "all_to_all": coll.all_to_all_time}
    for kind, fn in scalar.items():
        expect = np.array([fn(s, group, dgx_tiers) for s in sizes])
        np.testing.assert_array_equal(ct.times(kind, sizes, group, dgx_tiers), expect)
    groups = np.array([[8.0, 1.0], [8.0, 4.0]] * 25)
    per_row = coll.collective_times_groups(coll.Collective.ALL_REDUCE, sizes, groups, dgx_tiers)
    expect = [coll.all_reduce_time(s, r, dgx_tiers) for s, r in zip(sizes, groups, strict=True)]
    np.testing.assert_array_equal(per_row, expect)


def test_make_tiers_applies_profiles_oversubscription_and_overrides():
    tiers = ct.make_tiers(450e9, None, 8, 50e9, None, oversubscription=2.0)
    up, out = ct.profile("nvlink-h100-measured"), ct.profile("infiniband-default")
    assert tiers.shape == (2, coll.TIER_COLS)
    assert tiers[1, coll.TierCol.BW] == 25e9
    assert tiers[0, coll.TierCol.EFF] == up["efficiency"] and tiers[1, coll.TierCol.EFF] == out["efficiency"]
    assert tiers[0, coll.TierCol.LAT] == up["latency_s"] and tiers[1, coll.TierCol.LAT] == out["latency_s"]
    assert tiers[0, coll.TierCol.BASE] == up["base_latency_s"]
    assert tiers[0, coll.TierCol.LL128_EFF] == up["ll128_efficiency"] > 0.0
    assert tiers[0, coll.TierCol.LL_LAT] == up["ll_latency_s"] > 0.0
    assert tiers[0, coll.TierCol.INNET_LAT] == up["innet_latency_s"]
    assert tiers[0, coll.TierCol.P2P_LAT] == up["p2p_latency_s"]
    # the network profile is Simple only; its send/recv and in-network latency are its latency
    assert tiers[1, coll.TierCol.LL128_EFF] == tiers[1, coll.TierCol.LL_EFF] == 0.0
    assert tiers[1, coll.TierCol.P2P_LAT] == tiers[1, coll.TierCol.INNET_LAT] == out["latency_s"]
    assert tiers[0, coll.TierCol.RANKS] == 8 and np.isinf(tiers[1, coll.TierCol.RANKS])
    tiers = ct.make_tiers(450e9, 3e-6, 8, 50e9, 7e-6)
    assert tiers[0, coll.TierCol.LAT] == 3e-6 and tiers[1, coll.TierCol.LAT] == 7e-6
    assert tiers[0, coll.TierCol.P2P_LAT] == up["p2p_latency_s"] and tiers[1, coll.TierCol.P2P_LAT] == 7e-6
    with pytest.raises(ValueError):
        ct.make_tiers(450e9, None, 8, 50e9, None, oversubscription=0.5)


def test_profiles_are_physical_and_cite_their_source():
    for name in ("nvlink-h100-measured", "infiniband-default"):
        p = ct.profile(name)
        assert len(p["source"]) > 40
        assert 0.3 < p["efficiency"] <= 1.0 and 0.3 < p["p2p_efficiency"] <= 1.0
        assert 0.0 <= p["innet_efficiency"] <= 1.0
        assert 1e-7 < p["latency_s"] < 2e-5
        assert p["call_floor_s"] < 1e-4 and p["base_latency_s"] < 1e-4
    up = ct.profile("nvlink-h100-measured")
    assert "calibrate_collectives.py" in up["source"] and "tuning.cc" in up["source"]
    # NCCL's protocols: LL and LL128 give up bandwidth (8 of 16, 120 of 128 bytes are data)
    # for shorter steps
    assert up["ll_efficiency"] < up["ll128_efficiency"] < up["efficiency"]
    assert up["ll_latency_s"] < up["ll128_latency_s"] < up["latency_s"]
    assert up["ll_base_latency_s"] < up["base_latency_s"] < up["ll128_base_latency_s"]
    assert 0.3 < up["innet_efficiency"] < up["efficiency"]
    up, out = ct.tier_calibration("h100-sxm")
    assert up["name"] == "nvlink-h100-measured" and out["name"] == "infiniband-default"
    with pytest.raises(Exception, match="unknown collectives profile"):
        ct.profile("no-such-profile")


def test_group_sizes_follow_the_rank_order(dgx_tiers):
    assert ct.group_sizes(32, dgx_tiers).tolist() == [8, 4]
    assert ct.group_sizes(4, dgx_tiers, stride=8).tolist() == [1, 4]
    assert ct.group_sizes(16, dgx_tiers, stride=4).tolist() == [2, 8]
    assert ct.group_sizes(4, dgx_tiers, stride=2).tolist() == [4, 1]
    assert ct.group_sizes(12, dgx_tiers).tolist() == [6, 2]
    with pytest.raises(ValueError):
        ct.check_group([16, 1], dgx_tiers)
    with pytest.raises(ValueError):
        ct.check_group([8], dgx_tiers)
    with pytest.raises(ValueError):
        ct.times("broadcast", 1e6, [8, 1], dgx_tiers)


# ----------------------------------------------------------------- against the measurements


def read_rows(name: str, collective: str) -> list[tuple[float, int, int, float]]:
    """(bytes, ranks, devices per node, median seconds) for every row of a reference CSV."""
    with open(REFERENCE / name, newline="", encoding="utf-8") as fh:
        return [(float(r["size"]), int(r["num_workers"]), int(r["devices_per_node"]),
                 float(r[f"time_stats.{collective}.median"]) * 1e-3) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def accuracy():
    """benchmarks/accuracy_collectives.py: every row from 1 MB up and the size-band table."""
    from benchmarks.accuracy_collectives import bands, rows
    table = rows()
    return table, {(b["collective"], b["ranks"], b["nodes"], b["band"]): b for b in bands(table)}


def test_fitted_model_tracks_the_measured_all_reduce(dgx_tiers):
    rows = [r for r in read_rows("h100_dgx_nccl_all_reduce.csv", "all_reduce") if r[0] >= 1e6]
    assert {r[1] for r in rows} == {2, 4, 8}
    for n in (2, 4, 8):
        mine = [r for r in rows if r[1] == n]
        sizes = np.array([r[0] for r in mine])
        measured = np.array([r[3] for r in mine])
        err = np.abs(ct.times("all_reduce", sizes, [n, 1], dgx_tiers) / measured - 1.0)
        # from 8 MB up every row is within 15% (2 and 4 GPUs: within 8%)
        assert err[sizes >= 8e6].max() < (0.15 if n == 8 else 0.08), n
        assert err[sizes >= 8e6].mean() < 0.04, n


# (GPUs, least share of 1-8 MB rows within 15%, largest mean |error| there). 8 GPUs: every row
# but one. 4 GPUs: the misses are the 32-us rows at 1.0-1.5 MiB (under the 37-us call floor
# the 2-GPU rows need) and a 54-us step at 4.1-4.8 MiB that drops back to 44 us at 4.9 MiB.
# 2 GPUs: the measurements flip between ~25 and ~45 us from one size or run to the next.
ALL_REDUCE_1_8MB = ((2, 0.70, 0.15), (4, 0.80, 0.10), (8, 0.97, 0.07))


@pytest.mark.parametrize(("n", "least_within", "most_mean"), ALL_REDUCE_1_8MB)
def test_all_reduce_from_1_to_8_mb_by_band(accuracy, n, least_within, most_mean):
    _, band = accuracy
    b = band[("all_reduce", n, 1, "1-8 MB")]
    assert b["rows"] == 219
    assert b["within_target"] / b["rows"] >= least_within, b
    assert b["mean_abs_error"] < most_mean, b
    large = band[("all_reduce", n, 1, ">=8 MB")]
    assert large["within_target"] == large["rows"] == 653


def test_two_gpu_misses_are_where_the_measurements_jitter(accuracy):
    """The 2-GPU rows from 1 to 8 MB jitter; the 4- and 8-GPU ones do not. Of the 2-GPU rows
    the model misses by more than 15%, most are rows that jump > 30% from their neighbours or
    whose 3 runs spread > 30%; the rest sit in one of the two modes, at 44-47 us (above the
    37-us floor's 15% reach) or at 32 us (the kernel's own time, below it)."""
    from benchmarks.accuracy_collectives import neighbour_jitter
    table, band = accuracy
    assert band[("all_reduce", 2, 1, "1-8 MB")]["jittery"] > 0.08
    assert band[("all_reduce", 2, 1, "1-8 MB")]["spread"] > 0.20
    for n in (4, 8):
        assert band[("all_reduce", n, 1, "1-8 MB")]["jittery"] < 0.02
        assert band[("all_reduce", n, 1, "1-8 MB")]["spread"] < 0.02
    mine = sorted((r for r in table if r["collective"] == "all_reduce" and r["ranks"] == 2),
                  key=lambda r: r["nbytes"])
    jitter = neighbour_jitter(np.array([r["measured_s"] for r in mine]))
    missed = [(abs(r["error"]) > 0.15, j > 0.3 or r["run_spread"] > 0.3, r["measured_s"])
              for r, j in zip(mine, jitter, strict=True) if r["nbytes"] < 8e6]
    noisy = [m for m in missed if m[0] and m[1]]
    quiet = [m for m in missed if m[0] and not m[1]]
    assert len(noisy) >= 0.6 * (len(noisy) + len(quiet))
    assert all(m[2] >= 44e-6 or m[2] <= 33e-6 for m in quiet)


def test_send_recv_band_accuracy_holds(accuracy):
    _, band = accuracy
    for nodes, most_mean, most_max in ((1, 0.05, 0.18), (2, 0.07, 0.20)):
        b = band[("send_recv", 2, nodes, "1-8 MB")]
        assert b["mean_abs_error"] < most_mean and b["max_abs_error"] < most_max, b
        large = band[("send_recv", 2, nodes, ">=8 MB")]
        assert large["within_target"] == large["rows"] and large["max_abs_error"] < 0.13


def test_fitted_model_tracks_the_measured_intra_node_send_recv(dgx_tiers):
    rows = [r for r in read_rows("h100_dgx_nccl_send_recv.csv", "send_recv")
            if r[0] >= 1e6 and r[2] == 2]
    sizes = np.array([r[0] for r in rows])
    measured = np.array([r[3] for r in rows])
    err = np.abs(ct.times("send_recv", sizes, [2, 1], dgx_tiers) / measured - 1.0)
    assert err.mean() < 0.04 and err[sizes >= 2e6].max() < 0.12


def test_catalog_holds_what_the_calibration_script_fits():
    spec = importlib.util.spec_from_file_location(
        "calibrate_collectives", ROOT / "benchmarks" / "calibrate_collectives.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fitted = script.fit()
    stored = ct.profile("nvlink-h100-measured")
    keys = (*script.PARAMS, *script.P2P_PARAMS, *script.derived(fitted))
    assert len(keys) == 15
    for key in keys:
        assert stored[key] == pytest.approx(fitted[key], rel=2e-3, abs=1e-9), key
    assert stored["half_bytes"] == 0.0


def test_in_switch_reduction_only_where_the_switches_have_it():
    from simulator.costmodel.comm import CommModel
    from simulator.domain.catalog import shipped_catalog

    cat = shipped_catalog()
    comms = {}
    for node in ("dgx-a100", "dgx-h100"):
        spec = cat.nodes.get(node)
        comms[node] = CommModel.for_node(spec, cat.accelerators.get(spec.accelerator))
    size = 1 << 30
    a100 = comms["dgx-a100"].all_reduce(8, 1, size)
    # A100 NVSwitch 2 has no NVLS: a ring, 2 (n - 1) / n of the buffer over 0.6554 of 300 GB/s.
    assert a100 == pytest.approx(2 * 7 / 8 * size / (0.6554 * 300e9), rel=0.03)
    # The H100 has 1.5x the link bandwidth and NVLS on top.
    assert a100 / comms["dgx-h100"].all_reduce(8, 1, size) > 1.5
