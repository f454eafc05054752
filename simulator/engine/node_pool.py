"""Which nodes of each rack group are free, busy, failed or held as hot spares.

The pool is the only way nodes move: work takes nodes from it and gives them back, a failed
node leaves its holder and comes back through ``repaired``, and a replacement for a failed
node is a free node or else a hot spare. Node numbers are cluster-wide (a group's nodes are
``first_node .. first_node + nodes_total - 1``); spares are the last nodes of each group.
"""

from __future__ import annotations

import numpy as np

from simulator.engine.cluster import Group


class NodePool:
    """Free nodes and idle hot spares per rack group."""

    def __init__(self, groups: list[Group]):
        self.groups = groups
        self._free: list[np.ndarray] = []
        self._spares: list[list[int]] = []
        self._free_count: list[int] = []
        for g in groups:
            free = np.ones(g.nodes_total, dtype=bool)
            spares = g.spare_total
            if spares:
                free[g.nodes_total - spares:] = False        # spares are never scheduled
            self._free.append(free)
            self._spares.append(list(range(g.first_node + g.nodes_total - spares, g.first_node + g.nodes_total)))
            self._free_count.append(g.nodes_total - spares)
        self._out: list[bool] = [False] * len(groups)    # not delivered yet, or retired

    # Deliveries and retirements (engine/schedules.py): a group out of service has no free nodes
    # and no spares, and nodes given back to it (work ending, repairs) leave the pool.
    def withdraw(self, group: Group) -> None:
        """The group leaves service (not delivered yet, or retired): its nodes are no longer
        free, its spares gone; the caller moves the work that held them."""
        i = group.index
        self._free[i][:] = False
        self._free_count[i] = 0
        self._spares[i] = []
        self._out[i] = True

    def deliver(self, group: Group) -> None:
        """The group enters service: every node free but its hot spares."""
        i = group.index
        spares = group.spare_total
        self._free[i][:] = True
        if spares:
            self._free[i][group.nodes_total - spares:] = False
        self._spares[i] = list(range(group.first_node + group.nodes_total - spares,
                                     group.first_node + group.nodes_total))
        self._free_count[i] = group.nodes_total - spares
        self._out[i] = False

    def free_nodes(self, group: Group) -> int:
        """Nodes of ``group`` free for new work (spares and failed nodes excluded)."""
        return self._free_count[group.index]

    def fits(self, group: Group, gpus: int) -> bool:
        return self._free_count[group.index] >= group.nodes_for(gpus)

    def take(self, group: Group, count: int) -> np.ndarray:
        """Mark ``count`` free nodes busy, preferring one contiguous run (fewest leaves);
        returns their cluster-wide indices."""
        free = self._free[group.index]
        run = 0
        for i in range(len(free)):
            run = run + 1 if free[i] else 0
            if run == count:
                chosen = np.arange(i - count + 1, i + 1)
                break
        else:
            chosen = np.flatnonzero(free)[:count]
        free[chosen] = False
        self._free_count[group.index] -= count
        return chosen + group.first_node

    def give_back(self, group: Group, nodes: np.ndarray) -> None:
        """Healthy nodes return to the free pool (work finished)."""
        if self._out[group.index]:
            return
        self._free[group.index][nodes - group.first_node] = True
        self._free_count[group.index] += len(nodes)

    def replacement(self, group: Group) -> tuple[np.ndarray | None, bool]:
        """A free node, else a hot spare, to stand in for a failed one: (node indices or None,
        whether a spare was used)."""
        if self._free_count[group.index] >= 1:
            return self.take(group, 1), False
        spares = self._spares[group.index]
        if not spares:
            return None, False
        return np.array([spares.pop(0)]), True

    def take_out(self, group: Group, nodes: np.ndarray) -> np.ndarray:
        """Take the free nodes and idle spares among ``nodes`` out of service (their rack or leaf
        failed, or is drained for maintenance); returns them (they come back through ``repaired``)."""
        local = nodes[(nodes >= group.first_node) & (nodes < group.first_node + group.nodes_total)] - group.first_node
        free = self._free[group.index]
        out = local[free[local]]
        free[out] = False
        self._free_count[group.index] -= len(out)
        spares = self._spares[group.index]
        members = set(local.tolist())
        hit = [s for s in spares if s - group.first_node in members]
        for s in hit:
            spares.remove(s)
        return np.concatenate([out + group.first_node, np.array(hit, dtype=np.int64)]).astype(np.int64)

    def repaired(self, group: Group, node: int) -> None:
        """A repaired node refills the group's spare pool first, else becomes free."""
        if self._out[group.index]:
            return
        spares = self._spares[group.index]
        if len(spares) < group.spare_total:
            spares.append(int(node))
            spares.sort()
            return
        self.give_back(group, np.array([node]))
