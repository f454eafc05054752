"""``dcsim catalog`` and ``dcsim schema``: what the catalog holds (with sources) and the
scenario's JSON Schema or Markdown reference."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt
from simulator.cli.output import OutputFormat, print_json, print_table
from simulator.errors import InputError, Problem


@app.command("catalog")
@handle_errors
def catalog_cmd(
    kind: Annotated[str | None, typer.Argument(help="accelerators, nodes, models, switches, optics, engines or climates (default: all).")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """List catalog entries with their key numbers (TDP, HBM, peak FLOP/s, price, node power,
    model size, ...) and where each comes from (its source, in full). --format json: every field
    of every entry, SI units."""
    from simulator.cli.catalog_view import catalog_table
    from simulator.domain.catalog import INTERNAL_KINDS, KINDS, shipped_catalog

    catalog = shipped_catalog()
    listed = [k for k in KINDS if k not in INTERNAL_KINDS]
    if kind is not None and kind not in listed:
        raise InputError([Problem("KIND", f"unknown catalog kind {kind!r}; known: {', '.join(listed)}")])
    kinds = [kind] if kind else listed
    if fmt == OutputFormat.json:
        print_json({k: [e.model_dump(mode="json") for e in getattr(catalog, k).entries] for k in kinds})
        return
    for k in kinds:
        columns, rows, numeric = catalog_table(k, catalog)
        print_table(k, columns, rows, fmt, numeric)


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
