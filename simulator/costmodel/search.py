"""Search every valid parallel layout of a job for the fastest one that fits in memory.

Candidates: tp dividing both the heads and the scale-up domain, pp dividing the layers (with
interleaving where chunks divide evenly and micro-batches fill the pipeline), dp the rest,
micro-batch sizes dividing the per-replica batch, ZeRO 0/1/3, sequence parallelism on/off,
ep dividing the experts. Enumeration and evaluation are Numba kernels over arrays of layouts;
per-layer GPU times are computed once per distinct (tp, micro-batch, sp, ep) and shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.parallel import COST_LEN, EVAL_LEN, EvalCol, evaluate_layouts, job_vector, stage_costs
from simulator.costmodel.precision import Recipe
from simulator.costmodel.training import RECOMPUTE
from simulator.costmodel.transformer import model_vector
from simulator.domain.layout import LAYOUT_LEN, LayoutCol, ParallelLayout, divisors, layout_violations
from simulator.domain.specs import ModelSpec

MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
INTERLEAVES = (1, 2, 4)
ZERO_STAGES = (0, 1, 3)


# The one layout rule (domain/layout.py), compiled for the enumeration kernel.
_violations = njit(cache=True)(layout_violations)


@njit(cache=True)
def enumerate_layouts(gpus, domain, heads, layers, experts, global_batch, micro_batches,
                      interleaves, zeros, tp_options, ep_options):
    """Every layout that divides evenly, as rows of LAYOUT_LEN floats (validity, not memory)."""
    bound = (tp_options.shape[0] * tp_options.shape[0] * 64 * micro_batches.shape[0]
             * interleaves.shape[0] * zeros.shape[0] * ep_options.shape[0] * 2)
    out = np.zeros((bound, LAYOUT_LEN))
    n = 0
    for tp in tp_options:
        if gpus % tp != 0:
            continue
        rest = gpus // tp
        for pp in range(1, rest + 1):
            if rest % pp != 0:
                continue
            dp = rest // pp
            for v in interleaves:
                for b in micro_batches:
                    for ep in ep_options:
                        if _violations(tp, pp, dp, ep, v, b, gpus, domain, heads, layers, experts, global_batch):
                            continue
                        for zero in zeros:
                            if zero > 0 and dp == 1:
                                continue
                            for sp in range(2 if tp > 1 else 1):
                                if n >= bound:
                                    return out[:n]
                                row = out[n]
                                row[LayoutCol.TP] = tp
                                row[LayoutCol.PP] = pp
                                row[LayoutCol.DP] = dp
                                row[LayoutCol.EP] = ep
                                row[LayoutCol.ZERO] = zero
                                row[LayoutCol.V] = v
                                row[LayoutCol.SP] = sp
                                row[LayoutCol.MB] = b
                                n += 1
    return out[:n]


def candidate_array(model: ModelSpec, gpus: int, global_batch: int, domain: int,
                    micro_batches: tuple[int, ...] | None = None) -> np.ndarray:
    ep_options = divisors(model.experts) if model.experts > 1 else [1]
    return enumerate_layouts(
        gpus, domain, model.heads, model.layers, model.experts, global_batch,
        np.array(micro_batches or MICRO_BATCHES, dtype=np.int64), np.array(INTERLEAVES, dtype=np.int64),
        np.array(ZERO_STAGES, dtype=np.int64), np.array(divisors(domain), dtype=np.int64),
        np.array(ep_options, dtype=np.int64))


def candidate_layouts(model: ModelSpec, gpus: int, global_batch: int, domain: int,
                      micro_batches: tuple[int, ...] | None = None) -> list[ParallelLayout]:
    """Every layout that divides evenly (validity, not memory)."""
    return [ParallelLayout.from_row(r) for r in candidate_array(model, gpus, global_batch, domain, micro_batches)]


@dataclass
class SearchResult:
    """The fastest feasible layout (or None), how many were evaluated, the ranking."""

    best: ParallelLayout | None
    evaluated: int
    feasible: int
    min_memory_bytes: float
    ranking: list[tuple[float, ParallelLayout]] = field(default_factory=list)


@dataclass
class SearchInputs:
    """Everything the layout kernel needs: candidate rows (with cost indices), the shared
    per-(tp, micro-batch, sp, ep) stage costs, the job and device vectors, the topology."""

    layouts: np.ndarray
    costs: np.ndarray
    job: np.ndarray
    dv: np.ndarray
    tiers: np.ndarray
    domain: float

    def evaluate(self, layouts: np.ndarray | None = None) -> np.ndarray:
        rows = self.layouts if layouts is None else layouts
        out = np.zeros((len(rows), EVAL_LEN))
        evaluate_layouts(rows, self.costs, self.job, self.dv, self.tiers, self.domain, 1.0, out)
        return out


def prepare_search(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
                   recipe: Recipe, comm, micro_batches: tuple[int, ...] | None = None) -> SearchInputs:
    """Enumerate candidates and compute the stage costs they share."""
    layouts = candidate_array(model, gpus, global_batch, comm.scaleup_domain, micro_batches)
    prec = recipe.prec
    pv = recipe.vector()
    mv = model_vector(model)
    dv = device.vector(prec.compute_dtype, prec.attention_dtype)
    rc = RECOMPUTE[recipe.recompute]
    costs = np.zeros((0, COST_LEN))
    if len(layouts):
        shared = [LayoutCol.TP, LayoutCol.MB, LayoutCol.SP, LayoutCol.EP]
        keys, index = np.unique(layouts[:, shared], axis=0, return_inverse=True)
        layouts[:, LayoutCol.COST] = index.reshape(-1)
        costs = np.zeros((len(keys), COST_LEN))
        for k, (tp, b, sp, ep) in enumerate(keys):
            stage_costs(mv, pv, dv, float(b), float(seq), float(tp), float(sp), float(ep), rc, 1.0, costs[k])
    job = job_vector(model, recipe, global_batch, seq, device.spec.tdp)
    return SearchInputs(layouts, costs, job, dv, comm.tiers, float(comm.scaleup_domain))


def search_layouts(model: ModelSpec, device: DeviceModel, gpus: int, global_batch: int, seq: int,
                   recipe: Recipe, comm, micro_batches: tuple[int, ...] | None = None,
                   top: int = 10) -> SearchResult:
    """Evaluate every candidate layout; rank those whose peak memory fits the usable HBM by step
    time at the board's TDP (ties: smaller tp, then pp, then micro-batch)."""
    inputs = prepare_search(model, device, gpus, global_batch, seq, recipe, comm, micro_batches)
    layouts = inputs.layouts
    if len(layouts) == 0:
        return SearchResult(None, 0, 0, float("inf"))
    out = inputs.evaluate()
    usable = mem.usable_bytes(device.spec.hbm)
    fits = out[:, EvalCol.MEMORY] <= usable
    order = np.lexsort((layouts[:, LayoutCol.MB], layouts[:, LayoutCol.PP], layouts[:, LayoutCol.TP],
                        out[:, EvalCol.STEP_TDP]))
    ranked = [i for i in order if fits[i]]
    ranking = [(float(out[i, EvalCol.STEP_TDP]), ParallelLayout.from_row(layouts[i])) for i in ranked[:top]]
    best = ranking[0][1] if ranking else None
    return SearchResult(best, len(layouts), int(fits.sum()), float(out[:, EvalCol.MEMORY].min()), ranking)
