"""``dcsim catalog`` and ``dcsim schema``: what the catalog holds (with sources) and the
scenario's JSON Schema or Markdown reference."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt
from simulator.cli.output import OutputFormat, print_json, print_rows
from simulator.errors import InputError


@app.command("catalog")
@handle_errors
def catalog_cmd(
    kind: Annotated[str | None, typer.Argument(help="accelerators, models, nodes, switches, optics, climates")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """List catalog entries (and where their numbers come from)."""
    from simulator.domain.catalog import INTERNAL_KINDS, KINDS, shipped_catalog

    catalog = shipped_catalog()
    kinds = [kind] if kind else [k for k in KINDS if k not in INTERNAL_KINDS]
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown catalog kind '{k}'; known: {', '.join(KINDS)}")
    if fmt == OutputFormat.json:
        print_json({k: [e.model_dump(mode="json") for e in getattr(catalog, k).entries] for k in kinds})
        return
    for k in kinds:
        rows = [(e.name, (e.source or "")[:90]) for e in getattr(catalog, k).entries]
        print_rows(k, rows, fmt)


@app.command("schema")
@handle_errors
def schema_cmd(fmt: FormatOpt = OutputFormat.json):
    """Print the JSON Schema of a scenario file (or the Markdown reference with --format md)."""
    if fmt == OutputFormat.md:
        from simulator.scenario.reference import scenario_reference

        sys.stdout.write(scenario_reference() + "\n")
        return
    from simulator.scenario.schema import Scenario

    print_json(Scenario.model_json_schema())
