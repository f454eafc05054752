"""The whole IT load beside the accelerator nodes: support servers (storage, management, fabric
managers, login nodes) and every network (compute fabric, storage, front-end, out-of-band),
with their bill of materials (switches, optics, cables, NICs), power and price.

Each auxiliary network is a folded Clos sized like the compute fabric (engine/fabric.py) for its
endpoints: the accelerator nodes' ports on it, the support servers' ports, and for the
out-of-band network also every switch of the other networks and two PDUs per rack (as the DGX
SuperPOD RA cables them, RA-11333-001 Table 8). NICs are bought per node for the ports it has
on a network (a dual-port card serves two); their power is inside the node's host power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.domain.catalog import Catalog
from simulator.domain.specs import NicSpec, ServerSpec
from simulator.engine.cluster import Group
from simulator.engine.fabric import FabricSize, bill_of_materials, clos_counts, size_fabric
from simulator.engine.record import NetworkItem
from simulator.scenario.it_load import NetworkSpec
from simulator.scenario.schema import Cluster

PDUS_PER_RACK = 2  # A and B feeds (RA-11333-001 Table 7: 96 + 12 PDUs for 38 racks, ~2.8 per rack)


@dataclass(frozen=True)
class SupportServers:
    """The support servers as built: (catalog entry, count) rows."""

    rows: tuple[tuple[ServerSpec, int], ...]

    @property
    def power_w(self) -> float:
        return float(sum(s.power * n for s, n in self.rows))

    @property
    def max_power_w(self) -> float:
        return float(sum(s.max_power * n for s, n in self.rows))

    @property
    def price_usd(self) -> float:
        return float(sum(s.price * n for s, n in self.rows))

    def count(self) -> int:
        return sum(n for _, n in self.rows)

    def ports(self, network: str) -> int:
        return sum(getattr(s, f"{network}_ports") * n for s, n in self.rows)


@dataclass(frozen=True)
class NetworkPlan:
    """Every network of the site: the compute fabric, the others by name, and all their items."""

    fabric: FabricSize
    others: dict[str, tuple[int, int, int, int]]     # name -> (tiers, leaves, spines, cores)
    items: tuple[NetworkItem, ...]

    @property
    def power_w(self) -> float:
        return float(sum(i.power_w for i in self.items))

    @property
    def price_usd(self) -> float:
        return float(sum(i.price_usd for i in self.items))

    def price_of(self, network: str) -> float:
        return float(sum(i.price_usd for i in self.items if i.network == network))


def build_support(cluster: Cluster, gpus: int, catalog: Catalog) -> SupportServers:
    """Resolve the scenario's support groups: fixed counts, or one per ``per_gpus`` GPUs."""
    rows = []
    for group in cluster.support:
        spec = catalog.servers.get(group.server)
        per_gpus = group.per_gpus if group.per_gpus is not None else 1.0   # the schema requires one of the two
        count = group.count if group.count is not None else max(math.ceil(gpus / per_gpus - 1e-9), 1)
        rows.append((spec, int(count)))
    return SupportServers(tuple(rows))


def compute_nic(cluster: Cluster, group: Group, catalog: Catalog) -> NicSpec | None:
    """The NIC model of a group's scale-out ports: the fabric's, else the first single-port NIC of
    the node's bandwidth (None: no such catalog NIC, nothing bought)."""
    if cluster.fabric.nic is not None:
        return catalog.nics.get(cluster.fabric.nic)
    return next((n for n in catalog.nics.entries if n.bw == group.node.nic_bw and n.ports == 1), None)


def _aux_network(name: str, spec: NetworkSpec, endpoints: int, catalog: Catalog) -> tuple[tuple, tuple]:
    switch = catalog.switches.get(spec.switch)
    radix = max(int(switch.ports * switch.port_bw / spec.port_bw), 2)
    tiers, leaves, spines, cores, _, links, core_links = clos_counts(radix, endpoints, spec.oversubscription, None)
    if endpoints <= 0:
        return (0, 0, 0, 0), ()
    items = bill_of_materials(name, catalog, switch.name, leaves + spines + cores, endpoints, spec.port_bw,
                              spec.node_link, spec.optic, None, spec.cable, links, core_links)
    return (tiers, leaves, spines, cores), items


def plan_networks(cluster: Cluster, groups: list[Group], support: SupportServers, catalog: Catalog) -> NetworkPlan:
    """Size the compute fabric and the storage, front-end and out-of-band networks."""
    endpoints = sum(g.nodes_total * g.node.nics for g in groups)
    nic_bw = max((g.node.nic_bw for g in groups), default=50e9)
    nics = max((g.node.nics for g in groups), default=8)
    fabric = size_fabric(cluster.fabric, endpoints, nic_bw, catalog, nics)
    items: list[NetworkItem] = list(fabric.items)
    for g in groups:
        nic = compute_nic(cluster, g, catalog)
        if nic is not None and nic.price > 0:
            items.append(NetworkItem("compute", "nic", nic.name, g.nodes_total * g.node.nics, 0.0, nic.price))
    nodes = sum(g.nodes_total for g in groups)
    racks = sum(g.config.count for g in groups)
    others: dict[str, tuple[int, int, int, int]] = {}
    networks = cluster.networks
    for name in ("storage", "frontend", "oob"):
        spec = getattr(networks, name)
        if spec is None:
            continue
        ports = nodes * spec.ports_per_node + support.ports(name)
        if name == "oob":
            ports += sum(i.count for i in items if i.kind == "switch") + PDUS_PER_RACK * racks
        counts, net_items = _aux_network(name, spec, ports, catalog)
        others[name] = counts
        items += net_items
        nic = catalog.nics.get(spec.nic)
        if nic.price > 0 and spec.ports_per_node > 0:
            items.append(NetworkItem(name, "nic", nic.name, nodes * math.ceil(spec.ports_per_node / nic.ports),
                                     0.0, nic.price))
    return NetworkPlan(fabric, others, tuple(items))
