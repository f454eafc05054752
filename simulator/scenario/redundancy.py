"""What a redundancy level (N, N+1, 2N) of the UPS, generators and cooling plants means: the
installed capacity it buys and the chance the site rides through a grid outage on it. Pure
functions of the scenario's power chain, read by the engine (sizing, outages) and the report
(capex, availability)."""

from __future__ import annotations

import math

from simulator.scenario.facility import PowerChain


def redundancy_factor(redundancy: str, units: int) -> float:
    """Installed capacity over the capacity the load needs: N 1, N+1 (units+1)/units, 2N 2."""
    return {"N": 1.0, "N+1": (units + 1) / units, "2N": 2.0}[redundancy]



def ride_through_probability(chain: PowerChain, duration_s: float = math.inf) -> float:
    """Chance the site rides through a grid outage of ``duration_s``."""
    if duration_s <= chain.ups_autonomy:
        return 1.0
    if chain.redundancy.generators == "none" or chain.ups_autonomy < chain.generator_start:
        return 0.0
    n = chain.generator_units
    installed = round(n * redundancy_factor(chain.redundancy.generators, n))
    p = chain.generator_start_failure
    return float(sum(math.comb(installed, k) * (1 - p) ** k * p ** (installed - k) for k in range(n, installed + 1)))
