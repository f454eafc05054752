"""The scale-out network: leaf/spine(/core) switch counts derived from the cluster, optics,
their power and price, and the per-GPU bandwidth a job sees across it.

Sizing follows a folded Clos (fat-tree): a leaf with radix k gives k/(1+1/o) ports down and
the rest up for oversubscription o; two tiers serve up to k*k/2 endpoints at o = 1, three
tiers k^3/4 (Al-Fares et al., SIGCOMM 2008). Rail-optimised fabrics (NVIDIA DGX SuperPOD
reference architecture) wire GPU i of every node to rail i's leaves; the switch count is the
same as a fat-tree over the same endpoints, but traffic between same-rail GPUs of up to
k_down nodes crosses a single leaf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.domain.catalog import Catalog
from simulator.scenario.schema import Fabric


@dataclass(frozen=True)
class FabricSize:
    """Switches, links and optics of the scale-out network, with power and price."""

    endpoints: int
    tiers: int
    leaves: int
    spines: int
    cores: int
    switch_ports_down: int
    links_switch_to_switch: int
    optics: int
    power_w: float
    price_usd: float
    per_endpoint_bw_bytes_per_s: float
    oversubscription: float

    nodes_per_leaf: int = 1

    @property
    def switches(self) -> int:
        return self.leaves + self.spines + self.cores


def network_shares(fabric: FabricSize, jobs_nodes: list[np.ndarray]) -> list[float]:
    """Share of its NIC bandwidth each job's cross-leaf traffic gets (1 = line rate).

    A leaf serves ``nodes_per_leaf`` nodes and has uplinks for 1/o of them (o the
    oversubscription). A job whose nodes span several leaves sends the fraction of its traffic
    addressed to nodes under other leaves up (uniform peers: (n - n_leaf) / (n - 1)); where the
    jobs under a leaf want more than its uplinks carry, each gets the same share of them. A job
    is as fast as its most contended leaf. Non-blocking fabrics (o = 1) never contend.
    """
    shares = [1.0] * len(jobs_nodes)
    if fabric.oversubscription <= 1.0 or fabric.leaves <= 1:
        return shares
    per_leaf = max(fabric.nodes_per_leaf, 1)
    demand: dict[int, float] = {}
    spans = []
    for nodes in jobs_nodes:
        leaves, counts = np.unique(nodes // per_leaf, return_counts=True)
        n = len(nodes)
        cross = {int(leaf): (cnt * (n - cnt) / (n - 1) if n > 1 else 0.0)
                 for leaf, cnt in zip(leaves, counts, strict=True)}
        spans.append(cross)
        for leaf, want in cross.items():
            demand[leaf] = demand.get(leaf, 0.0) + want
    capacity = per_leaf / fabric.oversubscription
    for j, cross in enumerate(spans):
        worst = 1.0
        for leaf, want in cross.items():
            if want > 0 and demand[leaf] > capacity:
                worst = min(worst, capacity / demand[leaf])
        shares[j] = worst
    return shares


def size_fabric(fabric: Fabric, endpoints: int, endpoint_bw: float, catalog: Catalog,
                nics_per_node: int = 8) -> FabricSize:
    """Size a Clos network for ``endpoints`` NIC ports of ``endpoint_bw`` bytes/s each."""
    switch = catalog.switches.get(fabric.switch)
    optic = catalog.optics.get(fabric.optic)
    # Ports of the switch that match the endpoint speed (e.g. 64 x 400G from 32 x 800G cages).
    radix = max(int(switch.ports * switch.port_bw / max(endpoint_bw, 1.0)), 2)
    o = fabric.oversubscription
    down = max(round(radix * o / (1.0 + o)), 1)
    up = radix - down
    if endpoints <= 0:
        return FabricSize(0, 0, 0, 0, 0, down, 0, 0, 0.0, 0.0, endpoint_bw, o, 1)
    leaves = math.ceil(endpoints / down)
    tiers = fabric.tiers or (1 if leaves == 1 else (2 if leaves <= radix else 3))
    spines = cores = 0
    links = 0
    if tiers >= 2 and leaves > 1:
        uplinks = leaves * up
        spines = math.ceil(uplinks / radix)
        links = uplinks
        if tiers == 3:
            # Spines split half down, half up; cores take the up half.
            spines = math.ceil(uplinks / (radix // 2))
            core_links = spines * (radix // 2)
            cores = math.ceil(core_links / radix)
            links += core_links
    node_optics = endpoints * 2 if fabric.node_link == "optic" else 0
    optics_count = 2 * links + node_optics
    # Optic entries are per link end; a twin-port optic serves two ports.
    ports_per_optic = max(round(optic.bw / endpoint_bw), 1)
    optic_units = math.ceil(optics_count / ports_per_optic)
    switches = leaves + spines + cores
    power = switches * switch.power + optic_units * optic.power
    if fabric.node_link == "dac":
        dac = catalog.optics.get("dac-copper")
        power += endpoints * dac.power
    price = switches * switch.price + optic_units * optic.price
    bw = endpoint_bw / (o if leaves > 1 else 1.0)
    return FabricSize(endpoints, tiers, leaves, spines, cores, down, links, optic_units, power, price, bw, o,
                      nodes_per_leaf=down if fabric.topology == "rail-optimized" else max(down // nics_per_node, 1))
