"""Free GPUs of one rack group's nodes for trace jobs, and where a job goes.

Jobs smaller than a node share nodes (best fit: the node with the fewest free GPUs that has
room); a job of a node or more is a gang: it takes ``ceil(gpus / gpus_per_node)`` whole nodes
at once. ``topology`` placement puts a gang inside one rack if one has the nodes free (the
fullest such rack), else inside one leaf switch (``leaf_racks`` racks), else anywhere;
``first-fit`` takes the lowest-numbered free nodes. Nodes sit in sets by their free GPUs, so a
fit test is a look at a few counts and a placement touches only the nodes it takes.
"""

from __future__ import annotations

import math

import numpy as np

RACK, LEAF, SPREAD, NODE = 0, 1, 2, 3            # where a placement landed (NODE: inside one node)


class TracePool:
    """Free GPUs per node of one group (spare nodes excluded)."""

    def __init__(self, nodes: int, gpus_per_node: int, nodes_per_rack: int, leaf_racks: int, topology: bool):
        self.gpn = gpus_per_node
        self.nodes = nodes
        self.topology = topology
        self.npr = nodes_per_rack
        self.leaf_racks = leaf_racks
        racks = math.ceil(nodes / nodes_per_rack)
        self.free = [gpus_per_node] * nodes
        self.buckets: list[set[int]] = [set() for _ in range(gpus_per_node + 1)]
        self.buckets[gpus_per_node] = set(range(nodes))
        self.rack_whole = np.bincount(np.arange(nodes) // nodes_per_rack, minlength=racks).astype(np.int64)
        self.rack_sets = [set(range(r * nodes_per_rack, min((r + 1) * nodes_per_rack, nodes))) for r in range(racks)]
        self.free_gpus = nodes * gpus_per_node
        self.total_gpus = self.free_gpus

    def _set(self, node: int, new: int) -> None:
        old = self.free[node]
        self.free[node] = new
        self.buckets[old].discard(node)
        self.buckets[new].add(node)
        gpn = self.gpn
        if old == gpn:
            r = node // self.npr
            self.rack_whole[r] -= 1
            self.rack_sets[r].discard(node)
        if new == gpn:
            r = node // self.npr
            self.rack_whole[r] += 1
            self.rack_sets[r].add(node)

    def nodes_for(self, gpus: int) -> int:
        return -(-gpus // self.gpn)

    def most_free_on_a_node(self) -> int:
        for k in range(self.gpn, 0, -1):
            if self.buckets[k]:
                return k
        return 0

    def fits(self, gpus: int) -> bool:
        if gpus < self.gpn:
            return any(self.buckets[k] for k in range(gpus, self.gpn + 1))
        return len(self.buckets[self.gpn]) >= self.nodes_for(gpus)

    def largest_fit(self, gpus: int, min_gpus: int) -> int:
        """The most GPUs, at most ``gpus`` and at least ``min_gpus``, a job could get now (0: none).
        Gangs shrink by whole nodes."""
        if self.fits(gpus):
            return gpus
        whole = len(self.buckets[self.gpn])
        can = whole * self.gpn if whole else self.most_free_on_a_node()
        can = min(can, gpus)
        return can if can >= min_gpus else 0

    def take(self, gpus: int) -> tuple[list[int], int, int]:
        """Place ``gpus`` GPUs (they must fit): (nodes, GPUs taken on each, where it landed)."""
        gpn = self.gpn
        self.free_gpus -= gpus if gpus < gpn else self.nodes_for(gpus) * gpn
        if gpus < gpn:
            for k in range(gpus, gpn + 1):
                if self.buckets[k]:
                    node = next(iter(self.buckets[k]))
                    self._set(node, k - gpus)
                    return [node], gpus, NODE
            raise AssertionError("take() without fits()")
        m = self.nodes_for(gpus)
        chosen, where = self._gang(m)
        for node in chosen:
            self._set(node, 0)
        return chosen, gpn, where

    def _gang(self, m: int) -> tuple[list[int], int]:
        whole = self.rack_whole
        if self.topology:
            ok = np.flatnonzero(whole >= m)
            if len(ok):
                r = int(ok[np.argmin(whole[ok])])
                return sorted(self.rack_sets[r])[:m], RACK
            leaf = np.add.reduceat(whole, np.arange(0, len(whole), self.leaf_racks))
            ok = np.flatnonzero(leaf >= m)
            if len(ok):
                lf = int(ok[np.argmin(leaf[ok])])
                return self._first(m, lf * self.leaf_racks, (lf + 1) * self.leaf_racks), LEAF
        chosen = self._first(m, 0, len(whole))
        racks = {n // self.npr for n in chosen}
        return chosen, RACK if len(racks) == 1 else LEAF if len({r // self.leaf_racks for r in racks}) == 1 else SPREAD

    def _first(self, m: int, rack_lo: int, rack_hi: int) -> list[int]:
        chosen: list[int] = []
        for r in np.flatnonzero(self.rack_whole[rack_lo:rack_hi] > 0) + rack_lo:
            chosen.extend(sorted(self.rack_sets[int(r)])[:m - len(chosen)])
            if len(chosen) == m:
                break
        return chosen

    def give_back(self, nodes: list[int], per_node: int) -> None:
        for node in nodes:
            self._set(node, self.free[node] + per_node)
        self.free_gpus += per_node * len(nodes)
