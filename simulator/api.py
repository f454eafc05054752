"""The Python API a notebook imports: analytic estimates now, whole-scenario simulation below.

Every function takes catalog names or spec objects and returns plain dicts of SI numbers
(the same keys ``dcsim estimate --format json`` prints).
"""

from __future__ import annotations

from pathlib import Path

from simulator.scenario.catalog import Catalog, shipped_catalog
from simulator.scenario.model_ref import resolve_model
from simulator.scenario.specs import ModelSpec


def _device(accelerator: str, catalog: Catalog):
    from simulator.costmodel.device import DeviceModel

    return DeviceModel.from_name(accelerator, catalog, path="accelerator")


def estimate_train(
    model: str | ModelSpec,
    accelerator: str,
    micro_batch: int,
    seq: int,
    gpus: int = 1,
    precision: str = "bf16-amp",
    recompute: str = "none",
    optimizer: str = "adamw-foreach",
    global_batch: int | None = None,
    power_cap_w: float | None = None,
    catalog: Catalog | None = None,
    base_dir: Path | None = None,
    check_fit: bool = True,
) -> dict:
    """One training step: step_time_s, peak_memory_bytes, tokens_per_s, model_flops_per_step, mfu, ..."""
    from simulator.costmodel.training import estimate_train as _train

    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    result = _train(spec, _device(accelerator, catalog), micro_batch, seq, gpus=gpus,
                    precision_name=precision, recompute=recompute, optimizer=optimizer,
                    global_batch=global_batch, power_cap_w=power_cap_w, check_fit=check_fit)
    out = result.as_dict()
    out["model"] = spec.name
    out["accelerator"] = _device(accelerator, catalog).name
    return out


def estimate_prefill(model: str | ModelSpec, accelerator: str, batch: int, prompt: int,
                     dtype: str = "bf16", catalog: Catalog | None = None,
                     base_dir: Path | None = None, check_fit: bool = True) -> dict:
    """Prefill of ``batch`` prompts of ``prompt`` tokens: latency_s, tokens_per_s, ..."""
    from simulator.costmodel.serving import estimate_prefill as _prefill

    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = _device(accelerator, catalog)
    r = _prefill(spec, device, batch, prompt, dtype=dtype, check_fit=check_fit)
    return {
        "latency_s": r.time_s,
        "tokens_per_s": r.tokens_per_s,
        "flops": r.flops,
        "kv_cache_bytes": r.kv_cache_bytes,
        "weights_bytes": r.weights_bytes,
        "peak_memory_bytes": r.peak_memory_bytes,
        "avg_power_w": r.avg_power_w,
        "energy_j": r.energy_j,
        "model": spec.name,
        "accelerator": device.name,
    }


def estimate_decode(model: str | ModelSpec, accelerator: str, batch: int, context: int,
                    dtype: str = "bf16", catalog: Catalog | None = None,
                    base_dir: Path | None = None, check_fit: bool = True) -> dict:
    """One decode step for ``batch`` sequences at ``context`` cached tokens: step_time_s, ..."""
    from simulator.costmodel.serving import estimate_decode as _decode

    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = _device(accelerator, catalog)
    r = _decode(spec, device, batch, context, dtype=dtype, check_fit=check_fit)
    return {
        "step_time_s": r.time_s,
        "tokens_per_s": r.tokens_per_s,
        "kv_cache_bytes": r.kv_cache_bytes,
        "flops": r.flops,
        "weights_bytes": r.weights_bytes,
        "peak_memory_bytes": r.peak_memory_bytes,
        "avg_power_w": r.avg_power_w,
        "energy_j": r.energy_j,
        "model": spec.name,
        "accelerator": device.name,
    }


# ----------------------------------------------------------------------------- simulation
def load_scenario(source, base_dir: Path | None = None):
    """A validated scenario from a YAML path, YAML text or a dict (see scenario/load.py)."""
    from simulator.scenario.load import load_scenario as _load

    return _load(source, base_dir=base_dir)


class Result:
    """What one run produced: summary and costs (dicts), timeseries, jobs, progress (DataFrames)."""

    def __init__(self, scenario, summary: dict, costs: dict, timeseries, jobs, progress):
        self.scenario = scenario
        self.summary = summary
        self.costs = costs
        self.timeseries = timeseries
        self.jobs = jobs
        self.progress = progress

    def files(self) -> dict[str, object]:
        """Every output file's content, by name (see docs/outputs.md)."""
        from simulator.report.html import render_html
        from simulator.report.writer import dumps

        title = f"dcsim: {self.summary['scenario']}"
        return {
            "summary.json": dumps(self.summary),
            "costs.json": dumps(self.costs),
            "timeseries.parquet": self.timeseries,
            "jobs.parquet": self.jobs,
            "progress.parquet": self.progress,
            "scenario.json": dumps(self.scenario.scenario.model_dump(mode="json")),
            "report.html": render_html(self.summary, self.costs, self.timeseries, self.jobs,
                                       self.progress, title),
        }

    def write(self, out_dir, force: bool = False) -> Path:
        """Write all outputs into ``out_dir`` atomically (complete or absent)."""
        from simulator.report.writer import write_outputs

        return write_outputs(out_dir, self.files(), force=force)

    def markdown(self) -> str:
        from simulator.report.markdown import render_markdown

        return render_markdown(self.summary, self.costs, self.jobs)

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

    def plot_costs(self):
        from simulator.report.figures import cost_breakdown

        return cost_breakdown(self.costs)

    def __repr__(self) -> str:
        s = self.summary
        return (f"Result({s['scenario']!r}: facility {s['facility_energy_j'] / 3.6e9:.1f} MWh, "
                f"PUE {s['pue_mean']:.3f}, total ${self.costs['total_usd']:,.0f})")


def simulate(scenario, progress=None) -> Result:
    """Run a scenario (a LoadedScenario, a path, YAML text or a dict) to its horizon."""
    from simulator.engine.world import World
    from simulator.report.cost import cost_report
    from simulator.report.energy import summary_report
    from simulator.report.frames import jobs_frame, progress_frame, timeseries_frame
    from simulator.scenario.load import LoadedScenario

    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    world = World(loaded, progress_callback=progress).run()
    timeseries = timeseries_frame(world)
    jobs = jobs_frame(world)
    summary = summary_report(world, timeseries, jobs)
    costs = cost_report(world, summary, jobs)
    return Result(loaded, summary, costs, timeseries, jobs, progress_frame(world))
