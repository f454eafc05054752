"""One sweep variant as a pure function of its scenario: what every executor maps."""

from __future__ import annotations

from simulator import api
from simulator.scenario.load import load_scenario


def run_variant(raw: dict, base_dir: str, source: str | None = None) -> dict:
    """Simulate one variant and return its headline numbers (picklable)."""
    result = api.simulate(load_scenario(raw, base_dir=base_dir, source=source))
    return {"summary": result.summary_dict, "costs": result.costs_dict}
