"""``dcsim compare``: a run against a baseline, metric by metric with a direction and tolerances
(report/compare.py); the CI gate. Exit 0 when every metric is within tolerance or improved, 1 when
one regressed (or a scenario number changed, or a metric went missing), 2 for bad input (an
unreadable or untrustworthy baseline, a bad --tol). docs/ci.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import app
from simulator.cli.errors import _err, handle_errors
from simulator.cli.options import FormatOpt
from simulator.cli.output import OutputFormat, print_json, print_table
from simulator.errors import InputError, Problem


def _pairs(baseline: Path, current: Path) -> list[tuple[str, Path, Path]]:
    """(name, baseline, run) pairs: one pair, or with BASELINE a folder of NAME.json baselines and
    CURRENT a folder of run folders, one per baseline (each run folder CURRENT/NAME)."""
    if baseline.is_dir() and not (baseline / "summary.json").exists():
        files = sorted(baseline.glob("*.json"))
        if not files:
            raise InputError([Problem(str(baseline), "is a folder without baseline files (*.json)")])
        if not current.is_dir():
            raise InputError([Problem(str(current), "must be a folder of run folders (one per baseline) when "
                                                    "BASELINE is a folder of baselines")])
        missing = [f.stem for f in files if not (current / f.stem).is_dir()]
        if missing:
            raise InputError([Problem(str(current / name), "run folder not found (one per baseline)")
                              for name in missing])
        return [(f.stem, f, current / f.stem) for f in files]
    return [("", baseline, current)]


@app.command("compare")
@handle_errors
def compare_cmd(
    baseline: Annotated[Path, typer.Argument(help="Baseline JSON (metric -> number), a run folder, or a folder of NAME.json baselines.", show_default=False)],
    current: Annotated[Path, typer.Argument(help="A run folder written by `dcsim run` (or a metrics JSON); a folder of run folders NAME/ with a folder of baselines.", show_default=False)],
    tol: Annotated[list[str] | None, typer.Option("--tol", help="Tolerance override METRIC=REL, METRIC=N% or METRIC=abs:N (repeatable), e.g. pue_mean=abs:0.02.")] = None,
    update: Annotated[bool, typer.Option("--update", help="Write CURRENT's metrics into the BASELINE file instead of comparing.")] = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write the comparison as JUnit XML (one test case per metric and scenario).")] = None,
    show: Annotated[str, typer.Option("--show", help="Rows to print: all, or changed (beyond tolerance, new or missing).")] = "all",
    fmt: FormatOpt = OutputFormat.table,
):
    """Compare a run with a baseline, each metric with its direction and tolerance; exit 1 on a
    regression (the CI gate, docs/ci.md)."""
    from simulator.report.compare import compare, metrics_of, parse_tolerance, read_baseline, write_baseline
    from simulator.report.junit import check_junit_path, write_junit

    if show not in ("all", "changed"):
        raise InputError([Problem("--show", f"expected 'all' or 'changed', got {show!r}")])
    if update:
        if baseline.is_dir():
            raise InputError([Problem("BASELINE", f"{baseline} is a folder; --update writes one baseline file "
                                                  "(give its path, e.g. baselines/NAME.json)")])
        if baseline.suffix.lower() != ".json":
            raise InputError([Problem("BASELINE", f"{baseline} is not a .json file; --update writes baselines only "
                                                  "to paths ending in .json")])
        if baseline.exists():
            try:
                read_baseline(baseline)      # replace only what is already a baseline, never another file
            except InputError as err:
                refusal = Problem("BASELINE", f"{baseline} exists and is not a dcsim baseline, so --update will "
                                              "not replace it (remove it first if that is meant)")
                raise InputError([refusal, *err.problems]) from None
        written = write_baseline(metrics_of(current), baseline)
        _err(f"wrote {written}")
        if fmt == OutputFormat.json:
            print_json({"wrote": str(written)})
        return
    rules = dict(parse_tolerance(item) for item in tol or [])
    if junit is not None:
        check_junit_path(junit)
    results = []
    problems: list[Problem] = []
    for name, base_path, run_path in _pairs(baseline, current):
        try:
            base, now = metrics_of(base_path), metrics_of(run_path)
        except InputError as err:
            problems += err.problems
            continue
        scenario = name or str(now.get("__scenario__") or base_path.stem)
        results.append((scenario, compare(base, now, rules)))
    if problems:
        raise InputError(problems)
    if junit is not None:
        write_junit(junit, results)
    failed = [(s, r) for s, rows in results for r in rows if not r.ok]
    if fmt == OutputFormat.json:
        print_json({"ok": not failed, "scenarios": {s: [r.to_dict() for r in rows] for s, rows in results}})
    else:
        for scenario, rows in results:
            shown = rows if show == "all" else [r for r in rows if r.verdict != "ok"]
            print_table(f"compare {scenario}: {sum(not r.ok for r in rows)} of {len(rows)} metric(s) failing",
                        ["metric", "baseline", "current", "change", "rule", "verdict"],
                        [_cells(r) for r in shown], fmt, [False, True, True, True, False, False])
    improved = [r.metric for _, rows in results for r in rows if r.verdict == "improved"]
    if improved:
        _err(f"improved beyond tolerance: {', '.join(improved)} (passes; refresh the baseline with --update)")
    if failed:
        _err(f"{len(failed)} metric(s) outside tolerance: " + ", ".join(
            f"{r.metric} ({r.verdict})" + (f" in {s}" if len(results) > 1 else "") for s, r in failed))
        raise typer.Exit(1)


def _cells(row) -> list[str]:
    spec = row.spec
    change = row.change
    if spec.kind == "fraction" and row.delta is not None:
        moved = f"{100 * row.delta:+.2f} pt"
    elif change is not None:
        moved = f"{100 * change:+.2f}%"
    elif row.delta is not None:
        moved = f"{row.delta:+g}"
    else:
        moved = "—"
    rule = f"{spec.better} {spec.tolerance_text(row.rule.rel, row.rule.abs)}" if spec.better != "equal" else \
        f"equal {spec.tolerance_text(row.rule.rel, row.rule.abs)}"
    return [row.metric, spec.show(row.baseline), spec.show(row.current), moved, rule, row.verdict]
