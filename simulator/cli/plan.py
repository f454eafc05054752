"""``dcsim plan``: search a scenario's ``plan:`` decisions for the cheapest plan that meets its
constraints, and write plan.json, trials.parquet and plan.html (atomically)."""

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


@app.command("plan")
@handle_errors
def plan_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: plan.json, trials.parquet, plan.html.")] = Path("out-plan"),
    workers: Annotated[int, typer.Option(min=1, max=256, help="Worker processes simulating candidate plans.")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="dask.distributed scheduler address, or 'local' (a LocalCluster of --workers processes).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
):
    """Search the plan block's decisions for the best plan that meets every constraint (each
    candidate a full simulation), with the best plan's sensitivity to its main inputs."""
    from simulator.api import load_scenario
    from simulator.plan import run_plan
    from simulator.plan.outputs import plan_files, plan_json
    from simulator.report.writer import write_outputs

    loaded = load_scenario(scenario)
    _check_out(out, force, inputs=(Path(scenario),))
    with ticking(sys.stderr.isatty(), f"dcsim plan {loaded.scenario.name}", _plans, "planning") as tick:
        ran = run_plan(loaded, workers, dask, tick)
        write_outputs(out, plan_files(ran.result, ran.sensitivity, f"dcsim plan: {loaded.scenario.name}"),
                      force=force)
    summary = plan_json(ran.result, ran.sensitivity)
    if fmt == OutputFormat.json:
        print_json({**summary, "out": str(out)})
        return
    best = summary["best"]
    rows = [("plans tried", f"{summary['trials']:,} ({summary['evaluations']:,} distinct simulations)"),
            ("feasible", f"{summary['feasible_trials']:,}")]
    rows += [(f"broke {name}", f"{count:,}") for name, count in summary["infeasible_by_constraint"].items()]
    if best is None:
        rows.append(("best plan", "none meets every constraint"))
    else:
        rows += [(f"best: {k}", str(v)) for k, v in best["decisions"].items()]
        rows += [(f"best: {k}", f"{v:,.6g}") for k, v in best["objectives"].items()]
    print_rows(f"plan of {loaded.scenario.name} -> {out}", rows, fmt)



def _plans(done: float, total: float) -> str:
    return f"{int(done)} of {int(total)} plan(s) tried"
