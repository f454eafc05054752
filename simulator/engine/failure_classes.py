"""Failure classes by cause (GPU, HBM, network, host, software...): their rates, blast radius,
restart and repair times, and the processes that play them.

A class's rate is in failures per node-second over the whole fleet (the scenario and catalog
say failures per 1000 node-days, Kokolis et al. 2024's unit). A node-scoped class fails one
node of whoever holds it: a job on n nodes sees it at n x rate (Poisson), played by the job's
own process (engine/failures.py node_failures) with the cause drawn in proportion to the rates.
A rack- or leaf-scoped class is one site-wide Poisson process at rate x all nodes; each event
picks a node at random (so bigger units fail more often, at the same rate per node) and takes
down every node of its rack, or every node under its leaf switch (the fabric's leaf size), and
every job and service on them.

The single-class form of earlier versions (``failures.node_mtbf``) is one node-scoped class
named 'node' at 1/MTBF and draws nothing more from the random streams, so its runs are
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from simulator.domain.catalog import Catalog
from simulator.scenario.failures import FailureClass, Failures

NODE_DAYS_PER_1000_S = 1000.0 * 86400.0     # failures per 1000 node-days -> per node-second: divide by this
LEGACY_CLASS = "node"


@dataclass(frozen=True)
class FailureClassPlan:
    """One cause as the engine plays it (SI units)."""

    name: str
    rate_per_node_s: float
    scope: str                     # node | rack | leaf
    restart_s: float
    repair_s: float


@dataclass(frozen=True)
class FailureModel:
    """Every failure class of a run, and the node MTBF the checkpoint interval is planned for."""

    classes: tuple[FailureClassPlan, ...]
    node_mtbf_s: float             # 1 / (all classes' rate per node): what a node of a job sees
    by_cause: bool                 # False: the single 'node' class of failures.node_mtbf

    @property
    def node_classes(self) -> tuple[FailureClassPlan, ...]:
        return tuple(c for c in self.classes if c.scope == "node" and c.rate_per_node_s > 0)

    @property
    def scoped_classes(self) -> tuple[FailureClassPlan, ...]:
        return tuple(c for c in self.classes if c.scope != "node" and c.rate_per_node_s > 0)

    @property
    def node_rate_per_s(self) -> float:
        """Rate of node-scoped failures of one node."""
        return sum(c.rate_per_node_s for c in self.node_classes)

    def node_gap_s(self, nodes: int) -> float:
        """Mean time between node-scoped failures of something holding ``nodes`` nodes."""
        if not self.by_cause:
            return self.node_mtbf_s / max(nodes, 1)
        rate = self.node_rate_per_s * nodes
        return 1.0 / rate if rate > 0 else float("inf")

    def pick_node_class(self, rng: np.random.Generator) -> FailureClassPlan:
        """The cause of one node-scoped failure, in proportion to the rates (no draw for one class)."""
        classes = self.node_classes
        if len(classes) == 1:
            return classes[0]
        rates = np.array([c.rate_per_node_s for c in classes])
        return classes[int(np.searchsorted(np.cumsum(rates) / rates.sum(), rng.random(), side="right"))]


def pick_cause(model: FailureModel | None, rng: np.random.Generator) -> FailureClassPlan:
    """The cause of a node-scoped failure of a run that has failures."""
    assert model is not None
    return model.pick_node_class(rng)


def _plan_class(c: FailureClass, f: Failures) -> FailureClassPlan:
    return FailureClassPlan(c.name, c.rate / NODE_DAYS_PER_1000_S, c.scope,
                            f.restart_time if c.restart_time is None else c.restart_time,
                            f.repair_time if c.repair_time is None else c.repair_time)


def resolve_failures(f: Failures, catalog: Catalog) -> FailureModel:
    """The failure classes a scenario's failures section stands for: its fleet's (catalog
    fleets.yaml), its own list, or the single node class of ``node_mtbf``."""
    if not f.by_cause:
        only = FailureClassPlan(LEGACY_CLASS, 1.0 / f.node_mtbf, "node", f.restart_time, f.repair_time)
        return FailureModel((only,), f.node_mtbf, False)
    if f.fleet is not None:
        fleet = catalog.fleets.get(f.fleet, "failures.fleet")
        written = [FailureClass(name=c.name, rate=c.rate, scope=c.scope, restart_time=c.restart_time,
                                repair_time=c.repair_time) for c in fleet.classes]
    else:
        assert f.classes is not None
        written = list(f.classes)
    classes = tuple(_plan_class(c, f) for c in written)
    total = sum(c.rate_per_node_s for c in classes)
    return FailureModel(classes, 1.0 / total if total > 0 else float("inf"), True)


def units_of(scope: str, group_spans: list[tuple[int, int, int]], nodes_per_leaf: int) -> list[np.ndarray]:
    """The node ids each unit of ``scope`` covers: racks (``group_spans`` = (first node, nodes,
    nodes per rack) of every rack group), leaf switches (``nodes_per_leaf`` consecutive nodes,
    numbered cluster-wide as engine/fabric.py does), or the whole site."""
    total = sum(n for _, n, _ in group_spans)
    if scope == "site":
        return [np.arange(total, dtype=np.int64)]
    if scope == "leaf":
        per = max(nodes_per_leaf, 1)
        return [np.arange(s, min(s + per, total), dtype=np.int64) for s in range(0, total, per)]
    if scope == "node":
        return [np.array([i], dtype=np.int64) for i in range(total)]
    units = []
    for first, nodes, per_rack in group_spans:
        for s in range(0, nodes, per_rack):
            units.append(np.arange(first + s, first + min(s + per_rack, nodes), dtype=np.int64))
    return units


def unit_failures(env: simpy.Environment, rng: np.random.Generator, cls: FailureClassPlan,
                  units: list[np.ndarray], on_unit: Callable[[FailureClassPlan, np.ndarray], None]):
    """Site-wide process of one rack- or leaf-scoped class: events at rate x all nodes; each takes
    down the unit of a node drawn at random (``on_unit``)."""
    sizes = np.array([len(u) for u in units], dtype=np.float64)
    total = float(sizes.sum())
    if total <= 0 or cls.rate_per_node_s <= 0:
        return
    bounds = np.cumsum(sizes) / total
    mean_gap_s = 1.0 / (cls.rate_per_node_s * total)
    while True:
        yield env.timeout(rng.exponential(mean_gap_s))
        unit = units[min(int(np.searchsorted(bounds, rng.random(), side="right")), len(units) - 1)]
        on_unit(cls, unit)


__all__ = ["FailureClassPlan", "FailureModel", "pick_cause", "resolve_failures", "unit_failures", "units_of"]
