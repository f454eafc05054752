"""The exposed communication of one Transformer layer and micro-batch of a parallel layout: tensor
parallel (with or without overlap under the GEMMs), expert parallel, and the context-parallel
ring not hidden under attention. They depend only on the layout's stage-cost key (tp,
micro-batch, sp, ep, cp) and its TP-overlap flag, so the layout-search kernel
(parallel.evaluate_layouts) computes them once per key and reuses them: the same numbers, a
fraction of the collective pricing per candidate."""

from __future__ import annotations

from simulator.costmodel.comm import cp_ring_s, ep_comm_s, tp_comm_s
from simulator.costmodel.jit import kernel
from simulator.costmodel.ops import RC_FULL
from simulator.costmodel.parallel_inputs import CostCol, JobCol
from simulator.domain.layout import LayoutCol


@kernel
def layer_comm(lay, cost, job, tiers, domain, group, lc):
    """Exposed TP, EP and CP communication of one layer and micro-batch into ``lc[1:4]``, marked
    done in ``lc[0]``: they depend only on the layout's stage-cost key (tp, micro-batch, sp, ep,
    cp) and its TP-overlap flag, so the search computes them once per key (same numbers)."""
    tp = lay[LayoutCol.TP]
    sp = lay[LayoutCol.SP]
    ep = lay[LayoutCol.EP]
    cp = lay[LayoutCol.CP]
    full = job[JobCol.RC] == RC_FULL
    tokens = lay[LayoutCol.MB] * job[JobCol.SEQ] / cp
    s_bytes = tokens * job[JobCol.HIDDEN] * job[JobCol.ACT]
    passes = 3.0 if full else 2.0
    tp_t = tp_comm_s(tiers, domain, tp, sp, s_bytes, passes, group)
    tp_x = tp_t
    if lay[LayoutCol.TPO] > 0.5 and tp > 1:
        tp_x = tp_t / tp + max(tp_t * (tp - 1.0) / tp - cost[CostCol.LAYER_GEMM], 0.0)
    ep_t = 0.0
    if job[JobCol.EXPERTS] > 1.5:
        ep_t = ep_comm_s(tiers, domain, ep, tp, job[JobCol.TOPK] * s_bytes / tp, group)
    cp_x = 0.0
    if cp > 1:
        kvd = max(job[JobCol.KV_HEADS], tp) * job[JobCol.HEAD_DIM] / tp
        kv_bytes = 2.0 * tokens * kvd * job[JobCol.ACT]
        ring = (cp - 1.0) * cp_ring_s(tiers, domain, tp, cp, kv_bytes, group) * (passes + 1.0)
        cp_x = max(ring - cost[CostCol.LAYER_ATTN], 0.0)
    lc[0] = 1.0
    lc[1] = tp_x
    lc[2] = ep_t
    lc[3] = cp_x
