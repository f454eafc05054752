"""One sweep variant as a pure function of its scenario: what every executor maps.

A variant that cannot run (its values together leave a job without GPUs, a model that fits no
layout, ...) comes back with its error instead of stopping the sweep: ``{"error": text,
"kind": "input" | "internal"}``. Input errors are deterministic and cached like results;
internal errors (a bug) are not.
"""

from __future__ import annotations

from simulator import api
from simulator.errors import DcsimError
from simulator.scenario.sites_load import load_any


def run_variant(raw: dict, base_dir: str, source: str | None = None) -> dict:
    """Simulate one variant and return its headline numbers, or its error (picklable)."""
    try:
        result = api.simulate(load_any(raw, base_dir=base_dir, source=source))  # one site or several
    except DcsimError as err:
        return {"error": _one_line(err), "kind": "input"}
    except Exception as err:  # one broken variant must not stop the others
        return {"error": f"internal error: {type(err).__name__}: {err}", "kind": "internal"}
    return {"summary": result.summary_dict, "costs": result.costs_dict}


def _one_line(err: DcsimError) -> str:
    lines = getattr(err, "lines", None)
    if callable(lines):
        return "; ".join(lines())
    return str(err)
