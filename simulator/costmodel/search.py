"""Search every valid parallel layout of a job for the fastest one that fits in memory.

Candidates: tp dividing both the heads and the scale-up domain; cp (context parallelism) from
CP_OPTIONS while each rank keeps at least CP_MIN_TOKENS tokens of a sequence; pp any depth up
to the layer count that divides the rest, with the layers split evenly when they divide and
with lighter or heavier first/last stages (``stage_splits``: Llama 3's 7 + 14 x 8 + 7 for 126
layers on 16 stages); interleaving over every chunk count the stages' layers allow; dp the
rest; micro-batch sizes dividing the per-replica batch; ZeRO 0-3; sequence parallelism
on/off (with the stack's TP communication overlap when on); ep dividing the experts.
Enumeration and evaluation are Numba kernels over arrays of layouts; per-layer GPU times are
computed once per distinct (tp, micro-batch, sp, ep, cp) and shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.costmodel import memory as mem
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.jit import kernel
from simulator.costmodel.parallel import evaluate_layouts, stage_costs
from simulator.costmodel.parallel_inputs import COST_LEN, EVAL_LEN, EvalCol, job_vector, recipe_device_vector
from simulator.costmodel.precision import Recipe
from simulator.costmodel.training import RECOMPUTE
from simulator.costmodel.transformer import model_vector
from simulator.domain.layout import LAYOUT_LEN, LayoutCol, ParallelLayout, divisors, layout_violations
from simulator.domain.layout import stage_splits as _stage_splits_py
from simulator.domain.specs import ModelSpec

MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
ZERO_STAGES = (0, 1, 2, 3)
# Context-parallel degrees searched, and the fewest tokens of a sequence a CP rank keeps
# (shorter chunks leave too little attention to hide the ring behind): NeMo's recipes keep at
# least 4K tokens per CP rank (Llama3-70B at 8K: CP 2, performance_summary.md; 64K-1M: CP 2-32,
# 32K per rank, performance_long_sequence.md).
CP_OPTIONS = (1, 2, 4, 8, 16, 32, 64)
CP_MIN_TOKENS = 4096


# The one layout rule and the stage splits tried (domain/layout.py), compiled for the kernel.
_violations = kernel(layout_violations)
stage_splits = kernel(_stage_splits_py)


@kernel
def _grow(out, n):
    if n < out.shape[0]:
        return out
    bigger = np.zeros((2 * out.shape[0], LAYOUT_LEN))
    bigger[:n] = out[:n]
    return bigger


@kernel
def enumerate_layouts(gpus, domain, heads, layers, experts, global_batch, seq, micro_batches,
                      zeros, tp_options, ep_options, cp_options, tpo):
    """Every layout that divides evenly, as rows of LAYOUT_LEN floats (validity, not memory)."""
    out = np.zeros((4096, LAYOUT_LEN))
    splits = np.zeros((4, 2), dtype=np.int64)
    n = 0
    for tp in tp_options:
        if gpus % tp != 0:
            continue
        for cp in cp_options:
            if (gpus // tp) % cp != 0 or (cp > 1 and seq // cp < CP_MIN_TOKENS):
                continue
            rest = gpus // (tp * cp)
            for pp in range(1, min(rest, layers) + 1):
                if rest % pp != 0:
                    continue
                dp = rest // pp
                n_splits = stage_splits(layers, pp, splits)
                for k in range(n_splits):
                    first = splits[k, 0]
                    last = splits[k, 1]
                    top_v = 1 if pp == 1 else layers
                    for v in range(1, top_v + 1):
                        if v > 1 and ((first % v != 0 and (first + 1) % v != 0)
                                      or (last % v != 0 and (last + 1) % v != 0)):
                            continue
                        for b in micro_batches:
                            for ep in ep_options:
                                for sp in range(2 if tp > 1 else 1):
                                    bad = _violations(tp, cp, pp, dp, ep, v, b, first, last, sp, tpo * sp, gpus,
                                                      domain, heads, layers, experts, global_batch, seq)
                                    if bad:
                                        continue
                                    for zero in zeros:
                                        if zero > 0 and dp * cp == 1:
                                            continue
                                        out = _grow(out, n)
                                        row = out[n]
                                        row[LayoutCol.TP] = tp
                                        row[LayoutCol.PP] = pp
                                        row[LayoutCol.DP] = dp
                                        row[LayoutCol.EP] = ep
                                        row[LayoutCol.ZERO] = zero
                                        row[LayoutCol.V] = v
                                        row[LayoutCol.SP] = sp
                                        row[LayoutCol.MB] = b
                                        row[LayoutCol.CP] = cp
                                        row[LayoutCol.FIRST] = first
                                        row[LayoutCol.LAST] = last
                                        row[LayoutCol.TPO] = tpo * sp
                                        n += 1
    return out[:n].copy()


def cp_options(seq: int) -> tuple[int, ...]:
    """Context-parallel degrees the search tries for a sequence length."""
    return tuple(c for c in CP_OPTIONS if c == 1 or (seq % (2 * c) == 0 and seq // c >= CP_MIN_TOKENS))


def candidate_array(model: ModelSpec, gpus: int, global_batch: int, domain: int,
                    micro_batches: tuple[int, ...] | None = None, seq: int = 2048,
                    tp_comm_overlap: bool = False) -> np.ndarray:
    ep_options = divisors(model.experts) if model.experts > 1 else [1]
    return enumerate_layouts(
        gpus, domain, model.heads, model.layers, model.experts, global_batch, seq,
        np.array(micro_batches or MICRO_BATCHES, dtype=np.int64),
        np.array(ZERO_STAGES, dtype=np.int64), np.array(divisors(domain), dtype=np.int64),
        np.array(ep_options, dtype=np.int64), np.array(cp_options(seq), dtype=np.int64), int(tp_comm_overlap))


def candidate_layouts(model: ModelSpec, gpus: int, global_batch: int, domain: int,
                      micro_batches: tuple[int, ...] | None = None, seq: int = 2048) -> list[ParallelLayout]:
    """Every layout that divides evenly (validity, not memory)."""
    return [ParallelLayout.from_row(r) for r in candidate_array(model, gpus, global_batch, domain, micro_batches,
                                                                seq)]


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
    per-(tp, micro-batch, sp, ep, cp) stage costs, the job and device vectors, the topology."""

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
    layouts = candidate_array(model, gpus, global_batch, comm.scaleup_domain, micro_batches, seq,
                              recipe.tp_comm_overlap)
    pv = recipe.vector()
    mv = model_vector(model)
    dv = recipe_device_vector(device, recipe)
    rc = RECOMPUTE[recipe.recompute]
    costs = np.zeros((0, COST_LEN))
    if len(layouts):
        shared = [LayoutCol.TP, LayoutCol.MB, LayoutCol.SP, LayoutCol.EP, LayoutCol.CP]
        keys, index = np.unique(layouts[:, shared], axis=0, return_inverse=True)
        layouts[:, LayoutCol.COST] = index.reshape(-1)
        costs = np.zeros((len(keys), COST_LEN))
        for k, (tp, b, sp, ep, cp) in enumerate(keys):
            stage_costs(mv, pv, dv, float(b), float(seq), float(tp), float(sp), float(ep), float(cp), rc, 1.0,
                        costs[k])
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
    usable = mem.usable_bytes(device.spec.hbm, collectives=gpus > 1)
    fits = out[:, EvalCol.MEMORY] <= usable
    order = np.lexsort((layouts[:, LayoutCol.MB], layouts[:, LayoutCol.PP], layouts[:, LayoutCol.TP],
                        out[:, EvalCol.STEP_TDP]))
    ranked = [i for i in order if fits[i]]
    ranking = [(float(out[i, EvalCol.STEP_TDP]), ParallelLayout.from_row(layouts[i])) for i in ranked[:top]]
    best = ranking[0][1] if ranking else None
    return SearchResult(best, len(layouts), int(fits.sum()), float(out[:, EvalCol.MEMORY].min()), ranking)
