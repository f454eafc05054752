"""``dcsim validate`` and ``dcsim run``: check a scenario (the same planning the run does), and
simulate it into an output folder written atomically, with a progress bar and Ctrl-C handled."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt, ScenarioArg
from simulator.cli.output import OutputFormat, _h, print_json, print_rows, print_table
from simulator.errors import InputError, Problem


@app.command("validate")
@handle_errors
def validate_cmd(scenario: ScenarioArg):
    """Check a scenario without running it: every problem, with its YAML path, exit code 2. Runs
    the same planning as `dcsim run` (layouts, memory, the idle site), so what validates runs."""
    from simulator.scenario.load import load_scenario

    loaded = load_scenario(scenario)
    from simulator.engine.planning import plan_run  # the cost model (Numba) only for a clean scenario

    try:
        plan = plan_run(loaded)
    except InputError as err:
        raise loaded.locate(err) from None
    sc = loaded.scenario
    gpus = sum(g.gpus_total for g in plan.groups)
    sys.stdout.write(f"ok: {sc.name}: {len(sc.cluster.racks)} rack group(s), {gpus} accelerators, "
                     f"{len(sc.workloads.training)} training job(s), {len(sc.workloads.inference)} inference "
                     f"service(s), horizon {_h(sc.simulation.horizon, 'time')}\n")


def _check_out(out: Path, force: bool) -> None:
    """Refuse an output folder that cannot be written before spending time on a simulation."""
    if out.exists() and not out.is_dir():
        raise InputError([Problem("--out", f"{out} is a file, not an output folder")])
    if out.exists() and not force:
        raise InputError([Problem("--out", f"output folder {out} already exists (use --force to "
                                           "replace it)")])
    ancestor = out.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError([Problem("--out", f"cannot create {out}: {ancestor} is not a folder")])
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError([Problem("--out", f"cannot create {out}: {ancestor} is not writable")])


def _progress_bar(enabled: bool):
    """A rich progress bar over simulated time, or nothing when output is not a terminal."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    # On stderr, so stdout stays clean for --format json/md even when a bar is forced on.
    progress = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                        TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    task = progress.add_task("run", total=1.0)

    def update(now: float, horizon: float) -> None:
        progress.update(task, completed=now / horizon)

    return progress, update


@contextmanager
def _interruptible():
    """Ctrl-C raises KeyboardInterrupt as usual, and again at the next progress tick if the first
    one was swallowed: Numba's compiler callbacks (ctypes) ignore exceptions raised inside them
    and report them as unraisable, which is kept quiet here. Yields the check for each tick."""
    hit = []

    def handler(signum, _frame):
        hit.append(signum)
        raise KeyboardInterrupt

    def check() -> None:
        if hit:
            raise KeyboardInterrupt

    def quiet(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:                      # not the main thread: leave Ctrl-C as it is
        yield check
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, quiet
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook


@app.command("run")
@handle_errors
def run_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")] = Path("out"),
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar (default: when on a terminal).")] = None,
):
    """Simulate a scenario and write summary.json, costs.json, Parquet tables and report.html."""
    from simulator import api

    loaded = api.load_scenario(scenario)
    _check_out(out, force)
    show = sys.stderr.isatty() if progress is None else progress
    bar, update_bar = _progress_bar(show)
    try:
        with _interruptible() as check, bar if bar is not None else nullcontext():
            def tick(now: float, horizon: float) -> None:
                check()
                if update_bar is not None:
                    update_bar(now, horizon)

            result = api.simulate(loaded, progress=tick)
    except InputError as err:  # found while building the run: name the file and lines too
        raise loaded.locate(err) from None
    result.write(out, force=force)
    if fmt == OutputFormat.json:
        print_json({"summary": result.summary_dict, "costs": result.costs_dict, "out": str(out)})
        return
    if fmt == OutputFormat.md:
        sys.stdout.write(result.markdown())
        return
    from simulator.report.tables import run_headline_table, warnings_table

    s, c = result.summary_dict, result.costs_dict
    print_rows(f"{s['scenario']}: {_h(s['horizon_s'], 'time')} simulated -> {out}",
               [(k, v) for k, v in run_headline_table(s, c, result.services).rows], OutputFormat.table)
    warnings = warnings_table(s)
    if warnings.rows:
        print_table(f"{len(warnings.rows)} warning(s): the numbers above may mislead (docs/outputs.md#warnings)",
                    list(warnings.columns), [list(r) for r in warnings.rows], OutputFormat.table)
