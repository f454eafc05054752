"""What each operation policy saved in cost and carbon, and what it cost in throughput
(summary.json ``operation``).

In-loop policies (flexible jobs, demand response) are compared with the run just before they
were added (engine/counterfactual.py): grid bill and location-based carbon of the facility's
power before any supply asset, energy, tokens trained and requests served. Supply assets
(on-site generation, battery, PPA) are compared step by step on the same run's settlement
(engine/supply.py): bill (energy, demand charges, battery wear), location- and market-based
carbon.
"""

from __future__ import annotations

import itertools

import numpy as np

from simulator.engine.record import RunRecord
from simulator.engine.recorder import POWER_COLUMNS
from simulator.scenario.schema import Scenario


def _in_loop(record: RunRecord) -> dict[str, float]:
    grid = record.supply.steps["grid"] if record.supply is not None else None
    dt = np.diff(np.concatenate([[0.0], record.t_s]))
    facility = float(np.sum(record.power[:, POWER_COLUMNS.index("facility_power_w")] * dt))
    return {
        "cost_usd": grid.total_usd if grid is not None else record.energy_cost_usd,
        "carbon_kg": grid.carbon_location_kg if grid is not None else record.carbon_kg,
        "energy_j": facility,
        "tokens": float(sum(j.tokens_done for j in record.jobs)),
        "requests": float(sum(s.requests_served for s in record.services)),
    }


def operation_report(scenario: Scenario, record: RunRecord, baselines: list[tuple[str, RunRecord]]) -> dict | None:
    """Per policy: cost_saved_usd, carbon_saved_kg (and carbon_market_saved_kg for supply assets),
    energy_saved_j, tokens_lost, requests_lost; plus pauses and flagged hours."""
    op = scenario.operation
    if op is None:
        return None
    policies: dict[str, dict] = {}
    chain = [*baselines, (None, record)]
    for (policy, before), (_, after) in itertools.pairwise(chain):
        b, a = _in_loop(before), _in_loop(after)
        assert policy is not None            # only the last entry, the run itself, has none
        policies[policy] = {
            "cost_saved_usd": b["cost_usd"] - a["cost_usd"],
            "carbon_saved_kg": b["carbon_kg"] - a["carbon_kg"],
            "energy_saved_j": b["energy_j"] - a["energy_j"],
            "tokens_lost": b["tokens"] - a["tokens"],
            "requests_lost": b["requests"] - a["requests"],
        }
    for name in ("flexible", "demand_response"):
        if getattr(op, name) is not None and name not in policies:
            # Without a counterfactual run (savings_baseline: false) the savings are unknown.
            policies[name] = dict.fromkeys(("cost_saved_usd", "carbon_saved_kg", "energy_saved_j", "tokens_lost",
                                            "requests_lost"))
    if "flexible" in policies:
        policies["flexible"]["pauses"] = int(sum(j.policy_pauses for j in record.jobs))
        policies["flexible"]["held_s"] = float(sum(j.policy_s for j in record.jobs))
    supply = record.supply
    if supply is not None:
        steps = list(supply.steps.items())
        for (_, settled_before), (name, settled) in itertools.pairwise(steps):
            policies[name] = {
                "cost_saved_usd": settled_before.total_usd - settled.total_usd,
                "carbon_saved_kg": settled_before.carbon_location_kg - settled.carbon_location_kg,
                "carbon_market_saved_kg": settled_before.carbon_market_kg - settled.carbon_market_kg,
                "tokens_lost": 0.0,
                "requests_lost": 0.0,
            }
    return {"policies": policies, "baseline_runs": len(baselines)}
