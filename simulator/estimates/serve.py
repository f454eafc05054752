"""`dcsim estimate serve`: a serving replica as its engine schedules it (costmodel/serving_sim.py,
the same simulation the engine's inference services replay): its maximum sustained throughput
at the batch its KV budget admits; closed-loop latency and throughput at N concurrent clients;
and, for a request rate, the fewest replicas that meet time-per-token and time-to-first-token
targets (costmodel/serving_plan.py load curve, costmodel/queueing.py tail)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from simulator.costmodel.queueing import share_within
from simulator.costmodel.serving_plan import concurrency_grid, load_curve
from simulator.costmodel.serving_replica import LoadPoint, Replica
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem
from simulator.estimates.disaggregated import DisaggregatedResult, estimate_disaggregated
from simulator.estimates.replica import build_replica

MAX_REPLICAS = 100_000


@dataclass(frozen=True)
class ReplicaSizing:
    """The fewest replicas that meet the targets at a request rate, and their operating point."""

    rate_per_s: float
    replicas: int
    gpus: int
    batch: float
    tpot_s: float
    ttft_mean_s: float
    slo_share: float
    utilisation: float
    board_power_w: float
    usd_per_mtoken: float | None


def _load_dict(p: LoadPoint) -> dict:
    return {"concurrency": p.clients, "ttft_mean_s": p.ttft_mean_s, "ttft_p99_s": p.ttft_p99_s,
            "tpot_mean_s": p.tpot_mean_s, "tpot_p99_s": p.tpot_p99_s,
            "output_tokens_per_s_per_replica": p.output_tokens_per_s, "requests_per_s_per_replica": p.requests_per_s,
            "batch": p.running_mean, "board_power_w": p.board_power_w,
            "preemptions_per_request": p.preemptions_per_request}


@dataclass(frozen=True)
class ServeResult:
    """A replica's maximum sustained throughput; with concurrencies, its closed-loop curve; with
    a rate, its sizing."""

    model: str
    accelerator: str
    engine: str
    engine_version: str
    gpus_per_replica: int
    precision: str
    activations: str
    kv_precision: str
    prefill_s: float
    tpot_full_batch_s: float
    batch: float
    capacity_per_replica_per_s: float
    output_tokens_per_s_per_replica: float
    preemptions_per_request: float
    board_power_w: float
    memory: dict
    hbm_bytes: float
    features: dict = field(default_factory=dict)
    curve: tuple[LoadPoint, ...] = ()
    sizing: ReplicaSizing | None = None
    disaggregated: DisaggregatedResult | None = None

    def to_dict(self) -> dict:
        m = self.memory
        out = {
            "model": self.model, "accelerator": self.accelerator, "engine": self.engine,
            "engine_version": self.engine_version, "gpus_per_replica": self.gpus_per_replica,
            "precision": self.precision, "activations": self.activations, "kv_precision": self.kv_precision,
            "prefill_s": self.prefill_s, "tpot_full_batch_s": self.tpot_full_batch_s, "batch": self.batch,
            "capacity_per_replica_per_s": self.capacity_per_replica_per_s,
            "requests_per_s_per_replica": self.capacity_per_replica_per_s,
            "output_tokens_per_s_per_replica": self.output_tokens_per_s_per_replica,
            "preemptions_per_request": self.preemptions_per_request, "board_power_w": self.board_power_w,
            "kv_cache_tokens": m["kv_cache_tokens"], "kv_cache_bytes_per_gpu": m["kv_cache_bytes"],
            "weights_bytes_per_gpu": m["weights_bytes"], "activation_bytes_per_gpu": m["activation_bytes"],
            "runtime_reserve_bytes_per_gpu": m["runtime_reserve_bytes"],
            "memory_per_gpu_bytes": m["weights_bytes"] + m["activation_bytes"] + m["runtime_reserve_bytes"]
            + m["kv_cache_bytes"],
            "hbm_per_gpu_bytes": self.hbm_bytes,
            **self.features,
        }
        if self.curve:
            points = [_load_dict(p) for p in self.curve]
            out["curve"] = points
            if len(points) == 1:
                out.update({k: v for k, v in points[0].items() if k not in ("batch", "board_power_w")})
        if self.sizing is not None:
            sized = dict(vars(self.sizing))
            if sized["usd_per_mtoken"] is None:
                del sized["usd_per_mtoken"]
            out.update(sized)
        if self.disaggregated is not None:
            out.update(self.disaggregated.to_dict())
        return out


def estimate_serve(model: str | ModelSpec, accelerator: str, gpus_per_replica: int = 1, prompt: int = 1024,
                   output: int = 256, max_batch: int | None = None, rate_per_s: float | None = None,
                   ttft_s: float = 2.0, tpot_s: float = 0.1, slo_share: float = 0.99, dtype: str = "bf16",
                   gpu_hour_usd: float | None = None, catalog: Catalog | None = None, base_dir: Path | None = None,
                   concurrency: list[int] | tuple[int, ...] | None = None, disaggregation: dict | None = None,
                   **options) -> ServeResult:
    """A replica of ``gpus_per_replica`` accelerators at full power: its maximum sustained
    throughput; with ``concurrency`` its closed-loop curve; with ``rate_per_s`` the fewest
    replicas that keep TPOT within ``tpot_s`` and at least ``slo_share`` of requests within
    ``ttft_s``. ``options``: see ``build_replica`` (engine, precisions, memory and batch
    settings, length distributions, prefix caching, speculative decoding)."""
    catalog = catalog or shipped_catalog()
    if disaggregation is not None:
        return estimate_disaggregated(model, accelerator, gpus_per_replica, prompt, output, max_batch, dtype, catalog,
                                      base_dir, disaggregation, rate_per_s, options, _result)
    replica = build_replica(model, accelerator, gpus_per_replica, prompt, output, max_batch, dtype, catalog, base_dir,
                            **options)
    cap = float(replica.device.spec.tdp)
    full = replica.saturated(cap)
    alone = replica.alone(cap)
    curve = tuple(replica.run(cap, int(c)) for c in concurrency) if concurrency else ()
    result = _result(replica, full, alone, curve)
    if rate_per_s is None:
        return result
    return _with_sizing(result, replica, full, rate_per_s, ttft_s, tpot_s, slo_share, gpu_hour_usd)


def _result(replica: Replica, full: LoadPoint, alone: LoadPoint, curve: tuple = ()) -> ServeResult:
    prec, s = replica.prec, replica.settings
    features: dict[str, object] = {"prefix_cache_hit": replica.prefix_cache_hit, "max_num_seqs": s.max_num_seqs,
                "max_num_batched_tokens": s.max_num_batched_tokens, "gpu_memory_utilization": s.gpu_memory_utilization,
                "chunked_prefill": s.chunked_prefill, "mean_prompt_tokens": replica.workload.mean_prompt,
                "mean_output_tokens": replica.workload.mean_output}
    if replica.speculation is not None:
        sp = replica.speculation
        features.update({"draft_model": sp.draft.name if sp.draft is not None else f"mtp-{sp.draft_layers}-layer",
                         "draft_tokens": sp.draft_tokens, "acceptance": sp.acceptance,
                         "tokens_per_step": sp.tokens_per_step})
    return ServeResult(
        replica.model.name, replica.device.name, s.engine.name, s.engine.version, replica.tp, prec.weights,
        prec.activations, prec.kv, alone.ttft_mean_s, full.tpot_mean_s, full.running_mean, full.requests_per_s,
        full.output_tokens_per_s, full.preemptions_per_request, full.board_power_w, replica.budget.as_dict(),
        replica.budget.hbm_bytes, features, curve)


def _with_sizing(result: ServeResult, replica: Replica, full: LoadPoint, rate_per_s: float, ttft_s: float,
                 tpot_s: float, slo_share: float, gpu_hour_usd: float | None) -> ServeResult:
    cap = float(replica.device.spec.tdp)
    curve = load_curve(replica, cap, full, concurrency_grid(min(full.running_mean, replica.settings.max_num_seqs)))
    per_replica = curve.capacity_per_s
    prefill = curve.prefill_s
    replicas = max(math.ceil(rate_per_s / per_replica - 1e-12), 1)
    for _ in range(MAX_REPLICAS):
        point, power = curve.point(rate_per_s / replicas)
        within = share_within(ttft_s - prefill, point.prefill_wait_s, point.prefill_share)
        if point.tpot_s <= tpot_s and within >= slo_share and rate_per_s / replicas < per_replica:
            break
        if (point.tpot_s > tpot_s and point.batch <= 1.0 + 1e-9) or prefill > ttft_s \
                or (point.tpot_s > tpot_s and rate_per_s / replicas <= curve.rate_per_s[1]):
            raise InputError([Problem("--tpot" if prefill <= ttft_s else "--ttft",
                                      "no number of replicas meets this target: one request alone takes "
                                      f"{point.tpot_s * 1e3:.1f} ms per token and {prefill * 1e3:.0f} ms "
                                      "to its first token")])
        replicas += 1
    else:
        raise InputError([Problem("--rate", f"more than 100,000 replicas needed for {rate_per_s:g} requests/s")])
    usd = None
    output = replica.workload.mean_output
    if gpu_hour_usd is not None:
        tokens_per_hour = rate_per_s * output * 3600.0
        usd = replicas * replica.tp * gpu_hour_usd / (tokens_per_hour / 1e6)
    sizing = ReplicaSizing(rate_per_s, replicas, replicas * replica.tp, point.batch, point.tpot_s,
                           prefill + point.prefill_wait_s, within, rate_per_s / (replicas * per_replica), power, usd)
    return replace(result, sizing=sizing)
