"""The Python API a notebook imports: analytic estimates now, whole-scenario simulation below.

Every function takes catalog names or spec objects and returns plain dicts of SI numbers
(the same keys ``dcsim estimate --format json`` prints).
"""

from __future__ import annotations

import math
from pathlib import Path

from simulator.costmodel.precision import Recipe
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.model_ref import resolve_model
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem


def _device(accelerator: str, catalog: Catalog):
    from simulator.costmodel.device import DeviceModel

    return DeviceModel.from_name(accelerator, catalog, path="accelerator")


def estimate_train(
    model: str | ModelSpec,
    accelerator: str,
    micro_batch: int | None,
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
    attention: str = "flash",
    layout: str | dict | None = None,
    fabric: str | Path | dict | None = None,
    gpu_hour_usd: float | None = None,
) -> dict:
    """One training step: step_time_s, peak_memory_bytes, tokens_per_s, model_flops_per_step, mfu, ...

    One GPU with no ``layout``: the single-device model (host launch pipeline, power cap).
    Otherwise a parallel layout over ``gpus``: ``layout`` "auto" (fastest that fits) or a dict
    with tp, pp, dp, ep, zero, interleave, sequence_parallel; ``global_batch`` defaults to
    micro_batch * gpus. ``gpu_hour_usd`` also finds the cheapest GPU count per token.
    """
    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = _device(accelerator, catalog)
    if gpus == 1 and layout is None:
        from simulator.costmodel.training import estimate_train as _train

        if micro_batch is None:
            raise InputError([Problem("--micro-batch", "required unless --layout auto")])
        result = _train(spec, device, micro_batch, seq, gpus=1, precision_name=precision,
                        recompute=recompute, optimizer=optimizer, global_batch=global_batch,
                        power_cap_w=power_cap_w, check_fit=check_fit, attention=attention)
        out = result.as_dict()
        out.update(model=spec.name, accelerator=device.name, gpus=1)
        return out
    return _estimate_parallel(spec, device, catalog, micro_batch, seq, gpus, global_batch,
                              Recipe(precision, recompute, optimizer, attention), layout or {},
                              fabric, base_dir, gpu_hour_usd)


def _comm_for(device, catalog: Catalog, fabric, base_dir: Path | None):
    """The topology a job sees: the node from the fabric file (or the accelerator's first
    catalog node) and the fabric's oversubscription."""
    from simulator.costmodel.comm import CommModel
    from simulator.domain.validation import validate_model
    from simulator.domain.yaml_io import load_yaml_file
    from simulator.scenario.schema import FabricFile

    spec = FabricFile()
    if isinstance(fabric, dict):
        spec = validate_model(FabricFile, fabric, None, "--fabric")
    elif fabric is not None:
        path = Path(fabric)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        doc = load_yaml_file(path)
        spec = validate_model(FabricFile, doc.data if doc.data is not None else {}, doc.lines, str(path))
    if spec.node is not None:
        node = catalog.nodes.get(spec.node, "node")
        if catalog.accelerators.get(node.accelerator).name != device.name:
            raise InputError([Problem("node", f"node {node.name} holds {node.accelerator}, not {device.name}")])
    else:
        nodes = [n for n in catalog.nodes.entries if catalog.accelerators.get(n.accelerator).name == device.name]
        if not nodes:
            raise InputError([Problem("--fabric", f"no catalog node holds {device.name}; name one in a fabric file")])
        node = nodes[0]
    return CommModel.for_node(node, device.spec, spec.oversubscription), node


def _estimate_parallel(spec, device, catalog, micro_batch, seq, gpus, global_batch, recipe, layout,
                       fabric, base_dir, gpu_hour_usd) -> dict:
    from simulator.costmodel.search import search_layouts
    from simulator.costmodel.training_plan import plan_training
    from simulator.scenario.schema import Layout

    comm, node = _comm_for(device, catalog, fabric, base_dir)
    if global_batch is None:
        global_batch = (micro_batch or 1) * gpus
    if layout == "auto":
        chosen = "auto"
    else:
        chosen = Layout.model_validate(dict(layout) if layout else {"dp": gpus}).resolve(gpus, micro_batch)
    plan = plan_training(spec, device, gpus, global_batch, micro_batch, seq, recipe, chosen, comm)
    step, power, clock = plan.nominal()
    out = {
        "model": spec.name, "accelerator": device.name, "node": node.name, "gpus": gpus,
        "layout": plan.layout_dict(), "layout_name": plan.layout.name,
        "layouts_evaluated": plan.layouts_evaluated,
        "step_time_s": step, "peak_memory_bytes": plan.peak_memory_bytes,
        "usable_memory_bytes": plan.usable_memory_bytes,
        "tokens_per_s": plan.tokens_per_step / step, "model_flops_per_step": plan.model_flops_per_step,
        "mfu": plan.mfu, "avg_power_w": power, "clock_fraction": clock,
        "energy_per_step_j": power * gpus * step, "global_batch": global_batch,
        "breakdown": {k: v for k, v in plan.breakdown.items()
                      if k not in ("step_time_s", "power_w", "peak_memory_bytes")},
    }
    if gpu_hour_usd is not None:
        out["cheapest"] = _cheapest(spec, device, gpus, global_batch, seq, recipe, comm, micro_batch,
                                    gpu_hour_usd, search_layouts)
        out["usd_per_mtoken"] = gpu_hour_usd / 3600.0 * gpus * step / plan.tokens_per_step * 1e6
    return out


def _cheapest(spec, device, gpus, global_batch, seq, recipe, comm, micro_batch, gpu_hour_usd, search):
    """The GPU count (a power of two times the scale-up domain, up to ``gpus``) and layout with
    the lowest GPU-hour cost per token."""
    counts = sorted({n for n in (comm.scaleup_domain * 2**k for k in range(24)) if n <= gpus} | {gpus})
    best = None
    for n in counts:
        if global_batch % n and global_batch % max(n // comm.scaleup_domain, 1):
            continue
        found = search(spec, device, n, global_batch, seq, recipe, comm,
                       micro_batches=(micro_batch,) if micro_batch else None, top=1)
        if found.best is None:
            continue
        step = found.ranking[0][0]
        usd = gpu_hour_usd / 3600.0 * n * step / (global_batch * seq) * 1e6
        if best is None or usd < best["usd_per_mtoken"]:
            best = {"gpus": n, "layout": found.best.as_dict(), "step_time_s": step, "usd_per_mtoken": usd}
    return best


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


def estimate_serve(model: str | ModelSpec, accelerator: str, gpus_per_replica: int = 1, prompt: int = 1024,
                   output: int = 256, max_batch: int = 64, rate_per_s: float | None = None,
                   ttft_s: float = 2.0, tpot_s: float = 0.1, slo_share: float = 0.99, dtype: str = "bf16",
                   gpu_hour_usd: float | None = None, catalog: Catalog | None = None,
                   base_dir: Path | None = None) -> dict:
    """A continuously batched replica of ``gpus_per_replica`` accelerators at full power: its
    capacity, and with ``rate_per_s`` the fewest replicas that keep TPOT within ``tpot_s`` and
    at least ``slo_share`` of requests within ``ttft_s`` (engine/queueing.py closed forms)."""
    from simulator.costmodel.comm import CommModel
    from simulator.costmodel.serving_plan import plan_serving
    from simulator.engine.queueing import capacity_per_s, share_within
    from simulator.engine.serving import replica_point

    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = _device(accelerator, catalog)
    node = next((n for n in catalog.nodes.entries if n.accelerator == device.name), None)
    if node is None:
        raise InputError([Problem("accelerator", f"no catalog node holds {device.name}")])
    plan = plan_serving(spec, device, CommModel.for_node(node, device.spec), gpus_per_replica, prompt, output,
                        max_batch, dtype)
    at = plan.at_cap(device.spec.tdp)
    per_replica = capacity_per_s(at.prefill_s, float(at.decode_s[-1]), output, max_batch)
    full = replica_point(at, per_replica, per_replica, output, plan.idle_power_w)[0]
    result = {
        "model": spec.name, "accelerator": device.name, "gpus_per_replica": gpus_per_replica,
        "prefill_s": at.prefill_s, "tpot_full_batch_s": full.tpot_s,
        "capacity_per_replica_per_s": per_replica, "output_tokens_per_s_per_replica": per_replica * output,
        "memory_per_gpu_bytes": plan.memory_bytes, "usable_memory_per_gpu_bytes": plan.usable_memory_bytes,
    }
    if rate_per_s is None:
        return result
    replicas = max(math.ceil(rate_per_s / per_replica - 1e-12), 1)
    for _ in range(100_000):
        point, power = replica_point(at, rate_per_s / replicas, per_replica, output, plan.idle_power_w)
        within = share_within(ttft_s - at.prefill_s, point.prefill_wait_s, point.prefill_share)
        if point.tpot_s <= tpot_s and within >= slo_share and rate_per_s / replicas < per_replica:
            break
        if (point.tpot_s > tpot_s and point.batch <= 1.0 + 1e-9) or at.prefill_s > ttft_s:
            raise InputError([Problem("--tpot" if at.prefill_s <= ttft_s else "--ttft",
                                      "no number of replicas meets this target: one request alone takes "
                                      f"{point.tpot_s * 1e3:.1f} ms per token and {at.prefill_s * 1e3:.0f} ms "
                                      "to its first token")])
        replicas += 1
    else:
        raise InputError([Problem("--rate", f"more than 100,000 replicas needed for {rate_per_s:g} requests/s")])
    result.update({
        "rate_per_s": rate_per_s, "replicas": replicas, "gpus": replicas * gpus_per_replica,
        "batch": point.batch, "tpot_s": point.tpot_s, "ttft_mean_s": at.prefill_s + point.prefill_wait_s,
        "slo_share": within, "utilisation": rate_per_s / (replicas * per_replica), "board_power_w": power,
    })
    if gpu_hour_usd is not None:
        tokens_per_hour = rate_per_s * output * 3600.0
        result["usd_per_mtoken"] = replicas * gpus_per_replica * gpu_hour_usd / (tokens_per_hour / 1e6)
    return result


# ----------------------------------------------------------------------------- simulation
def load_scenario(source, base_dir: Path | None = None):
    """A validated scenario from a YAML path, YAML text or a dict (see scenario/load.py)."""
    from simulator.scenario.load import load_scenario as _load

    return _load(source, base_dir=base_dir)


class Result:
    """What one run produced, as pandas objects: ``summary`` and ``costs`` (Series of headline
    numbers; the plain dicts are ``summary_dict`` and ``costs_dict``), ``timeseries``, ``jobs``
    ``services`` and ``progress`` (DataFrames, columns in docs/outputs.md)."""

    def __init__(self, scenario, summary: dict, costs: dict, timeseries, jobs, progress, services=None,
                 record=None):
        import pandas as pd

        from simulator.report.frames import SERVICE_COLUMNS

        self.scenario = scenario
        self.record = record
        self.summary_dict = summary
        self.costs_dict = costs
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

    def files(self) -> dict[str, object]:
        """Every output file's content, by name (see docs/outputs.md)."""
        from simulator.report.html import render_html
        from simulator.report.writer import dumps

        title = f"dcsim: {self.summary_dict['scenario']}"
        return {
            "summary.json": dumps(self.summary_dict),
            "costs.json": dumps(self.costs_dict),
            "timeseries.parquet": self.timeseries,
            "jobs.parquet": self.jobs,
            "services.parquet": self.services,
            "progress.parquet": self.progress,
            "scenario.json": dumps(self.scenario.scenario.model_dump(mode="json")),
            "report.html": render_html(self.summary_dict, self.costs_dict, self.timeseries, self.jobs,
                                       self.progress, title, services=self.services),
        }

    def write(self, out_dir, force: bool = False) -> Path:
        """Write all outputs into ``out_dir`` atomically (complete or absent)."""
        from simulator.report.writer import write_outputs

        return write_outputs(out_dir, self.files(), force=force)

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

    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    record, baselines = run_with_baselines(loaded, progress)
    timeseries = timeseries_frame(record)
    jobs = jobs_frame(record)
    services = services_frame(record)
    summary = summary_report(loaded.scenario, record, timeseries, jobs, services, baselines)
    costs = cost_report(loaded.scenario, loaded.catalog, record, summary, jobs, services, timeseries)
    return Result(loaded, summary, costs, timeseries, jobs, progress_frame(record), services, record=record)
