"""The ``dcsim`` command line: run, validate, estimate, sweep, compare, catalog, schema.

Errors print as messages (one line per problem) with exit code 2 for bad input and 1 for a
model that does not fit; never a traceback unless DCSIM_DEBUG=1. Heavy imports (numba, pandas)
happen inside the commands that need them, so ``--help`` stays fast; ``validate`` pays for the
cost model only once a scenario passes its schema and cross-reference checks.
"""

from __future__ import annotations

import importlib

from simulator.entry import main

_LAZY = ("_interruptible", "app", "estimate_app")

__all__ = ["_interruptible", "app", "estimate_app", "main"]


def __getattr__(name: str):
    """The typer application and its parts load on first use (see simulator/entry.py)."""
    if name in _LAZY:
        return getattr(importlib.import_module("simulator.cli.commands"), name)
    raise AttributeError(f"module 'simulator.cli' has no attribute {name!r}")
