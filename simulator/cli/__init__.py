"""The ``dcsim`` command line: run, validate, estimate, sweep, compare, catalog, schema.

Errors print as messages (one line per problem) with exit code 2 for bad input and 1 for a
model that does not fit; never a traceback unless DCSIM_DEBUG=1. Heavy imports (numba, pandas)
happen inside the commands that need them, so ``--help`` stays fast; ``validate`` pays for the
cost model only once a scenario passes its schema and cross-reference checks.
"""

from __future__ import annotations

from simulator.cli import estimate, info, run, serve, sweep  # noqa: F401  (the commands register themselves)
from simulator.cli.app import app, estimate_app
from simulator.cli.options import PrecisionName
from simulator.cli.run import _interruptible

__all__ = ["PrecisionName", "_interruptible", "app", "estimate_app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
