"""Search every valid parallel layout of a job for the fastest one that fits in memory.

Candidates: tp dividing the heads within the scale-up domain, pp dividing the layers (with
interleaving where the chunks divide evenly), dp the rest, micro-batch sizes dividing the
per-replica batch, ZeRO 0/1/3, sequence parallelism on/off, ep dividing the experts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.scenario.specs import ModelSpec

MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
INTERLEAVES = (1, 2, 4)
ZERO_STAGES = (0, 1, 3)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def candidate_layouts(model: ModelSpec, gpus: int, global_batch: int, domain: int,
                      micro_batches: tuple[int, ...] | None = None) -> list[dict]:
    """Every layout that divides evenly (validity, not memory)."""
    out = []
    for tp in divisors(gpus):
        if tp > domain or domain % tp or model.heads % tp:
            continue
        for pp in divisors(gpus // tp):
            if pp > model.layers or model.layers % pp:
                continue
            dp = gpus // (tp * pp)
            for v in INTERLEAVES:
                if v > 1 and (pp == 1 or model.layers % (pp * v)):
                    continue
                for b in micro_batches or MICRO_BATCHES:
                    if global_batch % (b * dp):
                        continue
                    m = global_batch // (b * dp)
                    if v > 1 and m % pp:
                        continue
                    for ep in (divisors(model.experts) if model.experts > 1 else [1]):
                        if ep > dp * tp:
                            continue
                        for zero in ZERO_STAGES:
                            if zero and dp == 1:
                                continue
                            for sp in ((0, 1) if tp > 1 else (0,)):
                                out.append({"tp": tp, "pp": pp, "dp": dp, "ep": ep, "zero": zero,
                                            "interleave": v, "sp": sp, "micro_batch": b})
    return out


@dataclass
class SearchResult:
    """The fastest feasible layout (or None), how many were evaluated, the ranking."""

    best: dict | None
    evaluated: int
    feasible: int
    min_memory_bytes: float
    ranking: list[tuple[float, dict]] = field(default_factory=list)


def search_layouts(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
                   precision_name: str, recompute: str, optimizer: str, comm,
                   micro_batches: tuple[int, ...] | None = None, top: int = 10) -> SearchResult:
    """Evaluate every candidate layout; keep those whose peak memory fits the usable HBM."""
    from simulator.costmodel.parallel import evaluate

    usable = mem.usable_bytes(device.spec.hbm)
    candidates = candidate_layouts(model, gpus, global_batch, comm.scaleup_domain, micro_batches)
    ranking: list[tuple[float, dict]] = []
    min_mem = float("inf")
    for layout in candidates:
        r = evaluate(model, device, gpus, global_batch, seq, layout, precision_name, recompute,
                     optimizer, comm)
        min_mem = min(min_mem, r["peak_memory_bytes"])
        if r["peak_memory_bytes"] <= usable:
            ranking.append((r["step_time_at_tdp_s"], layout))
    ranking.sort(key=lambda x: (x[0], x[1]["tp"], x[1]["pp"], x[1]["micro_batch"]))
    best = ranking[0][1] if ranking else None
    return SearchResult(best, len(candidates), len(ranking), min_mem, ranking[:top])
