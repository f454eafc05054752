"""``dcsim sweep`` (every combination of axis values, one row of headline numbers each) and
``dcsim compare`` (a run against a baseline: the CI gate)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt, ScenarioArg
from simulator.cli.output import OutputFormat, print_json, print_rows
from simulator.cli.progress import ticking
from simulator.cli.run import _check_out


@app.command("sweep")
@handle_errors
def sweep_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: sweep.parquet and sweep.json.")] = Path("out-sweep"),
    axis: Annotated[list[str] | None, typer.Option("--axis", help="PATH=V1,V2,... (repeatable; adds to the scenario's sweep.axes).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Local worker processes.")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="dask.distributed scheduler address, or 'local'.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Folder of cached variant results (reused when unchanged).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
):
    """Run every combination of axis values; one row of headline numbers per variant."""
    from simulator import api
    from simulator.sweep.grid import expand, parse_axis
    from simulator.sweep.local import run_all
    from simulator.sweep.table import sweep_frame

    loaded = api.load_scenario(scenario)
    _check_out(out, force, inputs=(Path(scenario),))
    axes = dict(loaded.scenario.sweep.axes) if loaded.scenario.sweep else {}
    for text in axis or []:
        path, values = parse_axis(text)
        axes[path] = values
    variants = expand(loaded, axes)
    from simulator.report.writer import dumps, write_outputs

    with ticking(sys.stderr.isatty(), f"dcsim sweep {loaded.scenario.name}", _variants, "variants") as tick:
        results = run_all(variants, str(loaded.base_dir), loaded.source, workers, str(cache) if cache else None,
                          dask, tick)
        frame = sweep_frame(variants, results)
        write_outputs(out, {"sweep.parquet": frame,
                            "sweep.json": dumps({"axes": axes, "rows": frame.to_dict("records")})}, force=force)
    if fmt == OutputFormat.json:
        print_json({"axes": axes, "rows": frame.to_dict("records"), "out": str(out)})
        return
    shown = [c for c in frame.columns if c in axes or c in ("tokens_trained", "pue_mean", "total_usd",
                                                             "usd_per_mtoken", "capped_fraction")]
    rows = [(", ".join(f"{k}={row[k]}" for k in axes) or "base",
             "  ".join(f"{c}={row[c]:.4g}" for c in shown if c not in axes)) for row in frame.to_dict("records")]
    print_rows(f"sweep of {len(variants)} variant(s) -> {out}", rows, fmt)


def _variants(done: float, total: float) -> str:
    return f"{int(done)} of {int(total)} variant(s) done"
