"""Sizes a scenario may ask for, checked before anything is allocated or simulated.

The schema bounds each value on its own (a horizon of at most ten years, a million servers,
models ten times the largest published); these are the products of several values: the run's
per-sample tables and the node failures the event loop would play. Each message names the
limit and the value that would bring the scenario within it.
"""

from __future__ import annotations

import math

from simulator.domain.units import human
from simulator.errors import Problem
from simulator.scenario.schema import Scenario

# Rows of per-sample results (~200 bytes each across the site's power, state and environment
# columns and a service's request counts): two gigabytes of tables at most.
MAX_SAMPLE_ROWS = 10_000_000
# Node failures are events of the loop: a million of them take minutes to play.
MAX_EXPECTED_FAILURES = 1_000_000


def size_problems(scenario: Scenario) -> list[Problem]:
    """Sizes checked before anything is allocated: the run's per-sample tables (one row per sample
    for the site and one more per inference service, ~200 bytes each) and the node failures the
    event loop would play (expected: servers x horizon / MTBF)."""
    problems: list[Problem] = []
    sim = scenario.simulation
    samples = math.ceil(sim.horizon / sim.sample_interval - 1e-9)
    services = len(scenario.workloads.inference)
    rows = samples * (1 + services)
    if rows > MAX_SAMPLE_ROWS:
        least = math.ceil(sim.horizon * (1 + services) / MAX_SAMPLE_ROWS)
        problems.append(Problem("simulation.sample_interval", (
            f"{samples:,} samples x (the site + {services} inference service(s)) = {rows:,} rows of per-sample "
            f"results; at most {MAX_SAMPLE_ROWS:,}: use a sample_interval of at least {least:,} s or a shorter "
            "horizon")))
    failures = scenario.failures
    if failures is not None and failures.enabled and failures.classes is not None:
        nodes = sum(g.count * g.nodes_per_rack for g in scenario.cluster.racks)
        per_node_day = sum(c.rate for c in failures.classes) / 1000.0
        expected = nodes * sim.horizon / 86400.0 * per_node_day
        if expected > MAX_EXPECTED_FAILURES:
            problems.append(Problem("failures.classes", (
                f"{nodes:,} servers failing {per_node_day:,.3g} times a day each give about {expected:,.0f} "
                f"failures over the horizon; at most {MAX_EXPECTED_FAILURES:,}: use lower rates or a shorter "
                "horizon")))
    elif failures is not None and failures.enabled and not failures.by_cause:
        nodes = sum(g.count * g.nodes_per_rack for g in scenario.cluster.racks)
        expected = nodes * sim.horizon / failures.node_mtbf
        if expected > MAX_EXPECTED_FAILURES:
            least_s = nodes * sim.horizon / MAX_EXPECTED_FAILURES
            problems.append(Problem("failures.node_mtbf", (
                f"{nodes:,} servers each failing every {human(failures.node_mtbf, 'time')} give about "
                f"{expected:,.0f} failures over the horizon; at most {MAX_EXPECTED_FAILURES:,}: use a node_mtbf "
                f"of at least {human(least_s, 'time')}")))
    return problems
