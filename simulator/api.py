"""The Python API a notebook imports: analytic estimates now, whole-scenario simulation below.

Every function takes catalog names or spec objects and returns plain dicts of SI numbers
(the same keys ``dcsim estimate --format json`` prints).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from simulator.domain.specs import ModelSpec

if TYPE_CHECKING:  # the report layer (pandas, pyarrow) loads only when a run needs it
    from simulator.report.results import Costs, Summary


def estimate_train(model: str | ModelSpec, accelerator: str, *args, **options) -> dict:
    """One training step: step_time_s, peak_memory_bytes, tokens_per_s, model_flops_per_step, mfu, ...

    One GPU with no ``layout``: the single-device model (host launch pipeline, power cap).
    Otherwise a parallel layout over ``gpus``: ``layout`` "auto" (fastest that fits) or a dict
    with tp, pp, dp, ep, zero, interleave, sequence_parallel; ``global_batch`` defaults to
    micro_batch * gpus. ``gpu_hour_usd`` also finds the cheapest GPU count per token. Options:
    simulator/estimates/train.py.
    """
    from simulator.estimates import train

    return train.estimate_train(model, accelerator, *args, **options).to_dict()


def estimate_prefill(model: str | ModelSpec, accelerator: str, batch: int, prompt: int, *args, **options) -> dict:
    """Prefill of ``batch`` prompts of ``prompt`` tokens: latency_s, tokens_per_s, ...; options
    tp, dtype (weights), kv_precision, activations, engine (default ``pytorch``: the bare model)."""
    from simulator.estimates import inference

    return inference.estimate_inference(model, accelerator, "prefill", batch, prompt, *args, **options).to_dict()


def estimate_decode(model: str | ModelSpec, accelerator: str, batch: int, context: int, *args, **options) -> dict:
    """One decode step for ``batch`` sequences at ``context`` cached tokens: step_time_s, ...
    (same options; the bare model's decode is a CUDA-graph replay)."""
    from simulator.estimates import inference

    return inference.estimate_inference(model, accelerator, "decode", batch, context, *args, **options).to_dict()


def estimate_serve(model: str | ModelSpec, accelerator: str, *args, **options) -> dict:
    """A replica as its serving engine schedules it: maximum sustained throughput
    (output_tokens_per_s_per_replica), with ``concurrency=[...]`` closed-loop latencies, with
    ``rate_per_s`` the fewest replicas that meet TPOT and TTFT targets; options: engine,
    dtype (weights), kv_precision, activations, max_batch / max_num_seqs, max_num_batched_tokens,
    gpu_memory_utilization, prompt_sigma / output_sigma / lengths, prefix_cache_hit, draft_model /
    draft_tokens / acceptance / mtp_layers, disaggregation (simulator/estimates/serve.py)."""
    from simulator.estimates import serve

    return serve.estimate_serve(model, accelerator, *args, **options).to_dict()


# ----------------------------------------------------------------------------- simulation
def load_scenario(source, base_dir: Path | None = None):
    """A validated scenario from a YAML path, YAML text or a dict (see scenario/load.py): a
    LoadedScenario, or a LoadedSites where the scenario gives ``sites:`` (docs/sites.md)."""
    from simulator.scenario.sites_load import load_any

    return load_any(source, base_dir=base_dir)


class Result:
    """What one run produced: ``summary`` and ``costs`` (pandas Series of the headline numbers;
    typed as ``summary_record``/``costs_record``, plain dicts as ``summary_dict``/``costs_dict``),
    ``timeseries``, ``jobs``, ``services`` and ``progress`` (DataFrames, columns in
    docs/outputs.md), and ``record``, the engine's frozen run record."""

    def __init__(self, scenario, summary: Summary | dict, costs: Costs | dict, timeseries, jobs, progress,
                 services=None, record=None, sites: dict | None = None):
        import pandas as pd

        from simulator.report.frames import SERVICE_COLUMNS

        self.scenario = scenario
        self.record = record
        self.sites = sites or {}    # several sites: each site's own Result, by name (docs/sites.md)
        from simulator.report.results import Costs, Summary

        self.summary_record = summary if isinstance(summary, Summary) else Summary.from_dict(summary)
        self.costs_record = costs if isinstance(costs, Costs) else Costs.from_dict(costs)
        self.summary_dict = self.summary_record.to_dict()
        self.costs_dict = self.costs_record.to_dict()
        self.timeseries = timeseries
        self.jobs = jobs
        self.progress = progress
        self.services = services if services is not None else pd.DataFrame(columns=list(SERVICE_COLUMNS))

    @property
    def summary(self):
        import pandas as pd

        return pd.Series(self.summary_dict, dtype=object, name="summary")

    @property
    def costs(self):
        import pandas as pd

        return pd.Series(self.costs_dict, dtype=object, name="costs")

    def files(self, report: bool = True) -> dict[str, object]:
        """Every output file's content, by name (see docs/outputs.md); without ``report`` no
        report.html."""
        from simulator.report.monthly import monthly_frame
        from simulator.report.writer import dumps

        files: dict[str, object] = {
            "summary.json": self.summary_record.to_json(),
            "costs.json": self.costs_record.to_json(),
            "timeseries.parquet": self.timeseries,
            "jobs.parquet": self.jobs,
            "services.parquet": self.services,
            "progress.parquet": self.progress,
            "scenario.json": dumps(self.scenario.dump() if self.sites else
                                   self.scenario.scenario.model_dump(mode="json")),
        }
        if report:
            from simulator.report.html import render_html  # the report's modules load only for it

            title = f"dcsim: {self.summary_dict['scenario']}"
            files["report.html"] = render_html(self.summary_dict, self.costs_dict, self.timeseries, self.jobs,
                                               self.progress, title, services=self.services,
                                               monthly=self.summary_dict.get("monthly"))
        if self.summary_record.monthly:
            files["monthly.csv"] = monthly_frame(self.summary_record.monthly).to_csv(index=False,
                                                                                     float_format="%.6g")
        return files

    def write(self, out_dir, force: bool = False, report: bool = True) -> Path:
        """Write all outputs into ``out_dir`` atomically (complete or absent); ``report=False``
        leaves out report.html."""
        from simulator.report.writer import write_outputs

        return write_outputs(out_dir, self.files(report), force=force)

    def markdown(self) -> str:
        from simulator.report.markdown import render_markdown

        return render_markdown(self.summary_dict, self.costs_dict, self.jobs, self.services)

    def plot_power(self):
        """Figure: the facility power stack over time."""
        from simulator.report.figures import power_stack

        return power_stack(self.timeseries)

    def plot_pue(self):
        from simulator.report.figures import pue_and_temperature

        return pue_and_temperature(self.timeseries)

    def plot_progress(self):
        from simulator.report.figures import job_progress

        return job_progress(self.jobs, self.progress)

    def plot_requests(self):
        """Figure: inference requests per second arriving and served, and the backlog, over time."""
        from simulator.report.figures import requests_over_time

        return requests_over_time(self.timeseries)

    def plot_costs(self):
        from simulator.report.figures import cost_breakdown

        return cost_breakdown(self.costs_dict)

    def __repr__(self) -> str:
        s = self.summary_dict
        return (f"Result({s['scenario']!r}: facility {s['facility_energy_j'] / 3.6e9:.1f} MWh, "
                f"PUE {s['pue_mean']:.3f}, total ${self.costs_dict['total_usd']:,.0f})")


def simulate(scenario, progress=None) -> Result:
    """Run a scenario (a LoadedScenario, a path, YAML text or a dict) to its horizon."""
    from simulator.engine.counterfactual import run_with_baselines
    from simulator.report.cost import cost_report
    from simulator.report.energy import summary_report
    from simulator.report.frames import jobs_frame, progress_frame, services_frame, timeseries_frame
    from simulator.scenario.load import LoadedScenario
    from simulator.scenario.sites_load import LoadedSites

    loaded = scenario if isinstance(scenario, LoadedScenario | LoadedSites) else load_scenario(scenario)
    if isinstance(loaded, LoadedSites):
        return _simulate_sites(loaded, progress)
    record, baselines = run_with_baselines(loaded, progress)
    timeseries = timeseries_frame(record)
    jobs = jobs_frame(record)
    services = services_frame(record)
    summary = summary_report(loaded.scenario, record, timeseries, jobs, services, baselines)
    costs = cost_report(loaded.scenario, loaded.catalog, record, summary, jobs, services, timeseries)
    return Result(loaded, summary, costs, timeseries, jobs, progress_frame(record), services, record=record)


def _simulate_sites(loaded, progress=None) -> Result:
    """Each site run in turn as its own scenario, then the results merged (report/sites.py)."""
    from simulator.errors import InputError
    from simulator.report.sites import SiteRun, merge_runs

    n = len(loaded.parts)
    runs, results = [], {}
    for i, (part, split) in enumerate(zip(loaded.parts, loaded.split, strict=True)):
        tick = None
        if progress is not None:
            def tick(done: float, total: float, i: int = i) -> None:
                progress(i * total + done, n * total)
        try:
            result = simulate(part, progress=tick)
        except InputError as err:
            raise loaded.locate(err, i) from None
        results[split.name] = result
        runs.append(SiteRun(split.name, split.seed, result.summary_record, result.costs_record, result.timeseries,
                            result.jobs, result.services, result.progress, dict(split.services)))
    sc = loaded.scenario
    summary, costs, timeseries, jobs, services, progress_rows = merge_runs(sc.name, loaded.root_seed, runs)
    return Result(loaded, summary, costs, timeseries, jobs, progress_rows, services, sites=results)
