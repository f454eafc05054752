"""``dcsim validate`` and ``dcsim run``: check a scenario (the same planning the run does), and
simulate it into an output folder written atomically (docs/cli.md: what --force may replace,
the exit codes), with a progress bar on a terminal or a heartbeat line every minute without one,
and SIGINT/SIGTERM handled alike: no traceback, no partial folder, exit 130/143."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from simulator import signals
from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt, ScenarioArg
from simulator.cli.output import OutputFormat, _h, print_json, print_rows, print_table, write_lines
from simulator.cli.progress import progress_bar, ticking
from simulator.errors import InputError, Problem


@app.command("validate")
@handle_errors
def validate_cmd(scenario: ScenarioArg):
    """Check a scenario without running it: every problem, with its YAML path, exit code 2. Runs
    the same planning as `dcsim run` (layouts, memory, the idle site), so what validates runs."""
    from simulator.scenario.sites_load import LoadedSites, load_any

    loaded = load_any(scenario)
    from simulator.engine.planning import plan_run  # the cost model (Numba) only for a clean scenario

    parts = loaded.parts if isinstance(loaded, LoadedSites) else (loaded,)
    gpus = 0
    found: list[InputError] = []        # every site's problems at once
    for i, part in enumerate(parts):
        try:
            plan = plan_run(part)
        except InputError as err:
            found.append(loaded.locate(err, i) if isinstance(loaded, LoadedSites) else loaded.locate(err))
            continue
        gpus += sum(g.gpus_total for g in plan.groups)
    if found:
        raise type(found[0])([p for err in found for p in err.problems], found[0].source)
    sc = loaded.scenario
    racks = sum(len(p.scenario.cluster.racks) for p in parts)
    jobs = sum(len(p.scenario.workloads.training) for p in parts)
    services = len(loaded.services())
    where = f"{len(parts)} site(s), " if isinstance(loaded, LoadedSites) else ""
    write_lines(f"ok: {sc.name}: {where}{racks} rack group(s), {gpus} accelerators, "
                f"{jobs} training job(s), {services} inference "
                f"service(s), horizon {_h(sc.simulation.horizon, 'time')}")


MIN_FREE_BYTES = 16 * 2**20     # the report, tables and figures of even a short run
BYTES_PER_SAMPLE = 64           # a generous bound on the Parquet time series, per sample row


def _nearest_existing(path: Path) -> Path:
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor


def _check_out(out: Path, force: bool, needed_bytes: int = MIN_FREE_BYTES,
               inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output folder that cannot be written before spending time on a simulation: a
    file, an existing folder without --force, a folder --force may not replace (not empty, no
    dcsim marker), one holding an input, a place that cannot be created or written, too little
    free space. Every refusal is bad input (exit 2), naming --out."""
    from simulator.report.writer import replace_problem

    def bad(message: str) -> InputError:
        return InputError([Problem("--out", message)])

    if out.exists() and not out.is_dir():
        raise bad(f"{out} is a file, not an output folder")
    if out.exists() and not force:
        raise bad(f"output folder {out} already exists (use --force to replace it)")
    target = out.resolve()
    for given in inputs:
        if given.resolve().is_relative_to(target):
            raise bad(f"{out} holds the input {given}; the output folder is replaced whole, so it "
                      "may not hold the scenario (choose another --out)")
    if out.exists() and (why := replace_problem(out)):
        raise bad(why)
    ancestor = _nearest_existing(out)
    if not ancestor.is_dir():
        raise bad(f"cannot create {out}: {ancestor} is not a folder")
    try:  # a real probe: os.access says yes to root on a read-only file system
        probe = tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=ancestor)
        os.rmdir(probe)
    except OSError as err:
        raise bad(f"cannot create {out}: {ancestor} is not writable ({err.strerror or err})") from None
    free = shutil.disk_usage(ancestor).free
    if free < needed_bytes:
        raise bad(f"only {free / 2**20:,.1f} MiB free under {ancestor}; writing {out} needs about "
                  f"{needed_bytes / 2**20:,.0f} MiB")


def _run_bytes(loaded) -> int:
    """A generous bound on a run's output size: the fixed files plus the sampled time series."""
    sim = loaded.scenario.simulation
    samples = float(sim.horizon) / float(sim.sample_interval) if sim.sample_interval else 0.0
    sites = len(getattr(loaded, "parts", ())) or 1          # several sites: their own columns too
    return int(MIN_FREE_BYTES + BYTES_PER_SAMPLE * sites * min(samples, 1e12))


def _interruptible():
    """SIGINT and SIGTERM handled alike for the block (simulator/signals.py); yields the check to
    call at each progress tick."""
    return signals.handling()


_progress_bar = progress_bar


def _simulated(now: float, horizon: float) -> str:
    return f"{100 * now / horizon:.1f}% of {_h(horizon, 'time')} simulated"


@app.command("run")
@handle_errors
def run_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")] = Path("out"),
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar (default: when on a terminal).")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html with its figures (--no-report: the JSON and Parquet outputs only, faster).")] = True,
):
    """Simulate a scenario and write summary.json, costs.json, Parquet tables and report.html
    (not with --no-report)."""
    from simulator import api

    loaded = api.load_scenario(scenario)
    _check_out(out, force, _run_bytes(loaded), (Path(scenario),))
    show = sys.stderr.isatty() if progress is None else progress
    with ticking(show, f"dcsim run {loaded.scenario.name}", _simulated) as tick:
        try:
            result = api.simulate(loaded, progress=tick)
        except InputError as err:  # found while building the run: name the file and lines too
            raise loaded.locate(err) from None  # (several sites: already located by the API)
        result.write(out, force=force, report=report)  # inside: an interrupt while writing leaves no temp folder
    if fmt == OutputFormat.json:
        print_json({"summary": result.summary_dict, "costs": result.costs_dict, "out": str(out)})
        return
    if fmt == OutputFormat.md:
        write_lines(result.markdown())
        return
    from simulator.report.tables import run_headline_table, warnings_table

    s, c = result.summary_dict, result.costs_dict
    print_rows(f"{s['scenario']}: {_h(s['horizon_s'], 'time')} simulated -> {out}",
               [(k, v) for k, v in run_headline_table(s, c, result.services).rows], OutputFormat.table)
    warnings = warnings_table(s)
    if warnings.rows:
        print_table(f"{len(warnings.rows)} warning(s): the numbers above may mislead (docs/outputs.md#warnings)",
                    list(warnings.columns), [list(r) for r in warnings.rows], OutputFormat.table)
