"""The tiers of a topology as the collective kernels read them (costmodel/collectives.py): rows
built from link bandwidth, latency and rank count, or from the catalog's calibration profiles
(simulator/domain/catalog/collectives.yaml, fitted to NCCL measurements on an H100 DGX by
benchmarks/calibrate_collectives.py or taken from public numbers)."""

from __future__ import annotations

import math

import numpy as np

from simulator.costmodel.collectives import (
    KINDS,
    N_PROTOS,
    PROTO_NAMES,
    TIER_COLS,
    TierCol,
    collective_times,
    innet_all_reduce_s,
    ring_all_reduce_s,
    tree_all_reduce_s,
)
from simulator.domain.catalog import shipped_catalog
from simulator.domain.specs import CollectiveProfileSpec

DEFAULT_SCALEUP_PROFILE = "nvlink-h100-measured"
DEFAULT_SCALEOUT_PROFILE = "infiniband-default"


def profile_si(spec: CollectiveProfileSpec) -> dict:
    """One catalog profile as the SI dict ``tier_from_params`` reads (units were parsed by the
    catalog loader). Optional fields default to "off" (LL128, LL, in-network reduction:
    efficiency 0) or to the Simple protocol's values (in-network and point-to-point latency:
    ``latency``; send/recv efficiency: ``efficiency``), so a profile that gives only
    ``efficiency`` and ``latency`` prices every collective with the Simple protocol.
    """
    return {
        "name": spec.name,
        "kind": spec.kind,
        "source": spec.source,
        "efficiency": spec.efficiency,
        "latency_s": spec.latency,
        "base_latency_s": spec.base_latency,
        "ll128_efficiency": spec.ll128_efficiency,
        "ll128_base_latency_s": spec.ll128_base_latency,
        "ll128_latency_s": spec.ll128_latency,
        "ll_efficiency": spec.ll_efficiency,
        "ll_base_latency_s": spec.ll_base_latency,
        "ll_latency_s": spec.ll_latency,
        "half_bytes": spec.half_size,
        "innet_efficiency": spec.innet_efficiency,
        "innet_base_latency_s": spec.innet_base_latency,
        "innet_latency_s": spec.innet_latency,
        "p2p_efficiency": spec.efficiency if spec.p2p_efficiency is None else spec.p2p_efficiency,
        "p2p_latency_s": spec.p2p_latency,
        "call_floor_s": spec.call_floor,
    }


def profile(name: str) -> dict:
    """A calibration profile from simulator/domain/catalog/collectives.yaml, in SI units
    (CatalogError naming the known profiles for an unknown one)."""
    return profile_si(shipped_catalog().collectives.get(name, "collectives"))


def tier_calibration(accelerator: str) -> tuple[dict, dict]:
    """(scale-up, scale-out) profiles for an accelerator.

    Only the H100 NVLink tier is measured; other accelerators reuse its efficiencies on their
    own link bandwidth (their NCCL/RCCL stacks are assumed to reach similar fractions).
    """
    del accelerator  # one measured scale-up profile so far
    return profile(DEFAULT_SCALEUP_PROFILE), profile(DEFAULT_SCALEOUT_PROFILE)


def tier_row(bw_bytes_per_s: float, latency_s: float, ranks: float, *, efficiency: float = 1.0,
             base_latency_s: float = 0.0, half_bytes: float = 0.0,
             ll128_efficiency: float = 0.0, ll128_base_latency_s: float = 0.0,
             ll128_latency_s: float = 0.0, ll_efficiency: float = 0.0,
             ll_base_latency_s: float = 0.0, ll_latency_s: float = 0.0,
             innet_efficiency: float = 0.0, innet_base_latency_s: float = 0.0,
             innet_latency_s: float | None = None, p2p_efficiency: float | None = None,
             p2p_latency_s: float | None = None, call_floor_s: float = 0.0) -> np.ndarray:
    """One tier as a TIER_COLS float64 row (ideal links by default: Simple protocol only, no
    per-call latency, no ramp, no floor).

    ``latency_s`` and ``efficiency`` are the Simple protocol's per-step latency and bus-bandwidth
    fraction; the in-network and point-to-point latencies default to ``latency_s`` and the
    send/recv efficiency to ``efficiency``. LL128 and LL are off unless given an efficiency.
    """
    row = np.zeros(TIER_COLS)
    row[TierCol.BW] = bw_bytes_per_s
    row[TierCol.RANKS] = ranks
    row[TierCol.HALF] = half_bytes
    row[TierCol.FLOOR] = call_floor_s
    row[TierCol.EFF], row[TierCol.BASE], row[TierCol.LAT] = efficiency, base_latency_s, latency_s
    row[TierCol.LL128_EFF], row[TierCol.LL128_BASE], row[TierCol.LL128_LAT] = (
        ll128_efficiency, ll128_base_latency_s, ll128_latency_s)
    row[TierCol.LL_EFF], row[TierCol.LL_BASE], row[TierCol.LL_LAT] = ll_efficiency, ll_base_latency_s, ll_latency_s
    row[TierCol.INNET_EFF] = innet_efficiency
    row[TierCol.INNET_BASE] = innet_base_latency_s
    row[TierCol.INNET_LAT] = latency_s if innet_latency_s is None else innet_latency_s
    row[TierCol.P2P_EFF] = efficiency if p2p_efficiency is None else p2p_efficiency
    row[TierCol.P2P_LAT] = latency_s if p2p_latency_s is None else p2p_latency_s
    if bw_bytes_per_s <= 0.0 or ranks < 1.0 or efficiency <= 0.0 or row[TierCol.P2P_EFF] <= 0.0:
        raise ValueError("a tier needs bw > 0, ranks >= 1 and efficiencies > 0")
    if min(row[TierCol.BASE:TierCol.P2P_LAT + 1].min(), half_bytes, call_floor_s) < 0.0:
        raise ValueError("latencies, efficiencies, half size and call floor must be >= 0")
    return row


def profile_tier(name: str, bw_bytes_per_s: float, ranks: float,
                 latency_s: float | None = None) -> np.ndarray:
    """A tier row with the protocols, efficiencies, latencies, ramp and floor of profile ``name``.

    ``latency_s`` overrides the profile's per-step latency (None keeps the profile's); the
    in-network and point-to-point latencies follow it unless the profile sets them.
    """
    p = profile(name)
    return tier_from_params(p, bw_bytes_per_s, ranks, p["latency_s"] if latency_s is None else latency_s)


def tier_from_params(p: dict, bw_bytes_per_s: float, ranks: float, latency_s: float) -> np.ndarray:
    """A tier row from a profile's SI parameters (``_profile_si`` keys; the ramp, p2p and
    protocol fields may be absent: off or defaulted as in ``tier_row``)."""
    return tier_row(bw_bytes_per_s, latency_s, ranks,
                    efficiency=p["efficiency"], base_latency_s=p.get("base_latency_s", 0.0),
                    half_bytes=p.get("half_bytes", 0.0),
                    ll128_efficiency=p.get("ll128_efficiency", 0.0),
                    ll128_base_latency_s=p.get("ll128_base_latency_s", 0.0),
                    ll128_latency_s=p.get("ll128_latency_s", 0.0),
                    ll_efficiency=p.get("ll_efficiency", 0.0), ll_base_latency_s=p.get("ll_base_latency_s", 0.0),
                    ll_latency_s=p.get("ll_latency_s", 0.0),
                    innet_efficiency=p.get("innet_efficiency", 0.0),
                    innet_base_latency_s=p.get("innet_base_latency_s", 0.0),
                    innet_latency_s=p.get("innet_latency_s"), p2p_efficiency=p.get("p2p_efficiency"),
                    p2p_latency_s=p.get("p2p_latency_s"), call_floor_s=p.get("call_floor_s", 0.0))


def make_tiers(scaleup_bw_bytes_per_s: float, scaleup_latency_s: float | None, scaleup_ranks: int,
               nic_bw_bytes_per_s: float, network_latency_s: float | None, *,
               oversubscription: float = 1.0, scaleout_ranks: float = math.inf,
               scaleup_profile: str = DEFAULT_SCALEUP_PROFILE,
               scaleout_profile: str = DEFAULT_SCALEOUT_PROFILE) -> np.ndarray:
    """Two-tier topology: a scale-up domain of ``scaleup_ranks`` GPUs, then the network.

    Tier 1 is rail-optimised: each GPU has its own NIC of ``nic_bw_bytes_per_s`` (per direction)
    and an oversubscribed fabric divides it by ``oversubscription``. Latencies of None take the
    profiles' per-step latencies. ``scaleout_ranks`` bounds the number of domains (inf: any).
    """
    if oversubscription < 1.0:
        raise ValueError(f"oversubscription must be >= 1, got {oversubscription}")
    up = profile_tier(scaleup_profile, scaleup_bw_bytes_per_s, scaleup_ranks, scaleup_latency_s)
    out = profile_tier(scaleout_profile, nic_bw_bytes_per_s / oversubscription, scaleout_ranks,
                       network_latency_s)
    return np.vstack([up, out])


def times(kind: str, nbytes, group, tiers: np.ndarray) -> np.ndarray:
    """Seconds for ``kind`` ("all_reduce", ...) over ``group`` for each size in ``nbytes``."""
    if kind not in KINDS:
        raise ValueError(f"unknown collective {kind!r}; one of {sorted(KINDS)}")
    sizes = np.atleast_1d(np.asarray(nbytes, dtype=np.float64))
    g = check_group(group, tiers)
    return collective_times(KINDS[kind], sizes, g, np.ascontiguousarray(tiers, dtype=np.float64))


def fastest_all_reduce(nbytes: float, n: float, tier: np.ndarray) -> tuple[str, str, float]:
    """(algorithm, protocol, seconds) of the pair flat_all_reduce_s picks on one tier row.

    Algorithm "ring", "tree" or "innet" (protocol "simple"); before the call floor. For reports
    and tests; the kernels only need the time.
    """
    best = ("innet", "simple", float(innet_all_reduce_s(nbytes, n, tier)))
    for proto in range(N_PROTOS):
        for name, fn in (("ring", ring_all_reduce_s), ("tree", tree_all_reduce_s)):
            t = float(fn(nbytes, n, tier, proto))
            if t < best[2]:
                best = (name, PROTO_NAMES[proto], t)
    return best


def bus_bandwidth(kind: str, nbytes: float, n_ranks: int, seconds: float) -> float:
    """nccl-tests bus bandwidth (bytes/s) of a collective that took ``seconds`` (PERFORMANCE.md)."""
    factor = {"all_reduce": 2.0 * (n_ranks - 1) / n_ranks, "all_gather": (n_ranks - 1) / n_ranks,
              "reduce_scatter": (n_ranks - 1) / n_ranks, "all_to_all": (n_ranks - 1) / n_ranks,
              "send_recv": 1.0}[kind]
    return factor * nbytes / seconds


def check_group(group, tiers: np.ndarray) -> np.ndarray:
    """``group`` as a float64 array, checked against the topology (one entry per tier, >= 1)."""
    g = np.asarray(group, dtype=np.float64).reshape(-1)
    if g.shape[0] != tiers.shape[0]:
        raise ValueError(f"group has {g.shape[0]} tiers, topology has {tiers.shape[0]}")
    if np.any(g < 1.0) or np.any(g != np.round(g)):
        raise ValueError(f"group sizes must be whole numbers >= 1, got {g.tolist()}")
    if np.any(g > tiers[:, TierCol.RANKS]):
        raise ValueError(f"group {g.tolist()} exceeds the tier sizes {tiers[:, TierCol.RANKS].tolist()}")
    return g


def group_sizes(n_ranks: int, tiers: np.ndarray, stride: int = 1) -> np.ndarray:
    """Ranks per tier of a group of ``n_ranks`` ranks placed ``stride`` ranks apart.

    Ranks are numbered innermost tier first (Megatron's tp, dp, pp order), so a tier-i domain
    holding C_i consecutive ranks holds ``C_i / stride`` members of the group (at least one);
    ``[8, 4]`` for 32 ranks of stride 1 on 8-GPU nodes, ``[1, 4]`` for 4 ranks of stride 8.
    """
    if n_ranks < 1 or stride < 1:
        raise ValueError("n_ranks and stride must be >= 1")
    n_tiers = tiers.shape[0]
    g = np.ones(n_tiers)
    capacity = 1.0
    placed = 1
    for i in range(n_tiers):
        capacity *= tiers[i, TierCol.RANKS]
        members = n_ranks
        if i < n_tiers - 1 and capacity // stride < n_ranks:
            members = max(int(capacity // stride), placed)
            while n_ranks % members or members % placed:  # equal shares per domain
                members -= 1
        g[i] = members // placed
        placed = members
    return check_group(g, tiers)
