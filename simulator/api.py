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
