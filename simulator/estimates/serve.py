"""`dcsim estimate serve`: a continuously batched serving replica's capacity at full power, and
for a request rate the fewest replicas that meet time-per-token and time-to-first-token targets,
with the closed forms the engine's inference services use (costmodel/queueing.py,
costmodel/serving_plan.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from simulator.costmodel.comm import CommModel
from simulator.costmodel.queueing import capacity_per_s, share_within
from simulator.costmodel.serving_plan import plan_serving, replica_point
from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.model_ref import resolve_model
from simulator.domain.specs import ModelSpec
from simulator.errors import InputError, Problem
from simulator.estimates.inputs import device_model, node_for

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


@dataclass(frozen=True)
class ServeResult:
    """A replica's capacity with a full batch, and, with a rate, its sizing."""

    model: str
    accelerator: str
    gpus_per_replica: int
    prefill_s: float
    tpot_full_batch_s: float
    capacity_per_replica_per_s: float
    output_tokens_per_s_per_replica: float
    memory_per_gpu_bytes: float
    usable_memory_per_gpu_bytes: float
    sizing: ReplicaSizing | None = None

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in (
            "model", "accelerator", "gpus_per_replica", "prefill_s", "tpot_full_batch_s",
            "capacity_per_replica_per_s", "output_tokens_per_s_per_replica", "memory_per_gpu_bytes",
            "usable_memory_per_gpu_bytes")}
        if self.sizing is not None:
            sized = dict(vars(self.sizing))
            if sized["usd_per_mtoken"] is None:
                del sized["usd_per_mtoken"]
            out.update(sized)
        return out


def estimate_serve(model: str | ModelSpec, accelerator: str, gpus_per_replica: int = 1, prompt: int = 1024,
                   output: int = 256, max_batch: int = 64, rate_per_s: float | None = None,
                   ttft_s: float = 2.0, tpot_s: float = 0.1, slo_share: float = 0.99, dtype: str = "bf16",
                   gpu_hour_usd: float | None = None, catalog: Catalog | None = None,
                   base_dir: Path | None = None) -> ServeResult:
    """A replica of ``gpus_per_replica`` accelerators at full power: its capacity, and with
    ``rate_per_s`` the fewest replicas that keep TPOT within ``tpot_s`` and at least
    ``slo_share`` of requests within ``ttft_s``."""
    catalog = catalog or shipped_catalog()
    spec = resolve_model(model, catalog, base_dir)
    device = device_model(accelerator, catalog)
    node = node_for(device.name, catalog)
    plan = plan_serving(spec, device, CommModel.for_node(node, device.spec), gpus_per_replica, prompt, output,
                        max_batch, dtype)
    at = plan.at_cap(device.spec.tdp)
    per_replica = capacity_per_s(at.prefill_s, float(at.decode_s[-1]), output, max_batch)
    full = replica_point(at, per_replica, per_replica, output, plan.idle_power_w)[0]
    result = ServeResult(spec.name, device.name, gpus_per_replica, at.prefill_s, full.tpot_s, per_replica,
                         per_replica * output, plan.memory_bytes, plan.usable_memory_bytes)
    if rate_per_s is None:
        return result
    replicas = max(math.ceil(rate_per_s / per_replica - 1e-12), 1)
    for _ in range(MAX_REPLICAS):
        point, power = replica_point(at, rate_per_s / replicas, per_replica, output, plan.idle_power_w)
        within = share_within(ttft_s - at.prefill_s, point.prefill_wait_s, point.prefill_share)
        if point.tpot_s <= tpot_s and within >= slo_share and rate_per_s / replicas < per_replica:
            break
        if (point.tpot_s > tpot_s and point.batch <= 1.0 + 1e-9) or at.prefill_s > ttft_s:
            raise InputError([Problem("--tpot" if at.prefill_s <= ttft_s else "--ttft",
                                      "no number of replicas meets this target: one request alone takes "
                                      f"{point.tpot_s * 1e3:.1f} ms per token and {at.prefill_s * 1e3:.0f} ms "
                                      "to its first token")])
        replicas += 1
    else:
        raise InputError([Problem("--rate", f"more than 100,000 replicas needed for {rate_per_s:g} requests/s")])
    usd = None
    if gpu_hour_usd is not None:
        tokens_per_hour = rate_per_s * output * 3600.0
        usd = replicas * gpus_per_replica * gpu_hour_usd / (tokens_per_hour / 1e6)
    sizing = ReplicaSizing(rate_per_s, replicas, replicas * gpus_per_replica, point.batch, point.tpot_s,
                           at.prefill_s + point.prefill_wait_s, within, rate_per_s / (replicas * per_replica),
                           power, usd)
    return replace(result, sizing=sizing)
