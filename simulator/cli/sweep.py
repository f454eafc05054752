"""``dcsim sweep``: every combination of axis values (times ``--seeds`` replications), one row of
headline numbers each (docs/sweeps.md).

The sweep's own input (axes: paths, indices, units, values; flags; the output folder) is checked
before anything runs: exit 2. A variant that cannot run is recorded with its error and the others
finish: exit 1 when any failed, 0 when all ran.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import _err, handle_errors
from simulator.cli.options import ScenarioArg
from simulator.cli.output import OutputFormat, print_json, print_table
from simulator.cli.progress import ticking
from simulator.cli.run import _check_out
from simulator.errors import InputError, Problem


class SweepFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"
    csv = "csv"


def _folder_problems(cache: Path | None) -> list[Problem]:
    problems = []
    if cache is not None and cache.exists() and not cache.is_dir():
        problems.append(Problem("--cache", f"{cache} is a file, not a folder of cached results"))
    return problems


@app.command("sweep")
@handle_errors
def sweep_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: sweep.parquet, sweep.csv, sweep.json, sweep.html.")] = Path("out-sweep"),
    axis: Annotated[list[str] | None, typer.Option("--axis", help="PATH=V1,V2,... (repeatable; adds to or replaces the scenario's sweep.axes).")] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=1000, help="Replications of every variant (seeds seed .. seed+N-1): mean and spread per variant.")] = 1,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Worker processes (a local pool, or the LocalCluster with --dask local).")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="'local' (a dask.distributed LocalCluster of --workers processes) or a scheduler address HOST:PORT.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Folder of cached variant results: a resumed or repeated sweep recomputes nothing done.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: Annotated[SweepFormat, typer.Option("--format", "-f", help="What to print: table, md, json or csv.")] = SweepFormat.table,
):
    """Run every combination of axis values; one row of headline numbers per variant. Exit 0 when
    every variant ran, 1 when some failed (each recorded with its error), 2 for bad input."""
    from simulator import api
    from simulator.report.writer import dumps, write_outputs
    from simulator.sweep.grid import expand, parse_axis
    from simulator.sweep.html import sweep_html
    from simulator.sweep.local import run_all
    from simulator.sweep.table import display, sweep_frame

    problems = _folder_problems(cache)
    parsed = []
    for text in axis or []:
        try:
            parsed.append(parse_axis(text))
        except InputError as err:
            problems += err.problems
    loaded = api.load_scenario(scenario)
    if problems:
        raise InputError(problems)
    _check_out(out, force, inputs=(Path(scenario),))
    axes = dict(loaded.scenario.sweep.axes) if loaded.scenario.sweep else {}
    axes.update(dict(parsed))
    variants = expand(loaded, axes, seeds)
    sc = loaded.scenario
    with ticking(sys.stderr.isatty(), f"dcsim sweep {sc.name}", _variants, "variants") as tick:
        results = run_all(variants, str(loaded.base_dir), loaded.source, workers, str(cache) if cache else None,
                          dask, tick)
        frame = sweep_frame(variants, results, axes, bool(sc.workloads.training), bool(sc.workloads.inference))
        records = frame.to_dict("records")
        failed = frame[frame["status"] != "ok"]
        document = {"axes": axes, "seeds": seeds, "variants": len(frame), "failed": len(failed), "rows": records}
        title = f"sweep of {Path(loaded.source or scenario).name}: {len(frame)} variant(s)"
        write_outputs(out, {"sweep.parquet": frame, "sweep.csv": frame.to_csv(index=False),
                            "sweep.json": dumps(document), "sweep.html": sweep_html(frame, axes, title)}, force=force)
    if fmt == SweepFormat.json:
        print_json({**document, "out": str(out)})
    elif fmt == SweepFormat.csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        columns, rows, numeric = display(frame, axes)
        print_table(f"{title}, {len(failed)} failed -> {out}", columns, rows,
                    OutputFormat.md if fmt == SweepFormat.md else OutputFormat.table, numeric)
    if len(failed):
        _err(f"{len(failed)} of {len(frame)} variant(s) failed (each with its error in sweep.json): " + "; ".join(
            f"#{row['variant']}: {row['error']}" for row in failed.head(5).to_dict("records"))
            + (" ..." if len(failed) > 5 else ""))
        raise typer.Exit(1)


def _variants(done: float, total: float) -> str:
    return f"{int(done)} of {int(total)} variant(s) done"
