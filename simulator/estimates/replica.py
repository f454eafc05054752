"""One checked serving replica from estimate inputs (model, accelerator, engine, precisions,
memory and batch settings, lengths, prefix caching, speculative decoding), every bad input
reported at once by its flag; shared by the colocated and the disaggregated estimates."""

from __future__ import annotations

from pathlib import Path

from simulator.costmodel.comm import CommModel
from simulator.costmodel.serving_replica import EngineSettings, Replica, Speculation
from simulator.costmodel.serving_workload import read_lengths_csv, workload_for
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.model_ref import resolve_model
from simulator.domain.serving_checks import (
    engine_for,
    precision_for,
    prefix_problems,
    settings_problems,
    speculation_problems,
    tp_problems,
)
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem
from simulator.estimates.inputs import device_model, node_for

FLAGS = {"weights": "--precision", "activations": "--activations", "kv": "--kv-precision",
         "gpu_memory_utilization": "--gpu-memory-utilization", "max_num_batched_tokens": "--max-num-batched-tokens",
         "acceptance": "--acceptance", "draft_tokens": "--draft-tokens", "draft": "--draft-model",
         "prefix": "--prefix-cache-hit", "engine": "--engine", "tp": "--gpus-per-replica"}


def build_replica(model: str | ModelSpec, accelerator: str, gpus_per_replica: int = 1, prompt: int = 1024,
                  output: int = 256, max_batch: int | None = None, dtype: str = "bf16", catalog: Catalog | None = None,
                  base_dir: Path | None = None, *, kv_precision: str | None = None, activations: str | None = None,
                  engine: str | None = None, gpu_memory_utilization: float | None = None,
                  max_num_seqs: int | None = None, max_num_batched_tokens: int | None = None,
                  block_size: int | None = None, chunked_prefill: bool | None = None, prompt_sigma: float = 0.0,
                  output_sigma: float = 0.0, lengths: str | Path | None = None, prefix_cache_hit: float = 0.0,
                  draft_model: str | ModelSpec | None = None, draft_tokens: int | None = None,
                  acceptance: float | None = None, mtp_layers: int | None = None, phase: int = 0,
                  paths: dict | None = None) -> Replica:
    """A checked replica (every bad input reported at once, each by its flag)."""
    paths = {**FLAGS, **(paths or {})}
    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = device_model(accelerator, catalog)
    problems: list[Problem] = []
    prec, found = precision_for(dtype, activations, kv_precision, device.spec, paths)
    problems += found
    eng, found = engine_for(engine, catalog, paths["engine"])
    problems += found
    problems += prefix_problems(prefix_cache_hit, paths["prefix"])
    node = node_for(device.name, catalog)
    problems += tp_problems(spec, gpus_per_replica, CommModel.for_node(node, device.spec).scaleup_domain, paths["tp"])
    draft = None
    spec_cfg = None
    if draft_model is not None or draft_tokens is not None or acceptance is not None or mtp_layers is not None:
        if draft_model is not None:
            draft = resolve_model(draft_model, catalog, base_dir, path=paths["draft"])
        k = 3 if draft_tokens is None else draft_tokens
        a = 0.7 if acceptance is None else acceptance
        problems += speculation_problems(spec, draft, k, a, paths)
        spec_cfg = Speculation(k, a, draft, mtp_layers or 1)
    if eng is not None:
        problems += settings_problems(gpu_memory_utilization, max_num_batched_tokens, paths)
    if problems:
        raise InputError(problems)
    assert prec is not None and eng is not None
    settings = EngineSettings.of(eng, gpu_memory_utilization, max_num_seqs or max_batch, max_num_batched_tokens,
                                 block_size, chunked_prefill)
    work = read_lengths_csv(Path(lengths), paths.get("lengths", "--lengths")) if lengths is not None \
        else workload_for(prompt, output, prompt_sigma, output_sigma)
    return Replica(spec, device, CommModel.for_node(node, device.spec), gpus_per_replica, prec, settings, work,
                   prefix_cache_hit, spec_cfg, phase)
