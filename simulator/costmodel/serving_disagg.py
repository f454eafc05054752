"""Disaggregated prefill and decode (Splitwise, Patel et al., ISCA 2024; DistServe, Zhong et al.,
OSDI 2024): a pool of prefill replicas computes each prompt and hands its KV cache to a pool of
decode replicas, each pool with its own accelerators, tensor parallelism and count.

Each pool is the same replica model as a colocated one run in one phase (costmodel/
serving_replica.py ``phase``): prefill replicas finish a request at its first token, decode
replicas admit requests whose prompt is already cached. The KV cache of a prompt (all layers,
``kv_bytes_per_token x prompt``) crosses the fabric point to point, each of the prefill
replica's TP ranks sending its share in parallel (costmodel/comm.py send_s); Splitwise streams
it layer by layer, so it delays the first token by one transfer and costs no decode time.
A deployment serves the smaller of the two pools' capacities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.costmodel.comm import CommModel, send_s
from simulator.costmodel.serving_memory import kv_bytes_per_token
from simulator.costmodel.serving_plan import CAP_FRACTIONS, LoadCurve, ServingPlan, load_curve
from simulator.costmodel.serving_replica import LoadPoint, Replica


@dataclass(frozen=True)
class DisaggregatedPoint:
    """A prefill pool and a decode pool at full power."""

    prefill_replicas: int
    decode_replicas: int
    prefill: LoadPoint               # one prefill replica, saturated
    decode: LoadPoint                # one decode replica, saturated
    prefill_alone_s: float           # one prompt alone
    kv_transfer_bytes: float
    kv_transfer_s: float

    @property
    def prefill_capacity_per_s(self) -> float:
        return self.prefill_replicas * self.prefill.requests_per_s

    @property
    def decode_capacity_per_s(self) -> float:
        return self.decode_replicas * self.decode.requests_per_s

    @property
    def capacity_per_s(self) -> float:
        return min(self.prefill_capacity_per_s, self.decode_capacity_per_s)

    @property
    def bottleneck(self) -> str:
        return "prefill" if self.prefill_capacity_per_s < self.decode_capacity_per_s else "decode"

    @property
    def ttft_s(self) -> float:
        """First token of a request alone: its prefill and the KV hand-off."""
        return self.prefill_alone_s + self.kv_transfer_s


def kv_transfer(prefill: Replica, decode: Replica, comm: CommModel, same_domain: bool) -> tuple[float, float]:
    """(bytes, seconds) of one mean prompt's KV cache from a prefill replica to a decode replica."""
    per_token = kv_bytes_per_token(prefill.model, prefill.prec.kv_bytes, 1)
    nbytes = per_token * prefill.workload.mean_prompt
    ranks = max(min(prefill.tp, decode.tp), 1)
    return nbytes, send_s(comm, nbytes / ranks, same_domain)


def disaggregated_point(prefill: Replica, decode: Replica, prefill_replicas: int, decode_replicas: int,
                        comm: CommModel, same_domain: bool = False) -> DisaggregatedPoint:
    """Both pools saturated at their own boards' TDP."""
    p_cap = float(prefill.device.spec.tdp)
    d_cap = float(decode.device.spec.tdp)
    nbytes, seconds = kv_transfer(prefill, decode, comm, same_domain)
    return DisaggregatedPoint(prefill_replicas, decode_replicas, prefill.saturated(p_cap), decode.saturated(d_cap),
                              prefill.alone(p_cap).ttft_mean_s, nbytes, seconds)


def disaggregated_plan(prefill: Replica, decode: Replica, prefill_replicas: int, decode_replicas: int,
                       comm: CommModel, same_domain: bool = False):
    """A ServingPlan for the whole deployment as one unit: at each cap the prefill pool's and
    the decode pool's load curves combined (capacity the smaller of the two; first token from the
    prefill pool plus the KV hand-off; time per token from the decode pool; power per
    accelerator averaged over both pools)."""
    tdp = float(decode.device.spec.tdp)
    _, transfer = kv_transfer(prefill, decode, comm, same_domain)
    gpus_p = prefill_replicas * prefill.tp
    gpus_d = decode_replicas * decode.tp
    curves = []
    for frac in CAP_FRACTIONS:
        p = load_curve(prefill, float(frac * prefill.device.spec.tdp))
        d = load_curve(decode, float(frac * tdp))
        cap = min(prefill_replicas * p.capacity_per_s, decode_replicas * d.capacity_per_s)
        rates = np.unique(np.concatenate([prefill_replicas * p.rate_per_s, decode_replicas * d.rate_per_s]))
        rates = np.append(rates[rates < cap], cap)
        rp, rd = rates / prefill_replicas, rates / decode_replicas

        def on(curve, r, y):
            return np.interp(r, curve.rate_per_s, y)

        power = (gpus_p * on(p, rp, p.power_w) + gpus_d * on(d, rd, d.power_w)) / (gpus_p + gpus_d)
        curves.append(LoadCurve(cap, cap * decode.workload.mean_output, rates, on(p, rp, p.ttft_s) + transfer,
                                on(p, rp, p.ttft_p99_s) + transfer, on(d, rd, d.tpot_s), on(d, rd, d.batch),
                                on(p, rp, p.prefill_share), power))
    memory = decode.budget.as_dict()
    return ServingPlan(decode.tp, CAP_FRACTIONS * tdp, tuple(curves), float(decode.device.spec.idle_power), memory,
                       decode.budget.hbm_bytes, decode.settings.max_num_seqs)
