"""Communication of a parallel layout on a job's topology: which collectives a layout issues,
over which groups, and how long they take.

Ranks are ordered tp (innermost), then dp, then pp (Megatron-LM's default order), so a group of
``n`` ranks with stride ``k`` keeps ``r = min(n, G // k)`` ranks inside a scale-up domain of
``G`` accelerators and spans ``n / r`` domains; collectives over such a group run
hierarchically (inside the domain over NVLink/ICI, across domains over the network) and take
the time of their phases (costmodel/collectives.py).

Volumes per micro-batch and layer (S = micro_batch * seq * hidden * bytes):
- TP without sequence parallelism: 2 all-reduces of S forward, 2 backward (Shoeybi et al.,
  2019); with it, each all-reduce becomes an all-gather plus a reduce-scatter of the same
  total volume (Korthikanti et al., 2022). Full recompute repeats the forward ones.
- PP: one activation (forward) and one gradient (backward) transfer of S/tp (SP) per stage
  boundary per micro-batch.
- EP: all-to-all dispatch and combine of top_k * S forward and backward.
- DP per step: the gradients (ZeRO 0: all-reduce; ZeRO 1/2: reduce-scatter, then all-gather
  of the updated bf16 weights); ZeRO 3 also all-gathers weights in forward and backward of
  every micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.costmodel.precision import Precision
from simulator.scenario.specs import AcceleratorSpec, ModelSpec, NodeSpec


@dataclass(frozen=True)
class Tier:
    """One level of the topology: per-rank per-direction bandwidth and per-step latency."""

    bw_bytes_per_s: float
    latency_s: float
    efficiency: float
    half_bytes: float = 0.0

    def busbw(self, nbytes: float) -> float:
        """Achieved bus bandwidth for a message of ``nbytes``: ramps up to efficiency*bw."""
        return self.efficiency * self.bw_bytes_per_s * nbytes / (nbytes + self.half_bytes)


@dataclass(frozen=True)
class CommModel:
    """Collective times for a job placed on nodes of ``domain`` accelerators."""

    scaleup: Tier
    scaleout: Tier
    scaleup_domain: int

    @classmethod
    def for_node(cls, node: NodeSpec, accel: AcceleratorSpec, oversubscription: float = 1.0,
                 network_latency_s: float = 5e-6) -> CommModel:
        up_cal, out_cal = tier_calibration(accel.name)
        domain = node.accelerators_per_node if accel.scaleup.topology == "switched" else accel.scaleup.domain
        nic_per_gpu = node.nic_bw * node.nics / node.accelerators_per_node
        up = Tier(accel.scaleup.bw, max(accel.scaleup.latency, up_cal["latency_s"]),
                  up_cal["efficiency"], up_cal["half_bytes"])
        out = Tier(nic_per_gpu / oversubscription, max(network_latency_s, out_cal["latency_s"]),
                   out_cal["efficiency"], out_cal["half_bytes"])
        return cls(up, out, domain)

    # ---------------------------------------------------------------- placement
    def split(self, n: int, stride: int) -> tuple[int, int]:
        """(ranks inside one domain, domains spanned) for a group of n ranks with this stride."""
        if n <= 1:
            return 1, 1
        inner = max(self.scaleup_domain // stride, 1) if stride < self.scaleup_domain else 1
        inner = min(inner, n)
        while n % inner:
            inner -= 1
        return inner, n // inner

    # ---------------------------------------------------------------- primitives
    @staticmethod
    def _ring(tier: Tier, n: int, nbytes: float, phases: float) -> float:
        """``phases`` * (n-1)/n of the message over the ring, plus (n-1) latency steps each."""
        if n <= 1 or nbytes <= 0:
            return 0.0
        moved = (n - 1) / n * nbytes
        return phases * (moved / tier.busbw(nbytes) + (n - 1) * tier.latency_s)

    def all_gather(self, n: int, stride: int, nbytes: float) -> float:
        """All-gather of a ``nbytes`` result (each rank holds nbytes/n) over a strided group."""
        inner, outer = self.split(n, stride)
        if outer == 1:
            return self._ring(self.scaleup, inner, nbytes, 1.0)
        return (self._ring(self.scaleout, outer, nbytes / inner, 1.0)
                + self._ring(self.scaleup, inner, nbytes, 1.0))

    def reduce_scatter(self, n: int, stride: int, nbytes: float) -> float:
        return self.all_gather(n, stride, nbytes)

    def all_reduce(self, n: int, stride: int, nbytes: float) -> float:
        """Hierarchical all-reduce: RS inside domains, AR across, AG inside."""
        inner, outer = self.split(n, stride)
        if outer == 1:
            return self._ring(self.scaleup, inner, nbytes, 2.0)
        return (self._ring(self.scaleup, inner, nbytes, 1.0)
                + self._ring(self.scaleout, outer, nbytes / inner, 2.0)
                + self._ring(self.scaleup, inner, nbytes, 1.0))

    def all_to_all(self, n: int, stride: int, nbytes: float) -> float:
        """Each rank sends (n-1)/n of ``nbytes`` to the others; the slowest tier crossed bounds it."""
        if n <= 1:
            return 0.0
        inner, outer = self.split(n, stride)
        tier = self.scaleup if outer == 1 else self.scaleout
        moved = (n - 1) / n * nbytes
        return moved / tier.busbw(nbytes) + (n - 1) * tier.latency_s

    def p2p(self, stride: int, nbytes: float) -> float:
        """Point-to-point transfer between ranks ``stride`` apart."""
        tier = self.scaleup if stride < self.scaleup_domain else self.scaleout
        return nbytes / tier.busbw(nbytes) + tier.latency_s

    # ---------------------------------------------------------------- layout volumes
    def per_micro_batch(self, model: ModelSpec, layout: dict, seq: int, prec: Precision,
                        recompute_full: bool = False) -> dict[str, float]:
        """Seconds per micro-batch: TP and EP per layer, PP per stage hop."""
        tp, dp, ep = layout["tp"], layout["dp"], layout.get("ep", 1)
        b = layout["micro_batch"]
        s_bytes = b * seq * model.hidden * prec.act_bytes
        tp_t = 0.0
        if tp > 1:
            passes = 3 if recompute_full else 2          # forward (+ recompute) + backward
            if layout.get("sp", 0):
                tp_t = passes * 2 * (self.all_gather(tp, 1, s_bytes) + self.reduce_scatter(tp, 1, s_bytes))
            else:
                tp_t = passes * 2 * self.all_reduce(tp, 1, s_bytes)
        pp_t = 0.0
        if layout["pp"] > 1:
            hop = s_bytes / tp if layout.get("sp", 0) else s_bytes
            pp_t = self.p2p(tp * dp, hop)
        ep_t = 0.0
        if ep > 1 and model.experts > 1:
            ep_t = 4 * self.all_to_all(ep, tp, model.top_k * s_bytes / tp)
        return {"tp": tp_t, "pp": pp_t, "ep": ep_t}

    def dp_step(self, params_local: float, layout: dict, prec: Precision) -> float:
        """Gradient (and for ZeRO>=1 updated-weight) communication of one step over dp."""
        dp, tp = layout["dp"], layout["tp"]
        if dp <= 1:
            return 0.0
        grad_bytes = params_local * (4.0 if prec.grad_bytes >= 4 else 2.0)
        if layout.get("zero", 0) >= 1:
            weight_bytes = params_local * prec.infer_weight_bytes
            return self.reduce_scatter(dp, tp, grad_bytes) + self.all_gather(dp, tp, weight_bytes)
        return self.all_reduce(dp, tp, grad_bytes)

    def zero3_micro_batch(self, params_local: float, layout: dict, prec: Precision) -> float:
        """ZeRO-3: gather weights for forward and backward, reduce-scatter gradients."""
        dp, tp = layout["dp"], layout["tp"]
        weights = params_local * prec.infer_weight_bytes
        return 2 * self.all_gather(dp, tp, weights) + self.reduce_scatter(dp, tp, params_local * 2.0)


def tier_calibration(accelerator: str) -> tuple[dict, dict]:
    """Achieved-bandwidth parameters of the scale-up and scale-out tiers (placeholder values
    until the NCCL fit lands)."""
    up = {"efficiency": 0.80, "latency_s": 5e-6, "half_bytes": 4e6}
    out = {"efficiency": 0.85, "latency_s": 8e-6, "half_bytes": 4e6}
    return up, out


def message_sizes_bytes() -> np.ndarray:
    """Sizes (1 KiB .. 16 GiB, powers of two) used by reports and benchmarks."""
    return 2.0 ** np.arange(10, 35)
