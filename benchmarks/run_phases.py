"""Where the time of one `dcsim run` goes, phase by phase, wall and CPU side by side: importing
what a run needs, loading the scenario, planning and simulating it, writing the JSON and
Parquet outputs, and drawing the report (its SVG figures and HTML; no matplotlib since issue 15).
Run in a fresh interpreter so the imports are measured cold (the Numba cache should be warm:
`dcsim warmup`):

    python benchmarks/run_phases.py scenarios/default.yaml

prints one line per phase and a JSON line at the end (benchmarks/test_run_phases.py reads it).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


class Phases:
    """Wall and CPU seconds of named phases, in order."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self._t = time.perf_counter()
        self._c = time.process_time()

    def mark(self, name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.rows.append((name, t - self._t, c - self._c))
        self._t, self._c = t, c


def main(scenario: str) -> dict:
    phases = Phases()
    from simulator import api
    from simulator.engine import planning, world  # noqa: F401  (what a run imports, before it starts)
    from simulator.report import cost, energy, frames, writer  # noqa: F401
    phases.mark("import")
    from simulator.engine.counterfactual import run_with_baselines
    from simulator.report.cost import cost_report
    from simulator.report.energy import summary_report
    from simulator.report.frames import jobs_frame, progress_frame, services_frame, timeseries_frame

    loaded = api.load_scenario(scenario)
    phases.mark("load and check the scenario")
    record, baselines = run_with_baselines(loaded, None)
    phases.mark("plan and simulate")
    timeseries = timeseries_frame(record)
    jobs = jobs_frame(record)
    services = services_frame(record)
    summary = summary_report(loaded.scenario, record, timeseries, jobs, services, baselines)
    costs = cost_report(loaded.scenario, loaded.catalog, record, summary, jobs, services, timeseries)
    result = api.Result(loaded, summary, costs, timeseries, jobs, progress_frame(record), services, record=record)
    phases.mark("summary and costs")
    with tempfile.TemporaryDirectory() as tmp:
        result.write(Path(tmp) / "run", report=False)
        phases.mark("write JSON and Parquet")
        from simulator.report.html import render_html
        phases.mark("import the report (no matplotlib)")
        render_html(result.summary_dict, result.costs_dict, result.timeseries, result.jobs, result.progress,
                    "dcsim", services=result.services)
        phases.mark("draw the report (figures, HTML)")
    total_wall = sum(r[1] for r in phases.rows)
    total_cpu = sum(r[2] for r in phases.rows)
    for name, wall, cpu in phases.rows:
        print(f"{name:34s} {wall:7.2f} s wall {cpu:7.2f} s CPU")
    print(f"{'total':34s} {total_wall:7.2f} s wall {total_cpu:7.2f} s CPU")
    return {name: {"wall_s": wall, "cpu_s": cpu} for name, wall, cpu in phases.rows}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "scenarios/default.yaml")))
