"""`dcsim estimate prefill|decode`: one inference iteration of a replica of ``tp`` accelerators,
behind one ``phase`` argument (costmodel/serving.py): prefill runs a batch of prompts, decode one
token for a batch of sequences with their KV caches; in a precision recipe (weights, activations,
KV cache) and with an engine's per-iteration costs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from simulator.costmodel.comm import CommModel
from simulator.costmodel.serving import ServeEstimate, estimate_decode, estimate_prefill
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.model_ref import resolve_model
from simulator.domain.serving_checks import engine_for, precision_for, tp_problems
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError
from simulator.estimates.inputs import device_model, node_for

Phase = Literal["prefill", "decode"]
# One iteration of the model on its own, as single-GPU measurements run it (eager prefill, decode
# in a CUDA graph, no scheduler): a served replica's engine is chosen with ``engine``.
ITERATION_ENGINE = "pytorch"
PHASES: tuple[Phase, ...] = ("prefill", "decode")


@dataclass(frozen=True)
class InferenceResult:
    """One iteration: ``tokens`` is the prompt length (prefill) or the cached context (decode)."""

    phase: Phase
    model: str
    accelerator: str
    engine: str
    tp: int
    precision: str
    activations: str
    kv_precision: str
    batch: int
    tokens: int
    step: ServeEstimate

    def to_dict(self) -> dict:
        """SI numbers; the iteration's time is ``latency_s`` for prefill (time to first token
        without queueing) and ``step_time_s`` for decode. Memory and power are per accelerator."""
        s = self.step
        time_key = "latency_s" if self.phase == "prefill" else "step_time_s"
        return {time_key: s.time_s, "tokens_per_s": s.tokens_per_s, "flops": s.flops,
                "kv_cache_bytes": s.kv_cache_bytes, "weights_bytes": s.weights_bytes,
                "peak_memory_bytes": s.peak_memory_bytes, "avg_power_w": s.avg_power_w, "energy_j": s.energy_j,
                "model": self.model, "accelerator": self.accelerator, "engine": self.engine, "tp": self.tp,
                "precision": self.precision, "activations": self.activations, "kv_precision": self.kv_precision}


def estimate_inference(model: str | ModelSpec, accelerator: str, phase: Phase, batch: int, tokens: int,
                       dtype: str = "bf16", catalog: Catalog | None = None, base_dir: Path | None = None,
                       check_fit: bool = True, *, tp: int = 1, kv_precision: str | None = None,
                       activations: str | None = None, engine: str | None = None) -> InferenceResult:
    """A prefill of ``batch`` prompts of ``tokens`` tokens, or a decode step of ``batch``
    sequences at ``tokens`` cached tokens, on ``tp`` accelerators, run by ``engine`` (default
    ``ITERATION_ENGINE``: the bare model)."""
    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = device_model(accelerator, catalog)
    paths = {"weights": "--precision", "activations": "--activations", "kv": "--kv-precision"}
    prec, problems = precision_for(dtype, activations, kv_precision, device.spec, paths)
    eng, found = engine_for(engine or ITERATION_ENGINE, catalog, "--engine")
    problems += found
    comm = CommModel.for_node(node_for(device.name, catalog), device.spec)
    problems += tp_problems(spec, tp, comm.scaleup_domain, "--tp")
    if problems:
        raise InputError(problems)
    assert prec is not None and eng is not None
    run = estimate_prefill if phase == "prefill" else estimate_decode
    step = run(spec, device, comm, tp, prec, eng, batch, tokens, check_fit=check_fit)
    return InferenceResult(phase, spec.name, device.name, eng.name, tp, prec.weights, prec.activations, prec.kv,
                           batch, tokens, step)
