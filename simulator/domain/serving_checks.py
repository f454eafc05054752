"""Checks of a serving deployment's choices that need no cost model, shared by the estimates
(each problem named by its flag) and the scenario checks (named by its key): the precision
recipe on an accelerator, the engine's name, speculative decoding, prefix caching, tensor
parallelism."""

from __future__ import annotations

from simulator.domain.catalog import Catalog
from simulator.domain.precision import ServingPrecision, serving_precision
from simulator.domain.specs import AcceleratorSpec, EngineSpec, ModelSpec
from simulator.errors import InputError, Problem

DEFAULT_ENGINE = "tensorrt-llm"


def matmul_params(model: ModelSpec) -> float:
    """Weights of the layers and the embeddings (for comparing a draft with its target)."""
    h, a, g, d, f = model.hidden, model.heads, model.n_kv_heads, model.d_head, model.d_ffn
    mats = 3 if model.mlp == "swiglu" else 2
    return float(model.layers * (h * (a + 2 * g) * d + a * d * h + mats * h * f * model.experts)
                 + model.vocab * h)


def precision_for(weights: str, activations: str | None, kv: str | None, accel: AcceleratorSpec,
                  paths: dict[str, str]) -> tuple[ServingPrecision | None, list[Problem]]:
    """The recipe on ``accel``, or one Problem per bad part (``paths`` names each part's flag or key)."""
    prec, issues = serving_precision(weights, activations, kv, tuple(accel.peak_flops))
    problems = [Problem(paths[which], f"{message} ({accel.name})",
                        {"weights": weights, "activations": activations, "kv": kv}[which])
                for which, message in issues]
    return prec, problems


def engine_for(name: str | None, catalog: Catalog, path: str) -> tuple[EngineSpec | None, list[Problem]]:
    """The engine called ``name`` (default tensorrt-llm), or the problem."""
    try:
        return catalog.engines.get(name or DEFAULT_ENGINE, path), []
    except InputError as err:
        return None, list(err.problems)


def speculation_problems(model: ModelSpec, draft: ModelSpec | None, draft_tokens: int, acceptance: float,
                         paths: dict[str, str]) -> list[Problem]:
    """Acceptance outside [0, 1], no draft tokens, or a draft at least as large as the target."""
    problems = []
    if not 0.0 <= acceptance <= 1.0:
        problems.append(Problem(paths["acceptance"], "an acceptance rate is a share of draft tokens: 0 to 1",
                                acceptance))
    if draft_tokens < 1:
        problems.append(Problem(paths["draft_tokens"], "at least one draft token per step", draft_tokens))
    if draft is not None and matmul_params(draft) >= matmul_params(model):
        problems.append(Problem(paths["draft"], f"the draft model ({draft.name}, {matmul_params(draft) / 1e9:.1f}B "
                                                f"parameters) must be smaller than the target ({model.name}, "
                                                f"{matmul_params(model) / 1e9:.1f}B)", draft.name))
    elif draft is not None and draft.vocab != model.vocab:
        problems.append(Problem(paths["draft"], f"the draft model's vocabulary ({draft.vocab}) differs from the "
                                                f"target's ({model.vocab})", draft.name))
    return problems


def prefix_problems(hit: float, path: str) -> list[Problem]:
    """A prefix-cache hit ratio outside [0, 1]."""
    if not 0.0 <= hit <= 1.0:
        return [Problem(path, "a prefix-cache hit ratio is a share of prompt tokens: 0 to 1", hit)]
    return []


def tp_problems(model: ModelSpec, tp: int, domain: int, path: str) -> list[Problem]:
    """Tensor parallelism within the scale-up domain, dividing the attention heads."""
    problems = []
    if tp > domain:
        problems.append(Problem(path, f"{tp} accelerators per replica but the scale-up domain holds {domain} "
                                      "(tensor parallelism stays within it)", tp))
    if model.heads % tp:
        problems.append(Problem(path, f"{tp} does not divide the {model.heads} attention heads of {model.name}", tp))
    return problems


def settings_problems(utilisation: float | None, max_tokens: int | None, paths: dict[str, str]) -> list[Problem]:
    """A memory share outside (0, 1], a token budget below one."""
    problems = []
    if utilisation is not None and not 0.0 < utilisation <= 1.0:
        problems.append(Problem(paths["gpu_memory_utilization"], "a share of device memory: above 0, at most 1",
                                utilisation))
    if max_tokens is not None and max_tokens < 1:
        problems.append(Problem(paths["max_num_batched_tokens"], "at least one token per iteration", max_tokens))
    return problems
