"""Collective communication on a hierarchical topology: all-reduce, all-gather, reduce-scatter,
all-to-all and send/recv, priced like NCCL prices them.

A topology is a float64 array of tiers, shape (n_tiers, TIER_COLS), innermost first (tier 0 =
the NVLink/NVSwitch or ICI scale-up domain, tier 1 = the scale-out network). A group of ranks is
described by ``group``, a float64 array of the same length: ``group[i]`` ranks at tier i (8 GPUs
x 4 nodes = ``[8, 4]``; a pair of GPUs in two nodes = ``[1, 2]``). ``nbytes`` is S, the buffer
each rank holds, as in nccl-tests: the all-reduce buffer, the all-gather *output*, the
reduce-scatter *input*, the all-to-all send buffer, the point-to-point message.

One tier, n ranks, link bandwidth B per rank and direction. NCCL's tuner (src/graph/tuning.cc,
``ncclTopoTuneModel`` and ``ncclTopoGetAlgoTime``) prices every (algorithm, protocol) pair as
``latency + bytes / bandwidth`` and runs the pair it predicts fastest; so does this model. The
ring and tree costs are those of Thakur, Rabenseifner and Gropp (2005); bus bandwidth as in
nccl-tests doc/PERFORMANCE.md. For protocol p in {Simple, LL128, LL}, with per-call latency
``base_p``, per-step latency ``hop_p`` and achieved bus bandwidth ``eff_p * B``:
- ring all-reduce: ``base_p + 2(n-1) hop_p + 2(n-1)/n * S / (eff_p B)``;
- double binary tree all-reduce: ``base_p + 2 ceil(log2 n) hop_p + 2 S / (eff_p B)`` (NCCL:
  tree algorithm bandwidth = bus bandwidth / 2; inside a node NCCL's tree is a chain, the
  model keeps the binary tree of the inter-node case);
- in-network reduction (NVLink SHARP "NVLS" on NVSwitch, SHARP on InfiniBand; Simple protocol
  only, as in NCCL) sends S up and receives S down whatever n is:
  ``base_innet + 2(n-1) hop_innet + S / (eff_innet B)``, for n >= 3 only (NCCL disables NVLS on
  two GPUs, src/transport/nvls.cc). NCCL's own model charges NVLS one fixed latency; the
  measured 8-GPU times extrapolate to a ~20 us larger intercept than the 4-GPU ones, so the
  latency keeps a per-rank term;
- all-gather and reduce-scatter (ring): ``base_p + (n-1) hop_p + (n-1)/n * S / (eff_p B)``;
- all-to-all: each rank sends S/n to every peer, ``(n-1) hop + (n-1)/n * S / (eff_p2p B)``
  (hop of the Simple protocol);
- send/recv: ``lat_p2p + S / (eff_p2p B)``.
The all-reduce, all-gather and reduce-scatter of a tier take the minimum over the protocols the
tier enables (efficiency > 0) and, for all-reduce, over ring, tree and in-network reduction.
LL moves 8 bytes of data per 16-byte line and LL128 120 of 128, so they reach less bandwidth
than Simple but start faster; they win on small buffers. Every bandwidth term is ``(S +
S_half) / (eff B)`` rather than ``S / (eff B)`` when a tier sets a half-bandwidth size S_half
(Hockney's r_inf / n_1/2 ramp, 1991): a latency proportional to the bytes moved.

Across tiers the collectives run hierarchically (NCCL's and Megatron's two-level scheme):
all-reduce = reduce-scatter inside each inner domain, all-reduce of the 1/g shard one tier out,
all-gather back inside (recursively outward); all-gather gathers the outer tier first (fewest
bytes on the slow links), reduce-scatter the inner tier first; the phases add up, each with its
own per-call latency. All-to-all traffic to peers in other domains crosses the outer tier while
local traffic stays inside; both run at once, so the slowest tier crossed sets the time.

A synchronising collective (every rank waits for every other) never takes less than the tier's
``call_floor_s``: NCCL all-reduce kernels issued eagerly back to back measure ~32-45 us on the
H100 profile however small the buffer, which we read as each kernel waiting for the slowest
rank to launch (benchmarks/calibrate_collectives.py). One floor serves every group size: the
fitted 37 us sits between the 2-GPU rows (mostly ~45 us, with runs at the kernel's own ~25 us)
and the 4- and 8-GPU ones (32-34 us at 1 MB). The floor of a group is the largest of the tiers
it crosses; set it to 0 for calls captured in a CUDA graph. Send/recv has none: the sender's
kernel does not wait for the receiver (measured 5-10 us for small messages).

Tier parameters come from simulator/domain/catalog/collectives.yaml (read by
costmodel/collective_tiers.py, which also holds the Python-side helpers): profiles fitted to NCCL
measurements on an H100 DGX (benchmarks/calibrate_collectives.py) or taken from public numbers.
All kernels below are Numba-compiled; comm.py calls them from the layout-search kernel.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

from simulator.costmodel.jit import kernel


class TierCol(IntEnum):
    """Columns of a tier row. Protocols take three columns each from PROTO + 3 * p: achieved
    fraction of BW (bus bandwidth; 0 = protocol off), per-call latency (s), per-step latency (s)."""

    BW = 0            # per-rank per-direction link bandwidth, bytes/s (after oversubscription)
    RANKS = 1         # ranks (tier i-1 groups) one tier-i group can hold; inf = unbounded
    HALF = 2          # half-bandwidth buffer size of the ramp, bytes (0 = no ramp)
    FLOOR = 3         # least time of one synchronising collective call, s
    EFF = 4           # Simple: ring/tree bus bandwidth / BW for large buffers
    PROTO = 4         # first protocol column (an alias of EFF)
    BASE = 5          # Simple: per-call latency, s
    LAT = 6           # Simple: per-step latency, s (also the all-to-all per-peer latency)
    LL128_EFF = 7
    LL128_BASE = 8
    LL128_LAT = 9
    LL_EFF = 10
    LL_BASE = 11
    LL_LAT = 12
    INNET_EFF = 13    # in-network-reduction all-reduce: S / time / BW; 0 = none
    INNET_BASE = 14   # in-network reduction: per-call latency, s
    INNET_LAT = 15    # in-network reduction: latency per rank-step (2(n-1) of them), s
    P2P_EFF = 16      # achieved fraction of BW for send/recv and all-to-all
    P2P_LAT = 17      # latency of one point-to-point message, s


TIER_COLS = len({m.value for m in TierCol})


class Protocol(IntEnum):
    """NCCL protocols, in the order of their column triples."""

    SIMPLE = 0
    LL128 = 1
    LL = 2


N_PROTOS = len(Protocol)
PROTO_NAMES = ("simple", "ll128", "ll")


class Collective(IntEnum):
    """Collective kinds for the vectorised entry point."""

    ALL_REDUCE = 0
    ALL_GATHER = 1
    REDUCE_SCATTER = 2
    ALL_TO_ALL = 3
    SEND_RECV = 4


KINDS = {"all_reduce": Collective.ALL_REDUCE, "all_gather": Collective.ALL_GATHER,
         "reduce_scatter": Collective.REDUCE_SCATTER, "all_to_all": Collective.ALL_TO_ALL,
         "send_recv": Collective.SEND_RECV}

# NCCL turns NVLink SHARP off for communicators of two GPUs or fewer (src/transport/nvls.cc).
INNET_MIN_RANKS = 3.0



# --------------------------------------------------------------------------- one tier


@kernel
def transfer_s(moved_fraction, nbytes, bw_bytes_per_s, efficiency, half_bytes):
    """Time to move ``moved_fraction * nbytes`` at ``efficiency * bw * S / (S + S_half)``.

    Written as ``moved_fraction * (S + S_half) / (efficiency * bw)`` so that S -> 0 is finite.
    """
    if moved_fraction <= 0.0 or nbytes <= 0.0:
        return 0.0
    return moved_fraction * (nbytes + half_bytes) / (efficiency * bw_bytes_per_s)


@kernel
def protocol_s(moved_fraction, steps, nbytes, tier, proto):
    """One algorithm on one protocol: ``moved_fraction`` of the buffer at the protocol's share of
    the link, its per-call latency and ``steps`` per-step latencies; inf where the tier does not
    enable the protocol."""
    col = TierCol.PROTO + 3 * proto
    eff = tier[col]
    if eff <= 0.0:
        return np.inf
    wire_s = transfer_s(moved_fraction, nbytes, tier[TierCol.BW], eff, tier[TierCol.HALF])
    return wire_s + tier[col + 1] + steps * tier[col + 2]


@kernel
def ring_all_reduce_s(nbytes, n, tier, proto=Protocol.SIMPLE):
    """Ring all-reduce with protocol ``proto``: 2(n-1)/n of the buffer, 2(n-1) steps.

    inf where the tier does not enable the protocol.
    """
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    return protocol_s(2.0 * (n - 1.0) / n, 2.0 * (n - 1.0), nbytes, tier, proto)


@kernel
def tree_all_reduce_s(nbytes, n, tier, proto=Protocol.SIMPLE):
    """Double binary tree all-reduce: reduce up, broadcast down; 2 S at busbw, 2 log2(n) steps."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    return protocol_s(2.0, 2.0 * math.ceil(math.log2(n)), nbytes, tier, proto)


@kernel
def innet_all_reduce_s(nbytes, n, tier):
    """In-network reduction (NVLS / SHARP): S up, S down; inf where the tier cannot reduce."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    if tier[TierCol.INNET_EFF] <= 0.0 or n < INNET_MIN_RANKS:
        return np.inf
    wire_s = transfer_s(1.0, nbytes, tier[TierCol.BW], tier[TierCol.INNET_EFF], tier[TierCol.HALF])
    return wire_s + tier[TierCol.INNET_BASE] + 2.0 * (n - 1.0) * tier[TierCol.INNET_LAT]


@kernel
def flat_all_reduce_s(nbytes, n, tier):
    """All-reduce inside one tier: the fastest (algorithm, protocol) pair, as NCCL's tuner picks.

    Ring and tree with every protocol the tier enables, and in-network reduction; the same
    sums as ring_all_reduce_s and tree_all_reduce_s, with the shared terms computed once (this
    runs inside the layout-search kernel).
    """
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    best = innet_all_reduce_s(nbytes, n, tier)
    ring_moved = 2.0 * (n - 1.0) / n
    ring_steps = 2.0 * (n - 1.0)
    tree_steps = 2.0 * math.ceil(math.log2(n))
    wire_bytes = nbytes + tier[TierCol.HALF]
    for proto in range(N_PROTOS):
        col = TierCol.PROTO + 3 * proto
        eff = tier[col]
        if eff > 0.0:
            per_byte_s = wire_bytes / (eff * tier[TierCol.BW])
            base, hop = tier[col + 1], tier[col + 2]
            best = min(best, base + ring_steps * hop + ring_moved * per_byte_s,
                       base + tree_steps * hop + 2.0 * per_byte_s)
    return best


@kernel
def ring_all_gather_s(nbytes, n, tier, proto=Protocol.SIMPLE):
    """Ring all-gather of an ``nbytes`` output with protocol ``proto``: (n-1)/n of it, n-1 steps."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    return protocol_s((n - 1.0) / n, n - 1.0, nbytes, tier, proto)


@kernel
def flat_all_gather_s(nbytes, n, tier):
    """Ring all-gather of an ``nbytes`` output (or reduce-scatter of an ``nbytes`` input), with
    the fastest protocol the tier enables (ring_all_gather_s, shared terms computed once)."""
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0
    best = np.inf
    moved_bytes = (n - 1.0) / n * (nbytes + tier[TierCol.HALF])
    for proto in range(N_PROTOS):
        col = TierCol.PROTO + 3 * proto
        eff = tier[col]
        if eff > 0.0:
            best = min(best, tier[col + 1] + (n - 1.0) * tier[col + 2]
                       + moved_bytes / (eff * tier[TierCol.BW]))
    return best


@kernel
def p2p_s(nbytes, tier):
    """One point-to-point message: its latency plus the bytes at the send/recv efficiency."""
    if nbytes <= 0.0:
        return 0.0
    return tier[TierCol.P2P_LAT] + transfer_s(1.0, nbytes, tier[TierCol.BW], tier[TierCol.P2P_EFF], tier[TierCol.HALF])


# --------------------------------------------------------------------------- a group of tiers


@kernel
def top_tier(group):
    """Index of the outermost tier the group spans (-1 when the group is one rank)."""
    top = -1
    for i in range(group.shape[0]):
        if group[i] > 1.0:
            top = i
    return top


@kernel
def call_floor_s(group, tiers):
    """Least time of a synchronising call over the group: the largest floor of tiers crossed."""
    floor = 0.0
    for i in range(group.shape[0]):
        if group[i] > 1.0:
            floor = max(floor, tiers[i, TierCol.FLOOR])
    return floor


@kernel
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


@kernel
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


@kernel
def reduce_scatter_time(nbytes, group, tiers):
    """Hierarchical reduce-scatter of an ``nbytes`` input: the all-gather phases in reverse."""
    return all_gather_time(nbytes, group, tiers)


@kernel
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
            t = transfer_s(peers / n, nbytes, tier[TierCol.BW], tier[TierCol.P2P_EFF], tier[TierCol.HALF])
            slowest = max(slowest, t + peers * tier[TierCol.LAT])
        inner = outer
    return max(slowest, call_floor_s(group, tiers))


@kernel
def send_recv_time(nbytes, group, tiers):
    """Send/recv of ``nbytes`` between the two ranks of ``group`` (outermost tier spanned)."""
    top = top_tier(group)
    if top < 0:
        return 0.0
    return p2p_s(nbytes, tiers[top])


@kernel
def collective_time(kind, nbytes, group, tiers):
    """Dispatch on ``kind`` (a ``Collective``)."""
    if kind == Collective.ALL_REDUCE:
        return all_reduce_time(nbytes, group, tiers)
    if kind == Collective.ALL_GATHER:
        return all_gather_time(nbytes, group, tiers)
    if kind == Collective.REDUCE_SCATTER:
        return reduce_scatter_time(nbytes, group, tiers)
    if kind == Collective.ALL_TO_ALL:
        return all_to_all_time(nbytes, group, tiers)
    if kind == Collective.SEND_RECV:
        return send_recv_time(nbytes, group, tiers)
    return np.nan


@kernel
def collective_times(kind, nbytes, group, tiers):
    """Vectorised entry: seconds for every buffer size in the float64 array ``nbytes``."""
    out = np.empty(nbytes.shape[0])
    for j in range(nbytes.shape[0]):
        out[j] = collective_time(kind, nbytes[j], group, tiers)
    return out


@kernel
def collective_times_groups(kind, nbytes, groups, tiers):
    """Seconds for row j of ``groups`` (shape (m, n_tiers)) moving ``nbytes[j]``."""
    out = np.empty(nbytes.shape[0])
    for j in range(nbytes.shape[0]):
        out[j] = collective_time(kind, nbytes[j], groups[j], tiers)
    return out
