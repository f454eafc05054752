"""Collective communication on a hierarchical topology: all-reduce, all-gather, reduce-scatter,
all-to-all and send/recv, priced like NCCL prices them.

A topology is a float64 array of tiers, shape (n_tiers, TIER_COLS), innermost first (tier 0 =
the NVLink/NVSwitch or ICI scale-up domain, tier 1 = the scale-out network). A group of ranks is
described by ``group``, a float64 array of the same length: ``group[i]`` ranks at tier i (8 GPUs
x 4 nodes = ``[8, 4]``; a pair of GPUs in two nodes = ``[1, 2]``). ``nbytes`` is S, the buffer
each rank holds, as in nccl-tests: the all-reduce buffer, the all-gather *output*, the
reduce-scatter *input*, the all-to-all send buffer, the point-to-point message.

One tier, n ranks, per-rank per-direction bandwidth B, per-step latency a (Thakur, Rabenseifner
and Gropp, 2005; NCCL's tuning model, src/graph/tuning.cc; bus bandwidth as in nccl-tests
doc/PERFORMANCE.md):
- achieved bandwidth for an S-byte buffer ramps up as ``eff * B * S / (S + S_half)`` (Hockney's
  r_inf / n_1/2 model, 1991): pipelining, protocol and channel start-up cost a fixed S_half bytes;
- ring all-reduce: ``2(n-1)/n * S / busbw + 2(n-1) a``; double binary tree: ``2 S / busbw +
  2 ceil(log2 n) a`` (NCCL: tree algorithm bandwidth = busbw / 2); in-network reduction (NVLink
  SHARP "NVLS" on NVSwitch, SHARP on InfiniBand) sends S up and receives S down whatever n is:
  ``S / (eff_innet * B * ramp) + 2(n-1) a``, used for n >= 3 only (NCCL disables NVLS on two
  GPUs, src/transport/nvls.cc). Its latency grows with n like the ring's because the measured
  8-GPU times sit a near-constant 20-30 us above the 4-GPU ones at every size (NCCL's own
  model charges NVLS one step whatever n). Like NCCL, the fastest available algorithm is taken;
- all-gather and reduce-scatter (ring): ``(n-1)/n * S / busbw + (n-1) a``;
- all-to-all: each rank sends S/n to every peer, ``(n-1)/n * S / (eff_p2p * B * ramp) + (n-1) a``;
- send/recv: ``a + S / (eff_p2p * B * ramp)``.

Across tiers the collectives run hierarchically (NCCL's and Megatron's two-level scheme):
all-reduce = reduce-scatter inside each inner domain, all-reduce of the 1/g shard one tier out,
all-gather back inside (recursively outward); all-gather gathers the outer tier first (fewest
bytes on the slow links), reduce-scatter the inner tier first; the phases add up. All-to-all
traffic to peers in other domains crosses the outer tier while local traffic stays inside;
both run at once, so the slowest tier crossed sets the time.

A synchronising collective (every rank waits for every other) never takes less than the tier's
``call_floor_s``: NCCL all-reduce kernels issued eagerly back to back measure ~35-40 us on the
H100 profile however small the buffer, which we read as each kernel waiting for the slowest
rank to launch (benchmarks/calibrate_collectives.py). The floor of a group is the largest of
the tiers it crosses; set it to 0 for calls captured in a CUDA graph. Send/recv has none: the
sender's kernel does not wait for the receiver (measured 5-10 us for small messages).

Tier parameters come from simulator/scenario/catalog/collectives.yaml: profiles fitted to NCCL
measurements on an H100 DGX (benchmarks/calibrate_collectives.py) or taken from public numbers.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from numba import njit

from simulator.errors import CatalogError
from simulator.scenario.units import parse_quantity

# Tier columns.
T_BW = 0          # per-rank per-direction link bandwidth, bytes/s (after oversubscription)
T_LAT = 1         # latency of one algorithm step, s
T_RANKS = 2       # ranks (tier i-1 groups) one tier-i group can hold; inf = unbounded
T_EFF = 3         # achieved fraction of T_BW for large ring/tree collectives (bus bandwidth)
T_HALF = 4        # buffer size at which half of eff * T_BW is reached, bytes
T_INNET_EFF = 5   # achieved fraction of T_BW for in-network-reduction all-reduce; 0 = none
T_P2P_EFF = 6     # achieved fraction of T_BW for send/recv and all-to-all
T_FLOOR = 7       # least time of one synchronising collective call, s
TIER_COLS = 8

# Collective kinds for the vectorised entry point.
ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL, SEND_RECV = 0, 1, 2, 3, 4
KINDS = {"all_reduce": ALL_REDUCE, "all_gather": ALL_GATHER, "reduce_scatter": REDUCE_SCATTER,
         "all_to_all": ALL_TO_ALL, "send_recv": SEND_RECV}

# NCCL turns NVLink SHARP off for communicators of two GPUs or fewer (src/transport/nvls.cc).
INNET_MIN_RANKS = 3.0

CATALOG_PATH = Path(__file__).resolve().parent.parent / "scenario" / "catalog" / "collectives.yaml"
DEFAULT_SCALEUP_PROFILE = "nvlink-h100-measured"
DEFAULT_SCALEOUT_PROFILE = "infiniband-default"


# --------------------------------------------------------------------------- one tier


@njit(cache=True)
def transfer_s(moved_fraction, nbytes, bw_bytes_per_s, efficiency, half_bytes):
    """Time to move ``moved_fraction * nbytes`` at ``efficiency * bw * S / (S + S_half)``.

    Written as ``moved_fraction * (S + S_half) / (efficiency * bw)`` so that S -> 0 is finite.
    """
    if moved_fraction <= 0.0 or nbytes <= 0.0:
        return 0.0
    return moved_fraction * (nbytes + half_bytes) / (efficiency * bw_bytes_per_s)


@njit(cache=True)
def ring_all_reduce_s(nbytes, n, tier):
    """Ring all-reduce: 2(n-1)/n of the buffer over the ring, 2(n-1) latency steps."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    wire_s = transfer_s(2.0 * (n - 1.0) / n, nbytes, tier[T_BW], tier[T_EFF], tier[T_HALF])
    return wire_s + 2.0 * (n - 1.0) * tier[T_LAT]


@njit(cache=True)
def tree_all_reduce_s(nbytes, n, tier):
    """Double binary tree all-reduce: reduce up, broadcast down; 2 S at busbw, 2 log2(n) steps."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    wire_s = transfer_s(2.0, nbytes, tier[T_BW], tier[T_EFF], tier[T_HALF])
    return wire_s + 2.0 * math.ceil(math.log2(n)) * tier[T_LAT]


@njit(cache=True)
def innet_all_reduce_s(nbytes, n, tier):
    """In-network reduction (NVLS / SHARP): S up, S down; inf where the tier cannot reduce."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    if tier[T_INNET_EFF] <= 0.0 or n < INNET_MIN_RANKS:
        return np.inf
    wire_s = transfer_s(1.0, nbytes, tier[T_BW], tier[T_INNET_EFF], tier[T_HALF])
    return wire_s + 2.0 * (n - 1.0) * tier[T_LAT]


@njit(cache=True)
def flat_all_reduce_s(nbytes, n, tier):
    """All-reduce inside one tier: the fastest of ring, tree and in-network reduction."""
    ring = ring_all_reduce_s(nbytes, n, tier)
    tree = tree_all_reduce_s(nbytes, n, tier)
    innet = innet_all_reduce_s(nbytes, n, tier)
    return min(ring, tree, innet)


@njit(cache=True)
def flat_all_gather_s(nbytes, n, tier):
    """Ring all-gather of an ``nbytes`` output (or reduce-scatter of an ``nbytes`` input)."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    wire_s = transfer_s((n - 1.0) / n, nbytes, tier[T_BW], tier[T_EFF], tier[T_HALF])
    return wire_s + (n - 1.0) * tier[T_LAT]


@njit(cache=True)
def p2p_s(nbytes, tier):
    """One point-to-point message: one latency plus the bytes at the send/recv efficiency."""
    if nbytes <= 0.0:
        return 0.0
    return tier[T_LAT] + transfer_s(1.0, nbytes, tier[T_BW], tier[T_P2P_EFF], tier[T_HALF])


# --------------------------------------------------------------------------- a group of tiers


@njit(cache=True)
def top_tier(group):
    """Index of the outermost tier the group spans (-1 when the group is one rank)."""
    top = -1
    for i in range(group.shape[0]):
        if group[i] > 1.0:
            top = i
    return top


@njit(cache=True)
def call_floor_s(group, tiers):
    """Least time of a synchronising call over the group: the largest floor of tiers crossed."""
    floor = 0.0
    for i in range(group.shape[0]):
        if group[i] > 1.0:
            floor = max(floor, tiers[i, T_FLOOR])
    return floor


@njit(cache=True)
def all_reduce_time(nbytes, group, tiers):
    """Hierarchical all-reduce of an ``nbytes`` buffer over ``group`` (ranks per tier), seconds.

    Tiers below the outermost one spanned contribute a reduce-scatter and an all-gather of the
    buffer as it stands at that level (S divided by the ranks of the tiers inside it); the
    outermost one all-reduces its shard with the fastest flat algorithm.
    """
    top = top_tier(group)
    if top < 0 or nbytes <= 0.0:
        return 0.0
    size = nbytes
    total = 0.0
    for i in range(top):
        g = group[i]
        if g > 1.0:
            total += 2.0 * flat_all_gather_s(size, g, tiers[i])
            size /= g
    total += flat_all_reduce_s(size, group[top], tiers[top])
    return max(total, call_floor_s(group, tiers))


@njit(cache=True)
def all_gather_time(nbytes, group, tiers):
    """Hierarchical all-gather of an ``nbytes`` output (each rank starts with S / ranks), seconds.

    Outer tiers first: the tier-i phase gathers S / (ranks of the tiers inside it) bytes, so the
    slow outer links carry the smallest buffers. Reduce-scatter is the same phases reversed.
    """
    top = top_tier(group)
    if top < 0 or nbytes <= 0.0:
        return 0.0
    size = nbytes
    total = 0.0
    for i in range(top + 1):
        g = group[i]
        if g > 1.0:
            total += flat_all_gather_s(size, g, tiers[i])
            size /= g
    return max(total, call_floor_s(group, tiers))


@njit(cache=True)
def reduce_scatter_time(nbytes, group, tiers):
    """Hierarchical reduce-scatter of an ``nbytes`` input: the all-gather phases in reverse."""
    return all_gather_time(nbytes, group, tiers)


@njit(cache=True)
def all_to_all_time(nbytes, group, tiers):
    """All-to-all of an ``nbytes`` send buffer (S / ranks to each peer), seconds.

    Of the n - 1 peers, those first reachable through tier i (inside the same tier-i group but
    another tier-(i-1) group) get their share over tier i's links; the tiers carry their shares
    at the same time, so the slowest one sets the time.
    """
    top = top_tier(group)
    if top < 0 or nbytes <= 0.0:
        return 0.0
    n = 1.0
    for i in range(top + 1):
        n *= group[i]
    inner = 1.0
    slowest = 0.0
    for i in range(top + 1):
        outer = inner * group[i]
        peers = outer - inner
        if peers > 0.0:
            tier = tiers[i]
            t = transfer_s(peers / n, nbytes, tier[T_BW], tier[T_P2P_EFF], tier[T_HALF])
            slowest = max(slowest, t + peers * tier[T_LAT])
        inner = outer
    return max(slowest, call_floor_s(group, tiers))


@njit(cache=True)
def send_recv_time(nbytes, group, tiers):
    """Send/recv of ``nbytes`` between the two ranks of ``group`` (outermost tier spanned)."""
    top = top_tier(group)
    if top < 0:
        return 0.0
    return p2p_s(nbytes, tiers[top])


@njit(cache=True)
def collective_time(kind, nbytes, group, tiers):
    """Dispatch on ``kind`` (ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL, SEND_RECV)."""
    if kind == ALL_REDUCE:
        return all_reduce_time(nbytes, group, tiers)
    if kind == ALL_GATHER:
        return all_gather_time(nbytes, group, tiers)
    if kind == REDUCE_SCATTER:
        return reduce_scatter_time(nbytes, group, tiers)
    if kind == ALL_TO_ALL:
        return all_to_all_time(nbytes, group, tiers)
    if kind == SEND_RECV:
        return send_recv_time(nbytes, group, tiers)
    return np.nan


@njit(cache=True)
def collective_times(kind, nbytes, group, tiers):
    """Vectorised entry: seconds for every buffer size in the float64 array ``nbytes``."""
    out = np.empty(nbytes.shape[0])
    for j in range(nbytes.shape[0]):
        out[j] = collective_time(kind, nbytes[j], group, tiers)
    return out


@njit(cache=True)
def collective_times_groups(kind, nbytes, groups, tiers):
    """Seconds for row j of ``groups`` (shape (m, n_tiers)) moving ``nbytes[j]``."""
    out = np.empty(nbytes.shape[0])
    for j in range(nbytes.shape[0]):
        out[j] = collective_time(kind, nbytes[j], groups[j], tiers)
    return out


# --------------------------------------------------------------------------- Python helpers


def times(kind: str, nbytes, group, tiers: np.ndarray) -> np.ndarray:
    """Seconds for ``kind`` ("all_reduce", ...) over ``group`` for each size in ``nbytes``."""
    if kind not in KINDS:
        raise ValueError(f"unknown collective {kind!r}; one of {sorted(KINDS)}")
    sizes = np.atleast_1d(np.asarray(nbytes, dtype=np.float64))
    g = check_group(group, tiers)
    return collective_times(KINDS[kind], sizes, g, np.ascontiguousarray(tiers, dtype=np.float64))


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
    if np.any(g > tiers[:, T_RANKS]):
        raise ValueError(f"group {g.tolist()} exceeds the tier sizes {tiers[:, T_RANKS].tolist()}")
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
        capacity *= tiers[i, T_RANKS]
        members = n_ranks
        if i < n_tiers - 1 and capacity // stride < n_ranks:
            members = max(int(capacity // stride), placed)
            while n_ranks % members or members % placed:  # equal shares per domain
                members -= 1
        g[i] = members // placed
        placed = members
    return check_group(g, tiers)


# --------------------------------------------------------------------------- calibration profiles


@cache
def _load_profiles(path: str = str(CATALOG_PATH)) -> dict[str, dict]:
    """Read the collectives catalog (yaml.safe_load) into SI dicts keyed by profile name."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, list):
        raise CatalogError(f"{path}: expected a list of profiles")
    out: dict[str, dict] = {}
    for k, entry in enumerate(doc):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not name or "source" not in entry:
            raise CatalogError(f"{path}: entry {k} needs a name and a source")
        try:
            out[name] = _profile_si(entry)
        except (KeyError, ValueError) as err:
            raise CatalogError(f"{path}: profile {name!r}: {err}") from None
    return out


def _profile_si(entry: dict) -> dict:
    """One YAML profile in SI units (human units such as "2.2us" or "1.9MB" parsed)."""
    eff = float(entry["efficiency"])
    prof = {
        "name": entry["name"],
        "kind": entry.get("kind", "scaleup"),
        "source": entry["source"],
        "efficiency": eff,
        "latency_s": parse_quantity(entry["latency"], "time"),
        "half_bytes": parse_quantity(entry.get("half_size", 0.0), "bytes"),
        "innet_efficiency": float(entry.get("innet_efficiency", 0.0)),
        "p2p_efficiency": float(entry.get("p2p_efficiency", eff)),
        "call_floor_s": parse_quantity(entry.get("call_floor", 0.0), "time"),
    }
    for key in ("efficiency", "innet_efficiency", "p2p_efficiency"):
        if not 0.0 <= prof[key] <= 1.0 or (key != "innet_efficiency" and prof[key] == 0.0):
            raise ValueError(f"{key} must lie in (0, 1], got {prof[key]}")
    return prof


def profile(name: str) -> dict:
    """A calibration profile from simulator/scenario/catalog/collectives.yaml, in SI units."""
    profiles = _load_profiles()
    if name not in profiles:
        raise CatalogError(f"unknown collectives profile {name!r}; known: {sorted(profiles)}")
    return dict(profiles[name])


def tier_calibration(accelerator: str) -> tuple[dict, dict]:
    """(scale-up, scale-out) profiles for an accelerator.

    Only the H100 NVLink tier is measured; other accelerators reuse its efficiencies on their
    own link bandwidth (their NCCL/RCCL stacks are assumed to reach similar fractions).
    """
    del accelerator  # one measured scale-up profile so far
    return profile(DEFAULT_SCALEUP_PROFILE), profile(DEFAULT_SCALEOUT_PROFILE)


def tier_row(bw_bytes_per_s: float, latency_s: float, ranks: float, *, efficiency: float = 1.0,
             half_bytes: float = 0.0, innet_efficiency: float = 0.0,
             p2p_efficiency: float | None = None, call_floor_s: float = 0.0) -> np.ndarray:
    """One tier as a TIER_COLS float64 row (ideal links by default: no ramp, no floor)."""
    row = np.zeros(TIER_COLS)
    row[T_BW] = bw_bytes_per_s
    row[T_LAT] = latency_s
    row[T_RANKS] = ranks
    row[T_EFF] = efficiency
    row[T_HALF] = half_bytes
    row[T_INNET_EFF] = innet_efficiency
    row[T_P2P_EFF] = efficiency if p2p_efficiency is None else p2p_efficiency
    row[T_FLOOR] = call_floor_s
    if bw_bytes_per_s <= 0.0 or latency_s < 0.0 or ranks < 1.0 or efficiency <= 0.0:
        raise ValueError("a tier needs bw > 0, latency >= 0, ranks >= 1 and efficiency > 0")
    return row


def profile_tier(name: str, bw_bytes_per_s: float, ranks: float,
                 latency_s: float | None = None) -> np.ndarray:
    """A tier row with the efficiencies, ramp and floor of profile ``name``.

    ``latency_s`` overrides the profile's per-step latency (None keeps the profile's).
    """
    p = profile(name)
    return tier_row(bw_bytes_per_s, p["latency_s"] if latency_s is None else latency_s, ranks,
                    efficiency=p["efficiency"], half_bytes=p["half_bytes"],
                    innet_efficiency=p["innet_efficiency"], p2p_efficiency=p["p2p_efficiency"],
                    call_floor_s=p["call_floor_s"])


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
