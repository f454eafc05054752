"""``dcsim trace synth``: a synthetic job trace in dcsim's columns (docs/traces.md) drawn from the
published statistics of Philly, Helios or Alibaba PAI (engine/trace/synth.py, each with its
source), deterministic from a seed, so scenarios and tests need no download."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.errors import InputError, Problem

trace_app = typer.Typer(help="Job traces: synthesize one from published statistics.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")


@trace_app.command("synth")
@handle_errors
def synth_cmd(
    output: Annotated[Path, typer.Argument(help="Trace file to write: .csv, .csv.gz or .parquet.", show_default=False)],
    preset: Annotated[str, typer.Option("--preset", help="philly, helios or alibaba-pai.")] = "philly",
    days: Annotated[float, typer.Option("--days", help="Submission window in days.")] = 30.0,
    gpus: Annotated[int | None, typer.Option("--gpus", help="Scale the preset's job rate to this many GPUs.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Exactly this many jobs (instead of a Poisson count).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    max_duration: Annotated[float | None, typer.Option("--max-duration", help="Cut run times to this many seconds.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT.")] = False,
):
    """Write a synthetic trace drawn from a public trace's published statistics."""
    from simulator.engine.trace.synth import PRESETS, synthesize

    problems = []
    if preset not in PRESETS:
        problems.append(Problem("--preset", f"expected one of {', '.join(PRESETS)}", preset))
    if not 0 < days <= 3650:
        problems.append(Problem("--days", "expected a number of days in (0, 3650]", days))
    if gpus is not None and not 1 <= gpus <= 10_000_000:
        problems.append(Problem("--gpus", "expected a whole number from 1 to 10,000,000", gpus))
    if jobs is not None and not 1 <= jobs <= 50_000_000:
        problems.append(Problem("--jobs", "expected a whole number from 1 to 50,000,000", jobs))
    if seed < 0:
        problems.append(Problem("--seed", "expected a whole number >= 0", seed))
    if max_duration is not None and not max_duration > 0:
        problems.append(Problem("--max-duration", "expected a number of seconds > 0", max_duration))
    name = output.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        problems.append(Problem("OUTPUT", "expected a .csv, .csv.gz or .parquet file", str(output)))
    if output.exists() and not force:
        problems.append(Problem("OUTPUT", f"{output} exists (use --force to overwrite)"))
    if problems:
        raise InputError(problems)
    frame = synthesize(preset, days, seed, gpus=gpus, jobs=jobs, max_duration_s=max_duration)
    output.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".parquet"):
        frame.to_parquet(output, index=False)
    else:
        frame.to_csv(output, index=False)
    typer.echo(f"wrote {len(frame):,} jobs ({preset}, {days:g} days, seed {seed}) to {output}")
