"""The scenario: one frozen pydantic model per section, unknown keys rejected, units parsed.

A scenario names a site (power envelope, climate, electricity), a cluster (racks of catalog
nodes, fabric), the power chain and cooling plant, costs, the workloads and how to simulate.
Every quantity accepts human units ("30d", "20MW", "$0.08/kWh") and is stored in SI.
Cross-references (catalog names, GPU counts against the cluster) are checked in check.py.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from simulator.domain.precision import (
    DEFAULT_OPTIMIZER,
    DEFAULT_RECOMPUTE,
    DEFAULT_TRAINING_PRECISION,
    AttentionKernel,
    KvPrecisionName,
    OptimizerName,
    RecomputeMode,
    ServingActivations,
    ServingWeights,
    TrainingPrecision,
)
from simulator.domain.quantities import (
    Amount,
    Count,
    Frozen,
    NonNegCount,
    PerS,
    PositiveSeconds,
    PositiveWatts,
)
from simulator.domain.specs import (
    ModelSpec,
)
from simulator.domain.units import human
from simulator.domain.validation import require_unique
from simulator.scenario.calendar import Dated, RunMoment
from simulator.scenario.catalog_section import CatalogOverrides
from simulator.scenario.costs import Costs, Rental
from simulator.scenario.demand import MonthlyGrowth
from simulator.scenario.fabric import Fabric, FabricFile
from simulator.scenario.facility import Cooling, EfficiencyCurve, PowerChain
from simulator.scenario.failures import Failures, Maintenance
from simulator.scenario.it_load import Networks, SupportGroup, superpod_support
from simulator.scenario.operation import Operation
from simulator.scenario.phased import DemandSource, Phased
from simulator.scenario.plan import PlanSpec
from simulator.scenario.scheduling import EasyBackfill, SchedulerConfig
from simulator.scenario.site import (
    BuiltinClimate,
    CarbonProfile,
    Climate,
    ConstantClimate,
    CsvClimate,
    CsvProfile,
    Electricity,
    FlatProfile,
    PriceProfile,
    Site,
    SolarDipProfile,
    TimeOfUseProfile,
)
from simulator.scenario.storage import Storage
from simulator.scenario.trace import Trace
from simulator.scenario.training_parts import BatchRampup, Evaluation, Layout, TrainingPhase

MAX_HORIZON_S = 10 * 365 * 86400.0
MAX_SAMPLES = 5_000_000
# The largest cluster dcsim plans: a million servers (eight million GPUs, some forty times the
# largest built by 2025). Racks are counts, but the node pool numbers every server.
MAX_CLUSTER_NODES = 1_000_000
MAX_NODES_PER_RACK = 1024  # the densest racks hold 18 (NVL72) to 64 servers


# ----------------------------------------------------------------------------- simulation
class Simulation(Dated):
    """How long to simulate ("3y": a year is 365 d), how often to sample, the root seed, the start date."""

    horizon: PositiveSeconds = Field(30 * 86400.0, description="Simulated time span, e.g. '30d'.")
    sample_interval: PositiveSeconds = Field(300.0, description="Power/cooling sampling interval, e.g. '5min'.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Root seed; every random stream derives from it.")
    start_day_of_year: int = Field(1, ge=1, le=366, description="Day of year at t=0 (sets the season).")
    start_hour: float = Field(0.0, ge=0, lt=24, description="Hour of day at t=0.")

    @field_validator("horizon")
    @classmethod
    def _horizon_limit(cls, horizon: float) -> float:
        if horizon > MAX_HORIZON_S:
            raise ValueError("longer than the limit of 10 years (3650 d)")
        return horizon

    @field_validator("sample_interval")
    @classmethod
    def _fits_horizon(cls, interval: float, info: ValidationInfo) -> float:
        horizon = info.data.get("horizon")
        if horizon is None:  # the horizon has its own error
            return interval
        if interval > horizon:
            raise ValueError(f"must not be longer than the horizon, {human(horizon, 'time')}")
        if horizon / interval > MAX_SAMPLES:
            raise ValueError(
                f"gives {horizon / interval:,.0f} samples over the horizon; "
                f"at most {MAX_SAMPLES:,}: use at least {math.ceil(horizon / MAX_SAMPLES)} s")
        return interval


# ----------------------------------------------------------------------------- cluster
class RackGroup(Phased):
    """``count`` identical racks of catalog nodes, delivered and retired when scheduled."""

    name: str = Field("racks", min_length=1, max_length=200)
    node: str = Field(description="Catalog node name, e.g. dgx-h100.")
    nodes_per_rack: Count = Field(4, description="Servers per rack.")
    count: Count = Field(description="Number of racks.")
    cooling: Literal["air", "liquid", "rear-door", "immersion"] = Field(
        "air", description="air (room air handlers), liquid (direct-to-chip cold plates, the rest to the air), "
                           "rear-door (rear-door heat exchangers) or immersion (tanks, no server fans).")
    power_limit: PositiveWatts | None = Field(None, description="Rack power limit (GPUs are capped to meet it).")
    spare_nodes: NonNegCount = Field(0, description="Hot spares among the group's nodes: powered, never scheduled, "
                                                     "swapped in for failed nodes.")
    site: str | None = Field(None, description="The site (sites[].name) the racks stand at; needed with several sites.")

    @field_validator("nodes_per_rack")
    @classmethod
    def _rack_size(cls, nodes: int) -> int:
        if nodes > MAX_NODES_PER_RACK:
            raise ValueError(f"at most {MAX_NODES_PER_RACK:,} servers per rack")
        return nodes

    @model_validator(mode="after")
    def _spares_fit(self):
        if self.spare_nodes >= self.count * self.nodes_per_rack:
            raise ValueError(f"spare_nodes ({self.spare_nodes}) must be fewer than the group's "
                             f"{self.count * self.nodes_per_rack} nodes")
        return self


class Cluster(Frozen):
    """Racks of servers, the support servers beside them, and the networks between them."""

    racks: list[RackGroup] = Field(min_length=1, max_length=64)
    fabric: Fabric = Field(default_factory=Fabric)
    support: list[SupportGroup] = Field(
        default_factory=superpod_support, max_length=64,
        description="Storage, management, fabric-manager and login servers; default one of each per 256 GPUs "
                    "(DGX SuperPOD RA); [] for none.")
    networks: Networks = Field(default_factory=Networks, description="Storage, front-end and out-of-band networks.")

    @field_validator("racks")
    @classmethod
    def _unique_names(cls, racks):
        require_unique((r.name for r in racks), "rack group names must be unique")
        nodes = sum(r.count * r.nodes_per_rack for r in racks)
        if nodes > MAX_CLUSTER_NODES:
            raise ValueError(f"{nodes:,} servers in all; dcsim plans clusters of at most {MAX_CLUSTER_NODES:,} "
                             "servers (lower count or nodes_per_rack)")
        return racks


# ----------------------------------------------------------------------------- workloads
class TrainingJob(Frozen):
    """One training run of a Transformer for a number of tokens."""

    name: str = Field(min_length=1, max_length=200)
    model: str | ModelSpec = Field(description="Catalog model name, path to a model spec YAML, or an inline spec.")
    tokens: Annotated[Amount, Field(gt=0, le=1e16)] = Field(description="Tokens to train on, e.g. '300B'.")
    global_batch: Count = Field(description="Sequences per optimizer step.")
    micro_batch: Count | None = Field(
        None, description="Sequences per micro-batch per GPU; default: searched with layout 'auto', else 1.")
    seq: Count = Field(2048, description="Sequence length.")
    gpus: Count = Field(description="Accelerators the job runs on.")
    precision: TrainingPrecision = DEFAULT_TRAINING_PRECISION
    recompute: RecomputeMode = DEFAULT_RECOMPUTE
    optimizer: OptimizerName = DEFAULT_OPTIMIZER
    attention: AttentionKernel | None = Field(
        None, description="Fused flash attention or unfused QK^T/softmax/PV; default: the stack's.")
    overlap_grad_reduce: bool | None = Field(
        None, description="DP gradient reduction overlaps the backward pass; default: what the stack does.")
    stack: str | None = Field(
        None, description="Software stack (catalog `stacks`: megatron-2021, mlperf-2023, nemo-2024, ...): its "
                          "kernels, fusions and overlaps. Default: `default` (Megatron-LM defaults on the 2024 H100 "
                          "stack).")
    layout: Literal["auto"] | Layout = Field("auto", description="'auto' or an explicit parallel layout.")
    phases: list[TrainingPhase] = Field(
        default_factory=list, max_length=100,
        description="Stages run in order (e.g. 8K then 128K context); each takes the job's seq, global_batch, "
                    "micro_batch and layout unless it sets its own; their tokens add up to the job's.")
    batch_rampup: BatchRampup | None = Field(
        None, description="Start with a smaller global batch and grow it (Megatron-LM --rampup-batch-size).")
    evaluation: Evaluation | None = Field(None, description="Periodic evaluation passes and what each costs.")
    start: RunMoment = Field(0.0, validation_alias=AliasChoices("start", "submit_at"),
                             description="Submission (alias submit_at): an offset after t=0 or a date.")
    priority: int = Field(0, ge=-1000, le=1000)
    tenant: str = Field("default", min_length=1, max_length=200, description="Who the job belongs to "
                        "(scheduler: fair-share quotas are per tenant).")
    deadline: RunMoment | None = Field(None, description="When the job must have finished (an offset after t=0 or "
                                                         "a date): a missed deadline is a warning and breaks a plan.")
    rack_group: str | None = Field(None, description="Rack group to place on; default: the first that has room.")
    site: str | None = Field(None, description="Site to run at (sites[].name); default: placed (docs/sites.md).")

    @field_validator("deadline")
    @classmethod
    def _after_submission(cls, deadline: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start", 0.0)
        if deadline is not None and deadline <= start:
            raise ValueError(f"the deadline ({human(deadline, 'time')}) must come after the job's submission "
                             f"(start: {human(start, 'time')})")
        return deadline


TrainingJob.model_rebuild()


class ServiceSlo(Frozen):
    """Latency targets a served request must meet to count as within its SLO."""

    ttft: PositiveSeconds = Field(2.0, description="Time to first token (queueing + prefill), e.g. '2s'.")
    tpot: PositiveSeconds = Field(0.1, description="Time per output token after the first, e.g. '50ms'.")


def _diurnal() -> list[float]:
    """Hourly multipliers of a day, mean 1: a cosine peaking at 15:00 at 1.5x, 0.5x at 03:00."""
    return [1.0 + 0.5 * math.cos(2.0 * math.pi * (h + 0.5 - 15.0) / 24.0) for h in range(24)]


def _daily_profile(value):
    """'flat', 'diurnal', or a list of exactly 24 hourly multipliers."""
    if isinstance(value, str):
        shapes = {"flat": [1.0] * 24, "diurnal": _diurnal()}
        if value not in shapes:
            raise ValueError(f"expected 'flat', 'diurnal' or a list of 24 hourly multipliers (got {value!r})")
        return shapes[value]
    if isinstance(value, list | tuple) and len(value) != 24:
        raise ValueError(f"needs 24 hourly multipliers (local hours 0-23), got {len(value)}")
    return value


class LengthDistribution(Frozen):
    """Token counts drawn per request: lognormal with the given mean (not median) and log-space
    sigma, rounded, at least 1."""

    dist: Literal["lognormal", "fixed"] = Field("lognormal", description="Distribution family.")
    mean: float = Field(ge=1, le=10_000_000, allow_inf_nan=False, description="Mean tokens per request.")
    sigma: float = Field(0.0, ge=0, le=5, allow_inf_nan=False, description="Log-space standard deviation.")


Length = Annotated[int, Field(strict=True, ge=1, le=10_000_000)] | LengthDistribution


class Speculative(Frozen):
    """Speculative decoding: a draft proposes ``draft_tokens`` tokens per step, the target verifies
    them in one step; ``acceptance`` is the per-token acceptance rate."""

    draft: str | ModelSpec | None = Field(
        None, description="Draft model (catalog name, spec file or inline); omit for MTP/EAGLE heads.")
    mtp_layers: Count = Field(1, description="Without a draft model: heads costed as this many target layers.")
    draft_tokens: Annotated[int, Field(strict=True, ge=1, le=32)] = Field(3, description="Draft tokens per step.")
    acceptance: float = Field(0.7, ge=0, le=1, allow_inf_nan=False, description="Per-token acceptance rate (0-1).")


class Pool(Frozen):
    """One pool of a disaggregated service."""

    replicas: Count = Field(description="Replicas in the pool.")
    gpus_per_replica: Count = Field(1, description="Accelerators per replica (tensor parallel).")


class Disaggregation(Frozen):
    """Separate prefill and decode pools (Splitwise, DistServe); the KV cache of each prompt is
    sent from its prefill replica to a decode replica over the fabric."""

    prefill: Pool
    decode: Pool


class InferenceService(DemandSource):
    """An always-on inference service: replicas of a model serving Poisson request arrivals, each
    replica run as its serving engine schedules it (paged KV cache, continuous batching, chunked
    prefill; costmodel/serving_replica.py), replayed per sample interval (engine/serving.py)."""

    name: str = Field(min_length=1, max_length=200)
    model: str | ModelSpec = Field(description="Catalog model name, path to a model spec YAML, or an inline spec.")
    replicas: Count = Field(description="Model replicas behind the load balancer (ignored with disaggregation).")
    gpus_per_replica: Count = Field(1, description="Accelerators per replica (tensor parallel, within a node).")
    engine: str | None = Field(None, description="Serving engine from the catalog (dcsim catalog engines); "
                                                 "default tensorrt-llm.")
    precision: ServingWeights = Field("bf16", description="Weight precision (int4: W4A16; fp4: NVFP4).")
    activations: ServingActivations | None = Field(
        None, description="GEMM activation precision; default the weights' where the accelerator computes in it.")
    kv_precision: KvPrecisionName | None = Field(
        None, description="KV-cache precision; default fp8 with fp8/fp4 weights where the accelerator has fp8, "
                          "else 16-bit.")
    gpu_memory_utilization: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False,
        description="Share of device memory the engine uses; default the engine's.")
    max_num_seqs: Count | None = Field(None, description="Most sequences per iteration; default the engine's.")
    max_batch: Count | None = Field(None, description="Alias of max_num_seqs.")
    max_num_batched_tokens: Count | None = Field(None, description="Token budget per iteration; default the engine's.")
    chunked_prefill: bool | None = Field(
        None, description="Split prompts to fill the token budget; default the engine's.")
    arrival_rate: Annotated[PerS, Field(ge=0, le=1e9)] = Field(
        description="Mean requests per second, e.g. '20/s' or '50 req/s'.")
    daily_profile: Annotated[
        list[Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]], BeforeValidator(_daily_profile)] = Field(
        default_factory=lambda: [1.0] * 24,
        description="'flat', 'diurnal', or 24 hourly multipliers of arrival_rate (local hours 0-23).")
    growth: MonthlyGrowth = Field(0.0, description="Request-rate growth, compounded: '6%/month', '50%/year' or a "
                                                   "fraction per month; the rate at time t is arrival_rate x "
                                                   "(1 + growth)^(t / month).")
    prompt_tokens: Length = Field(1024, description="Prompt length per request, or {dist: lognormal, mean, sigma}.")
    output_tokens: Length = Field(256, description="Generated tokens per request, or {dist: lognormal, mean, sigma}.")
    lengths_csv: str | None = Field(None, description="CSV of (prompt, output) token counts the requests cycle "
                                                      "through (relative to the scenario); overrides the lengths.")
    prefix_cache_hit: float = Field(0.0, ge=0, le=1, allow_inf_nan=False,
                                    description="Share of prompt tokens found in the prefix cache (0-1).")
    speculative: Speculative | None = Field(None, description="Speculative decoding.")
    disaggregation: Disaggregation | None = Field(None, description="Separate prefill and decode pools.")
    slo: ServiceSlo = Field(default_factory=ServiceSlo)
    patience: PositiveSeconds | None = Field(
        600.0, description="How long a client waits for its first token before giving up (abandoned requests "
                           "are counted); null: clients never give up. Default: the OpenAI Python client's "
                           "request timeout, 10 min (openai/_constants.py DEFAULT_TIMEOUT).")
    start: RunMoment = Field(0.0, description="When the service comes up (arrivals start then): an offset or a date.")
    rack_group: str | None = Field(None, description="Rack group to place on; default: the first that has room.")
    site: str | None = Field(None, description="Site to serve from (sites[].name); default: placed (docs/sites.md).")
    replicas_by_site: dict[str, Count] | None = Field(
        None, description="Replicas at each site, e.g. {east: 24, west: 12}, instead of replicas (their sum): the "
                          "requests are split in proportion (docs/sites.md).")

    @model_validator(mode="before")
    @classmethod
    def _replicas_from_sites(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("replicas_by_site"), dict):
            if data.get("replicas") is not None:
                raise ValueError("give replicas or replicas_by_site (replicas per site), not both")
            values = data["replicas_by_site"].values()
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return {**data, "replicas": sum(values)}
        return data

    @model_validator(mode="after")
    def _one_batch_limit(self):
        if self.max_batch is not None and self.max_num_seqs is not None and self.max_batch != self.max_num_seqs:
            raise ValueError("max_batch is an alias of max_num_seqs; give one of them")
        return self

    @property
    def seqs_limit(self) -> int | None:
        """max_num_seqs (or its alias max_batch); None: the engine's default."""
        return self.max_num_seqs if self.max_num_seqs is not None else self.max_batch

    @property
    def gpus(self) -> int:
        d = self.disaggregation
        if d is not None:
            return d.prefill.replicas * d.prefill.gpus_per_replica + d.decode.replicas * d.decode.gpus_per_replica
        return self.replicas * self.gpus_per_replica


class Workloads(Frozen):
    """Everything that runs on the cluster."""

    training: list[TrainingJob] = Field(default_factory=list, max_length=10_000)
    inference: list[InferenceService] = Field(default_factory=list, max_length=1_000)
    trace: Trace | None = Field(None, description="Jobs replayed from a trace file (docs/traces.md).")

    @field_validator("training", "inference")
    @classmethod
    def _unique(cls, jobs):
        require_unique((j.name for j in jobs), "names must be unique")
        return jobs

    @model_validator(mode="after")
    def _distinct_across(self):
        both = sorted({j.name for j in self.training} & {s.name for s in self.inference})
        if both:
            raise ValueError(f"training jobs and inference services need distinct names; both have: "
                             f"{', '.join(both)}")
        return self


# ----------------------------------------------------------------------------- catalog overrides
# ----------------------------------------------------------------------------- sweeps
class Sweep(Frozen):
    """Axes of a parameter sweep: YAML paths and the values each takes (``dcsim sweep``)."""

    axes: dict[str, list[str | int | float | bool]] = Field(
        default_factory=dict, description="YAML path -> values, e.g. {site.power_envelope: [1MW, 1.5MW]}.")

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, axes):
        empty = [k for k, v in axes.items() if not v]
        if empty:
            raise ValueError(f"axes need at least one value: {', '.join(empty)}")
        size = 1
        for values in axes.values():
            size *= len(values)
        if size > 100_000:
            raise ValueError(f"{size} variants; at most 100,000")
        return axes


# ----------------------------------------------------------------------------- scenario
class Scenario(Frozen):
    """A whole planning scenario. ``base_dir`` (not part of the YAML) is where relative paths
    (CSV profiles, model spec files) are resolved."""

    name: str = Field("scenario", min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    simulation: Simulation = Field(default_factory=Simulation)
    site: Site = Field(description="The one site; or give `sites` instead (docs/sites.md).")
    sites: list[Site] | None = Field(
        None, min_length=1, max_length=32,
        description="Several sites instead of `site`, each with a unique name; each runs as its own site and the "
                    "results add up (docs/sites.md).")
    cluster: Cluster
    power: PowerChain = Field(default_factory=PowerChain)
    cooling: Cooling = Field(default_factory=Cooling)
    costs: Costs = Field(default_factory=Costs)
    workloads: Workloads = Field(default_factory=Workloads)
    scheduler: SchedulerConfig = Field(default_factory=EasyBackfill, description="Scheduler policy (docs/traces.md).")
    catalog: CatalogOverrides = Field(default_factory=CatalogOverrides)
    failures: Failures | None = Field(None, description="Node failures and checkpoint/restart (off when absent).")
    maintenance: Maintenance | None = Field(None, description="Planned maintenance windows (none when absent).")
    storage: Storage | None = Field(None, description="Shared storage for checkpoints and datasets (checkpoint "
                                                      "bandwidth from the failures section when absent).")
    operation: Operation | None = Field(None, description="Energy-aware operation: flexible jobs, demand "
                                                          "response, batteries, on-site generation, PPAs.")
    sweep: Sweep | None = Field(None, description="Axes for `dcsim sweep` (ignored by `dcsim run`).")
    plan: PlanSpec | None = Field(None, description="Decisions, objectives and constraints for `dcsim plan` "
                                                     "(ignored by `dcsim run`).")


__all__ = [
    "BatchRampup",
    "BuiltinClimate",
    "CarbonProfile",
    "Climate",
    "Cluster",
    "ConstantClimate",
    "Cooling",
    "Costs",
    "CsvClimate",
    "CsvProfile",
    "EfficiencyCurve",
    "Electricity",
    "Evaluation",
    "Fabric",
    "FabricFile",
    "Failures",
    "FlatProfile",
    "InferenceService",
    "Layout",
    "Maintenance",
    "NonNegCount",
    "Operation",
    "PowerChain",
    "PriceProfile",
    "RackGroup",
    "Rental",
    "Scenario",
    "ServiceSlo",
    "Simulation",
    "Site",
    "SolarDipProfile",
    "Storage",
    "TimeOfUseProfile",
    "TrainingJob",
    "TrainingPhase",
    "Workloads",
]
