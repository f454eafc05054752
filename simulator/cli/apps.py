"""The typer applications the commands register with."""

from __future__ import annotations

import typer

from simulator.cli.errors import DcsimGroup

app = typer.Typer(
    cls=DcsimGroup,
    name="dcsim",
    help="Datacenter capacity-planning simulator for AI clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


estimate_app = typer.Typer(help="Analytic cost of one training step, prefill or decode step.",
                           no_args_is_help=True)
app.add_typer(estimate_app, name="estimate")
