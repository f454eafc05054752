"""The scale-out network: leaf/spine(/core) switch counts derived from the cluster, optics and
cables per link type, their power and price, and the per-GPU bandwidth a job sees across it.

Sizing follows a folded Clos (fat-tree): a leaf with radix k gives k/(1+1/o) ports down and
the rest up for oversubscription o; two tiers serve up to k*k/2 endpoints at o = 1, three
tiers k^3/4 (Al-Fares et al., SIGCOMM 2008). Rail-optimised fabrics (NVIDIA DGX SuperPOD
reference architecture) wire GPU i of every node to rail i's leaves; the switch count is the
same as a fat-tree over the same endpoints, but traffic between same-rail GPUs of up to
k_down nodes crosses a single leaf. The sizing reproduces the DGX SuperPOD reference
architecture's counts (RA-11333-001 Tables 3-4: e.g. 32 leaves + 16 spines for 1,024 GPUs,
128 + 128 + 64 core for 4,096).

Links: node-to-leaf links carry a transceiver at each end (``node_link: optic``, twin-port
optics serving two ports; the node end draws from the node, inside its rated power) and a
fibre, or one DAC; leaf-spine links the ``optic`` at each end,
spine-core links the ``core_optic`` (longer runs), each with a fibre. The bill of materials is
a tuple of ``NetworkItem`` rows that the cost report prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.domain.catalog import Catalog
from simulator.engine.record import NetworkItem
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
    items: tuple[NetworkItem, ...] = ()

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


def clos_counts(radix: int, endpoints: int, o: float, tiers: int | None) -> tuple[int, int, int, int, int, int, int]:
    """(tiers, leaves, spines, cores, ports down per leaf, leaf-spine links, spine-core links) of a
    folded Clos of ``radix``-port switches for ``endpoints`` ports at oversubscription ``o``."""
    down = max(round(radix * o / (1.0 + o)), 1)
    up = radix - down
    if endpoints <= 0:
        return 0, 0, 0, 0, down, 0, 0
    leaves = math.ceil(endpoints / down)
    tiers = tiers or (1 if leaves == 1 else (2 if leaves <= radix else 3))
    spines = cores = links = core_links = 0
    if tiers >= 2 and leaves > 1:
        uplinks = leaves * up
        spines = math.ceil(uplinks / radix)
        links = uplinks
        if tiers == 3:
            # Spines split half down, half up; cores take the up half.
            spines = math.ceil(uplinks / (radix // 2))
            core_links = spines * (radix // 2)
            cores = math.ceil(core_links / radix)
    return tiers, leaves, spines, cores, down, links, core_links


def bill_of_materials(network: str, catalog: Catalog, switch_name: str, switches: int, endpoints: int,
                      endpoint_bw: float, node_link: str, optic_name: str | None, core_optic_name: str | None,
                      cable_name: str, links: int, core_links: int) -> tuple[NetworkItem, ...]:
    """Switches, transceivers (per link end, twin-port optics serving two ports) and cables of a
    network, merged by catalog entry."""
    counts: dict[tuple[str, str], float] = {}

    def add(kind: str, name: str, n: float) -> None:
        counts[(kind, name)] = counts.get((kind, name), 0.0) + n

    add("switch", switch_name, switches)
    optic_name = optic_name or None
    core_name = core_optic_name or optic_name
    ports: dict[str, float] = {}
    node_ports = 0.0
    if node_link == "optic" and optic_name:
        ports[optic_name] = ports.get(optic_name, 0.0) + endpoints
        node_ports = float(endpoints)
        add("cable", cable_name, endpoints)
    elif node_link == "dac":
        add("cable", "dac-copper", endpoints)
    else:
        add("cable", cable_name, endpoints)
    for name, n in ((optic_name, links), (core_name, core_links)):
        if not n:
            continue
        if name:
            ports[name] = ports.get(name, 0.0) + 2 * n
        add("cable", cable_name, n)
    for name, ends in ports.items():
        optic = catalog.optics.get(name)
        add("optic", name, math.ceil(ends / max(round(optic.bw / endpoint_bw), 1)))
    if node_ports and optic_name:
        optic = catalog.optics.get(optic_name)
        add("node-optic", optic_name, math.ceil(node_ports / max(round(optic.bw / endpoint_bw), 1)))
    items = []
    for (kind, name), qty in counts.items():
        if not qty:
            continue
        spec = catalog.switches.get(name) if kind == "switch" else catalog.optics.get(name)
        # A transceiver in a server's cage draws from the server (inside its rated power).
        power = 0.0 if kind == "node-optic" else float(spec.power)
        items.append(NetworkItem(network, kind, spec.name, int(qty), power, float(spec.price)))
    return tuple(items)


def size_fabric(fabric: Fabric, endpoints: int, endpoint_bw: float, catalog: Catalog,
                nics_per_node: int = 8) -> FabricSize:
    """Size a Clos network for ``endpoints`` NIC ports of ``endpoint_bw`` bytes/s each."""
    switch = catalog.switches.get(fabric.switch)
    # Ports of the switch that match the endpoint speed (e.g. 64 x 400G from 32 x 800G cages).
    radix = max(int(switch.ports * switch.port_bw / max(endpoint_bw, 1.0)), 2)
    o = fabric.oversubscription
    tiers, leaves, spines, cores, down, links, core_links = clos_counts(radix, endpoints, o, fabric.tiers)
    if endpoints <= 0:
        return FabricSize(0, 0, 0, 0, 0, down, 0, 0, 0.0, 0.0, endpoint_bw, o, 1)
    items = bill_of_materials("compute", catalog, switch.name, leaves + spines + cores, endpoints, endpoint_bw,
                              fabric.node_link, fabric.optic, fabric.core_optic, fabric.cable, links, core_links)
    optic_units = sum(i.count for i in items if i.kind in ("optic", "node-optic"))
    power = sum(i.power_w for i in items)
    price = sum(i.price_usd for i in items)
    bw = endpoint_bw / (o if leaves > 1 else 1.0)
    per_leaf = down if fabric.topology == "rail-optimized" else max(down // nics_per_node, 1)
    return FabricSize(endpoints, tiers, leaves, spines, cores, down, links + core_links, optic_units, power, price,
                      bw, o, nodes_per_leaf=per_leaf, items=items)
