"""An inference service's serving costs, planned once before the event loop: its replica as its
engine runs it (costmodel/serving_replica.py: precision, engine settings, request lengths,
prefix caching, speculative decoding), tabulated over power caps and loads
(costmodel/serving_plan.py); a disaggregated service's two pools combined into one deployment
(costmodel/serving_disagg.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving_disagg import disaggregated_plan
from simulator.costmodel.serving_plan import ServingPlan, plan_serving
from simulator.costmodel.serving_replica import EngineSettings, Replica, Speculation, Workload
from simulator.costmodel.serving_workload import read_lengths_csv, workload_for
from simulator.domain.catalog import Catalog
from simulator.domain.model_ref import resolve_model
from simulator.domain.serving_checks import engine_for, precision_for
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError
from simulator.scenario.schema import InferenceService, LengthDistribution


@dataclass(frozen=True)
class ServiceCosts:
    """What a service replays: its plan, the units the engine counts (replicas, or the whole
    disaggregated deployment as one), and what the report states about it."""

    plan: ServingPlan
    units: int
    unit_gpus: int
    mean_output_tokens: float
    engine: str
    precision: str
    kv_precision: str
    kv_cache_tokens: int
    tokens_per_step: float
    disaggregated: str


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def service_workload(svc: InferenceService, base_dir: Path, path: str) -> Workload:
    """The request lengths a service's replicas cycle through (seeded draws from distributions)."""
    if svc.lengths_csv is not None:
        return read_lengths_csv(base_dir / svc.lengths_csv, _key(path, "lengths_csv"))
    def draw(length) -> tuple[float, float]:
        if isinstance(length, LengthDistribution):
            return length.mean, (length.sigma if length.dist == "lognormal" else 0.0)
        return float(length), 0.0

    (pm, ps), (om, os_) = draw(svc.prompt_tokens), draw(svc.output_tokens)
    return workload_for(pm, om, ps, os_)


def service_replica(svc: InferenceService, model: ModelSpec, device: DeviceModel, comm: CommModel, catalog: Catalog,
                    base_dir: Path, path: str, tp: int, phase: int = 0) -> Replica:
    """One replica of ``svc`` (its choices were checked by scenario/check.py)."""
    prec, problems = precision_for(svc.precision, svc.activations, svc.kv_precision, device.spec,
                                   {"weights": _key(path, "precision"), "activations": _key(path, "activations"),
                                    "kv": _key(path, "kv_precision")})
    engine, found = engine_for(svc.engine, catalog, _key(path, "engine"))
    if problems or found:
        raise InputError(problems + found)
    assert prec is not None and engine is not None
    settings = EngineSettings.of(engine, svc.gpu_memory_utilization, svc.seqs_limit, svc.max_num_batched_tokens, None,
                                 svc.chunked_prefill)
    speculation = None
    if svc.speculative is not None:
        sp = svc.speculative
        draft = resolve_model(sp.draft, catalog, base_dir, _key(path, "speculative.draft")) if sp.draft is not None \
            else None
        speculation = Speculation(sp.draft_tokens, sp.acceptance, draft, sp.mtp_layers)
    return Replica(model, device, comm, tp, prec, settings, service_workload(svc, base_dir, path),
                   svc.prefix_cache_hit, speculation, phase)


def plan_service_costs(svc: InferenceService, model: ModelSpec, device: DeviceModel, comm: CommModel,
                       catalog: Catalog, base_dir: Path, path: str) -> ServiceCosts:
    """A service's plan (DoesNotFitError when one request's KV cache cannot fit a replica)."""
    d = svc.disaggregation
    if d is None:
        replica = service_replica(svc, model, device, comm, catalog, base_dir, path, svc.gpus_per_replica)
        plan = plan_serving(replica)
        units, unit_gpus, label = svc.replicas, svc.gpus_per_replica, ""
    else:
        replica = service_replica(svc, model, device, comm, catalog, base_dir, path, d.decode.gpus_per_replica, 2)
        prefill = service_replica(svc, model, device, comm, catalog, base_dir, path, d.prefill.gpus_per_replica, 1)
        same = d.prefill.gpus_per_replica + d.decode.gpus_per_replica <= comm.scaleup_domain
        plan = disaggregated_plan(prefill, replica, d.prefill.replicas, d.decode.replicas, comm, same)
        units, unit_gpus = 1, svc.gpus
        label = (f"prefill {d.prefill.replicas} x {d.prefill.gpus_per_replica}, "
                 f"decode {d.decode.replicas} x {d.decode.gpus_per_replica}")
    spec = replica.speculation
    return ServiceCosts(plan, units, unit_gpus, replica.workload.mean_output, replica.settings.engine.name,
                        replica.prec.weights, replica.prec.kv, replica.budget.kv_tokens,
                        spec.tokens_per_step if spec is not None else 1.0, label)
