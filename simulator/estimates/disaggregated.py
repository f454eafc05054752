"""`dcsim estimate serve --prefill-gpus ... --decode-gpus ...`: a disaggregated deployment, a
prefill pool and a decode pool (costmodel/serving_disagg.py), each pool sized by its own
replica count, tensor parallelism and accelerator."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from simulator.costmodel.comm import CommModel
from simulator.costmodel.serving_disagg import DisaggregatedPoint, disaggregated_point
from simulator.domain.catalog import Catalog
from simulator.domain.specs import ModelSpec
from simulator.estimates.inputs import node_for
from simulator.estimates.replica import build_replica


@dataclass(frozen=True)
class DisaggregatedResult:
    """Both pools and the deployment they make."""

    point: DisaggregatedPoint
    prefill_accelerator: str
    decode_accelerator: str
    prefill_gpus_per_replica: int
    decode_gpus_per_replica: int
    output_tokens: float

    @property
    def gpus(self) -> int:
        p = self.point
        return p.prefill_replicas * self.prefill_gpus_per_replica + p.decode_replicas * self.decode_gpus_per_replica

    def to_dict(self) -> dict:
        p = self.point
        deployment = p.capacity_per_s * self.output_tokens
        return {"disaggregated": {
            "prefill_accelerator": self.prefill_accelerator, "decode_accelerator": self.decode_accelerator,
            "prefill_replicas": p.prefill_replicas, "decode_replicas": p.decode_replicas,
            "prefill_gpus_per_replica": self.prefill_gpus_per_replica,
            "decode_gpus_per_replica": self.decode_gpus_per_replica, "gpus": self.gpus,
            "prefill_capacity_per_s": p.prefill_capacity_per_s, "decode_capacity_per_s": p.decode_capacity_per_s,
            "capacity_per_s": p.capacity_per_s, "bottleneck": p.bottleneck,
            "output_tokens_per_s": deployment, "output_tokens_per_s_per_gpu": deployment / self.gpus,
            "ttft_s": p.ttft_s, "tpot_s": p.decode.tpot_mean_s, "decode_batch": p.decode.running_mean,
            "kv_transfer_bytes": p.kv_transfer_bytes, "kv_transfer_s": p.kv_transfer_s}}


def estimate_disaggregated(model: str | ModelSpec, accelerator: str, gpus_per_replica: int, prompt: int, output: int,
                           max_batch: int | None, dtype: str, catalog: Catalog, base_dir: Path | None, pools: dict,
                           rate_per_s: float | None, options: dict, result_of):
    """A colocated replica's result (for reference) with the disaggregated deployment added.
    ``pools``: prefill_replicas, prefill_gpus, prefill_accelerator, decode_replicas, decode_gpus,
    decode_accelerator (each defaulting to the colocated replica's)."""
    p_acc = pools.get("prefill_accelerator") or accelerator
    d_acc = pools.get("decode_accelerator") or accelerator
    p_tp = pools.get("prefill_gpus") or gpus_per_replica
    d_tp = pools.get("decode_gpus") or gpus_per_replica
    common = (prompt, output, max_batch, dtype, catalog, base_dir)
    prefill = build_replica(model, p_acc, p_tp, *common, phase=1, **options)
    decode = build_replica(model, d_acc, d_tp, *common, phase=2, **options)
    node = node_for(prefill.device.name, catalog)
    comm = CommModel.for_node(node, prefill.device.spec)
    point = disaggregated_point(prefill, decode, pools.get("prefill_replicas") or 1, pools.get("decode_replicas") or 1,
                                comm, same_domain=False)
    colocated = build_replica(model, accelerator, gpus_per_replica, *common, **options)
    cap = float(colocated.device.spec.tdp)
    base = result_of(colocated, colocated.saturated(cap), colocated.alone(cap))
    del rate_per_s
    return replace(base, disaggregated=DisaggregatedResult(point, prefill.device.name, decode.device.name, p_tp, d_tp,
                                                           decode.workload.mean_output))
