"""Communication of a parallel layout on a job's topology: which collectives a layout issues,
over which groups, priced by costmodel/collectives.py.

Ranks are ordered tp (innermost), then dp, then pp (Megatron-LM's default order), so a group of
``n`` ranks with stride ``k`` keeps ``r = min(n, G // k)`` ranks inside a scale-up domain of
``G`` accelerators and spans ``n / r`` domains; its collectives run hierarchically.

Volumes per micro-batch and layer (S = micro_batch * seq * hidden * activation bytes):
- TP without sequence parallelism: 2 all-reduces of S forward, 2 backward (Shoeybi et al.,
  2019); with it each becomes an all-gather plus a reduce-scatter of S (Korthikanti et al.,
  2022). Full recompute repeats the forward ones.
- PP: one activation (forward) and one gradient (backward) transfer per stage boundary per
  micro-batch (and chunk); each TP rank sends its 1/tp slice (Megatron-LM's scatter-gather
  optimisation, Narayanan et al. 2021 section 4.1) and, without SP, the receiver all-gathers
  the slices over the scale-up domain.
- CP (ring attention): each rank passes its keys and values (2 * b * s/cp * kv dims) around
  the ring of cp ranks, cp - 1 steps forward, and keys/values plus their gradients backward;
  every step overlaps one block of attention (Liu et al., 2023; Transformer Engine).
- EP: all-to-all dispatch and combine of top_k * S / tp, forward and backward.
- DP per step: gradients all-reduced (ZeRO 0) or reduce-scattered with updated weights
  all-gathered (ZeRO 1/2); ZeRO 3 also gathers weights in forward and backward of every
  micro-batch and reduce-scatters gradients per micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.costmodel.collective_tiers import make_tiers
from simulator.costmodel.collectives import (
    TierCol,
    all_gather_time,
    all_reduce_time,
    all_to_all_time,
    reduce_scatter_time,
    send_recv_time,
)
from simulator.costmodel.jit import kernel
from simulator.domain.layout import ParallelLayout
from simulator.domain.specs import AcceleratorSpec, NodeSpec, scaleup_domain

NETWORK_LATENCY_S = 5e-6


@kernel
def place_into(n, stride, domain, out):
    """Fill ``out[:2]`` with ranks per tier ([inside a domain, domains]) of a group of n ranks
    placed stride apart; returns ``out[:2]``."""
    out[0] = 1.0
    out[1] = 1.0
    if n > 1:
        inner = 1.0
        if stride < domain:
            inner = min(n, max(np.floor(domain / stride), 1.0))
            while n % inner != 0.0:
                inner -= 1.0
        out[0] = inner
        out[1] = n / inner
    return out[:2]


@kernel
def place(n, stride, domain):
    """``place_into`` on a new array."""
    return place_into(n, stride, domain, np.ones(2))


@kernel
def tp_comm_s(tiers, domain, tp, sp, s_bytes, passes, scratch):
    """TP collectives of one layer and micro-batch; ``passes`` 2 (fwd+bwd) or 3 (with recompute)."""
    if tp <= 1:
        return 0.0
    group = place_into(tp, 1.0, domain, scratch)
    if sp > 0.5:
        return passes * 2.0 * (all_gather_time(s_bytes, group, tiers)
                               + reduce_scatter_time(s_bytes, group, tiers))
    return passes * 2.0 * all_reduce_time(s_bytes, group, tiers)


@kernel
def pp_hop_s(tiers, domain, tp, dp, hop_bytes, scratch):
    """One activation transfer between neighbouring pipeline stages (tp*dp ranks apart)."""
    group = place_into(2.0, tp * dp, domain, scratch)
    return send_recv_time(hop_bytes, group, tiers)


@kernel
def pp_transfer_s(tiers, domain, tp, cp, dp, sp, act_bytes, scratch):
    """An activation (or its gradient) of ``act_bytes`` crossing a stage boundary: each of the
    tp ranks sends its slice act_bytes/tp to its peer tp*cp*dp ranks away; without sequence
    parallelism the receiving ranks all-gather the slices inside the TP group."""
    t = pp_hop_s(tiers, domain, tp * cp, dp, act_bytes / tp, scratch)
    if tp > 1 and sp < 0.5:
        t += all_gather_time(act_bytes, place_into(tp, 1.0, domain, scratch), tiers)
    return t


@kernel
def cp_ring_s(tiers, domain, tp, cp, kv_bytes, scratch):
    """One ring step of context parallelism: each rank sends its ``kv_bytes`` of keys and values
    to the next CP rank (tp ranks apart) while receiving from the previous one."""
    if cp <= 1:
        return 0.0
    return send_recv_time(kv_bytes, place_into(2.0, tp, domain, scratch), tiers)


@kernel
def dp_parts_s(tiers, domain, dp, tp, zero, grad_bytes, weight_bytes, scratch):
    """(gradient reduction, parameter all-gather) of one step over dp replicas (tp ranks
    apart): an all-reduce without ZeRO; with ZeRO 1/2 a reduce-scatter of the gradients and,
    after the sharded optimizer step, an all-gather of the updated weights."""
    if dp <= 1:
        return 0.0, 0.0
    group = place_into(dp, tp, domain, scratch)
    if zero >= 1:
        return reduce_scatter_time(grad_bytes, group, tiers), all_gather_time(weight_bytes, group, tiers)
    return all_reduce_time(grad_bytes, group, tiers), 0.0


@kernel
def ep_comm_s(tiers, domain, ep, tp, nbytes, scratch):
    """All-to-all dispatch and combine, forward and backward, of one MoE layer."""
    if ep <= 1:
        return 0.0
    return 4.0 * all_to_all_time(nbytes, place_into(ep, tp, domain, scratch), tiers)


@kernel
def dp_reduce_scatter_s(tiers, domain, dp, tp, nbytes, scratch):
    """A reduce-scatter of ``nbytes`` over dp replicas tp ranks apart (ZeRO-3's per-micro-batch
    gradient reduction; its weight gathers cost what a step's parameter all-gather does)."""
    if dp <= 1:
        return 0.0
    return reduce_scatter_time(nbytes, place_into(dp, tp, domain, scratch), tiers)


@dataclass(frozen=True)
class CommModel:
    """A job's topology: scale-up domain then scale-out network, as collectives tiers."""

    tiers: np.ndarray
    scaleup_domain: int

    @classmethod
    def for_node(cls, node: NodeSpec, accel: AcceleratorSpec, oversubscription: float = 1.0) -> CommModel:
        """Tiers for jobs on ``node`` servers: the accelerator's scale-up link inside a domain,
        each accelerator's share of the node's NICs across the (possibly oversubscribed) fabric."""
        domain = scaleup_domain(node, accel)
        nic_per_gpu = node.nic_bw * node.nics / node.accelerators_per_node
        profile = "nvlink-h100-measured" if accel.scaleup.in_switch_reduction else "nvlink-no-nvls"
        tiers = make_tiers(accel.scaleup.bw, None, domain, nic_per_gpu, NETWORK_LATENCY_S,
                           oversubscription=oversubscription, scaleup_profile=profile)
        return cls(tiers, int(domain))

    def scaled(self, factor: float) -> CommModel:
        """The same topology with the scale-out bandwidth multiplied by ``factor`` (contention)."""
        tiers = self.tiers.copy()
        tiers[1, TierCol.BW] *= factor
        return CommModel(tiers, self.scaleup_domain)

    def all_reduce(self, n: int, stride: int, nbytes: float) -> float:
        return float(all_reduce_time(nbytes, place(float(n), float(stride), float(self.scaleup_domain)), self.tiers))

    def all_gather(self, n: int, stride: int, nbytes: float) -> float:
        return float(all_gather_time(nbytes, place(float(n), float(stride), float(self.scaleup_domain)), self.tiers))

    def split(self, n: int, stride: int) -> tuple[int, int]:
        """(ranks inside one domain, domains spanned) of a group of n ranks with this stride."""
        g = place(float(n), float(stride), float(self.scaleup_domain))
        return int(g[0]), int(g[1])


def _ring_split(n: float, stride: float, domain: float, nbytes: float, phases: float) -> tuple[float, float]:
    """Bytes one rank sends inside / outside its scale-up domain for ``phases`` ring passes
    (all-gather or reduce-scatter = 1, all-reduce = 2) of an ``nbytes`` buffer, run
    hierarchically: the in-domain phase on the whole buffer, the cross-domain one on 1/inner."""
    inner, outer = place(n, stride, domain)
    up = phases * (inner - 1.0) / inner * nbytes if inner > 1 else 0.0
    out = phases * (outer - 1.0) / outer * nbytes / inner if outer > 1 else 0.0
    return up, out


def step_volumes(layout: ParallelLayout, domain: int, micro_batches: int, layers_per_stage: int,
                 s_bytes: float, params_local: float, grad_bytes: float, weight_bytes: float,
                 top_k: int = 1, experts: int = 1, recompute_full: bool = False,
                 kv_bytes: float = 0.0) -> dict[str, float]:
    """Bytes each GPU sends in one training step, by collective class (tp, cp, pp, dp, ep,
    zero3) and by tier (scaleup: NVLink/ICI, scaleout: the network), for the volumes above.
    ``s_bytes`` is one micro-batch's activation on one rank (s/cp tokens), ``kv_bytes`` its
    keys and values (for the CP ring)."""
    tp, cp, pp, dp, ep = layout.tp, layout.cp, layout.pp, layout.dp, layout.ep
    v, zero, m = layout.interleave, layout.zero, micro_batches
    d = float(domain)
    by_class = dict.fromkeys(("tp", "cp", "pp", "dp", "ep", "zero3"), 0.0)
    tiers = {"scaleup": 0.0, "scaleout": 0.0}

    def add(name: str, up: float, out: float, times: float) -> None:
        by_class[name] += (up + out) * times
        tiers["scaleup"] += up * times
        tiers["scaleout"] += out * times

    passes = 3.0 if recompute_full else 2.0
    if tp > 1:
        up, out = _ring_split(tp, 1.0, d, s_bytes, 2.0)          # per all-reduce-equivalent
        add("tp", up, out, passes * 2.0 * layers_per_stage * m)
    if cp > 1:
        inside = tp < d and place(2.0, float(tp), d)[0] > 1
        moved = (cp - 1.0) * kv_bytes * (passes + 1.0)
        add("cp", moved if inside else 0.0, 0.0 if inside else moved, layers_per_stage * m)
    if pp > 1:
        hop = s_bytes / tp
        cross = tp * cp * dp >= d
        add("pp", 0.0 if cross else hop, hop if cross else 0.0, 2.0 * v * m)
        if tp > 1 and not layout.sp:
            up, out = _ring_split(tp, 1.0, d, s_bytes, 1.0)
            add("pp", up, out, 2.0 * v * m)
    dpg = dp * cp
    if dpg > 1:
        if zero >= 1:
            up1, out1 = _ring_split(dpg, tp, d, params_local * grad_bytes, 1.0)
            up2, out2 = _ring_split(dpg, tp, d, params_local * weight_bytes, 1.0)
            add("dp", up1 + up2, out1 + out2, 1.0)
        else:
            up, out = _ring_split(dpg, tp, d, params_local * grad_bytes, 2.0)
            add("dp", up, out, 1.0)
        if zero >= 3:
            up1, out1 = _ring_split(dpg, tp, d, params_local * weight_bytes, 2.0)
            up2, out2 = _ring_split(dpg, tp, d, params_local * 2.0, 1.0)
            add("zero3", up1 + up2, out1 + out2, float(m))
    if ep > 1 and experts > 1:
        inner = place(ep, tp, d)[0]
        nbytes = top_k * s_bytes / tp
        moved = (ep - 1.0) / ep * nbytes
        share_out = (ep - inner) / (ep - 1.0) if ep > 1 else 0.0
        add("ep", moved * (1 - share_out), moved * share_out, 4.0 * layers_per_stage * m)
    return {**{f"{k}_bytes": val for k, val in by_class.items()},
            **{f"{k}_bytes": val for k, val in tiers.items()}}


def send_s(comm: CommModel, nbytes: float, same_domain: bool) -> float:
    """Point-to-point transfer of ``nbytes`` between two accelerators: over the scale-up links
    when both sit in one scale-up domain, else over the scale-out network
    (costmodel/collectives.py send_recv_time)."""
    domain = float(comm.scaleup_domain)
    group = place(2.0, 1.0 if same_domain else domain, domain)
    return float(send_recv_time(nbytes, group, comm.tiers))
