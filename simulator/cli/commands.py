"""Every command registered with the typer application (importing this loads typer and the
command modules; simulator/cli/__init__.py defers it so Ctrl-C is handled from the first instant)."""

from __future__ import annotations

from simulator.cli import compare, estimate, info, plan, run, serve, sweep, trace, warmup  # noqa: F401  (the commands register themselves)
from simulator.cli.apps import app, estimate_app
from simulator.cli.run import _interruptible

__all__ = ["_interruptible", "app", "estimate_app"]
