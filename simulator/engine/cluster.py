"""Racks, nodes and accelerators as capacity (counts), not as per-GPU objects.

Each rack group holds ``racks * nodes_per_rack`` identical nodes; jobs take whole nodes (which
nodes are free is the node pool's business: engine/node_pool.py). Power of a group follows
from how many accelerators are busy and at what board power: hosts draw idle power plus a
share of their dynamic range proportional to busy accelerators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.domain.catalog import Catalog
from simulator.domain.specs import AcceleratorSpec, NodeSpec
from simulator.scenario.schema import RackGroup


@dataclass(frozen=True)
class Group:
    """One rack group as built: its scenario entry, its catalog node and accelerator, and where
    its nodes sit in the cluster-wide node numbering."""

    index: int
    config: RackGroup
    node: NodeSpec
    accel: AcceleratorSpec
    nodes_total: int
    first_node: int = 0                      # index of this group's first node cluster-wide

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def spare_total(self) -> int:
        return self.config.spare_nodes

    @property
    def gpus_per_node(self) -> int:
        return self.node.accelerators_per_node

    @property
    def gpus_total(self) -> int:
        return self.nodes_total * self.gpus_per_node

    @property
    def schedulable_gpus(self) -> int:
        return (self.nodes_total - self.config.spare_nodes) * self.gpus_per_node

    def nodes_for(self, gpus: int) -> int:
        return math.ceil(gpus / self.gpus_per_node)

    def rack_gpu_cap_w(self) -> float:
        """Per-accelerator power cap that keeps a fully busy rack within its power limit."""
        limit = self.config.power_limit
        if limit is None:
            return math.inf
        per_node = limit / self.config.nodes_per_rack
        return (per_node - self.node.host_power) / self.gpus_per_node

    def board_cap_w(self, fraction: float) -> float:
        """Board cap at a fraction of TDP, within the rack's power limit."""
        return min(fraction * self.accel.tdp, self.accel.tdp, self.rack_gpu_cap_w())

    def host_power_w(self, active_gpus: float) -> float:
        """All hosts of the group: idle plus the dynamic range's share of ``active_gpus``."""
        dynamic = self.node.host_power - self.node.host_idle_power
        return self.nodes_total * self.node.host_idle_power + dynamic * active_gpus / self.gpus_per_node

    def idle_accelerator_power_w(self) -> float:
        """Every accelerator of the group at idle; running work adds its draw above idle."""
        return self.gpus_total * self.accel.idle_power

    def idle_power_w(self) -> float:
        """The whole group with nothing running."""
        return self.nodes_total * (self.node.host_idle_power + self.gpus_per_node * self.accel.idle_power)

    def peak_power_w(self) -> float:
        """The whole group flat out at TDP (the sizing load for UPS and cooling)."""
        return self.nodes_total * (self.node.host_power + self.gpus_per_node * self.accel.tdp)


def eligible_groups(groups: list[Group], rack_group: str | None, gpus: int) -> list[Group]:
    """The groups a workload may run on: its named rack group, else every group big enough."""
    if rack_group is not None:
        return [g for g in groups if g.name == rack_group]
    return [g for g in groups if g.schedulable_gpus >= gpus]


def build_groups(racks: list[RackGroup], catalog: Catalog) -> list[Group]:
    """Resolve catalog entries for every rack group (names were checked at load time)."""
    groups = []
    first = 0
    for i, rack in enumerate(racks):
        node = catalog.nodes.get(rack.node)
        accel = catalog.accelerators.get(node.accelerator)
        nodes = rack.count * rack.nodes_per_rack
        groups.append(Group(i, rack, node, accel, nodes, first_node=first))
        first += nodes
    return groups
