"""The frozen, typed record of one run: what the engine hands to the report layer.

No live engine object crosses this line: the report and the API read only a ``RunRecord``
(and the scenario), so a renamed engine field breaks here, at type-check time, not in a report
at run time. Arrays are read-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from simulator.domain.specs import AcceleratorSpec, NodeSpec
from simulator.engine.record_sched import SchedulingRecord

# Per-sample request counts of a service: arrived, served, met their SLO, backlog at the end,
# gave up waiting.
REQUEST_COLUMNS = ("requests_arrived", "requests_served", "requests_slo_met", "requests_backlog",
                   "requests_abandoned")


class JobStatus(StrEnum):
    """Where a training job is in its life."""

    PENDING = "pending"        # not submitted yet
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"


class ServiceStatus(StrEnum):
    """Where an inference service is in its life."""

    PENDING = "pending"        # not started yet
    QUEUED = "queued"          # arrivals queue, no nodes yet
    RUNNING = "running"


def frozen_array(values) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class JobRecord:
    """One training job at the end of the run."""

    name: str
    model: str
    gpus: int
    layout: str
    submit_s: float
    start_s: float
    end_s: float
    tokens_target: float
    tokens_done: float
    steps_done: float
    step_time_s: float           # nominal (board at its own limit, no site cap)
    mfu: float
    energy_j: float
    network_share_s: float       # integral of the network share over its running time
    failures: int
    lost_tokens: float
    checkpoint_s: float
    lost_s: float
    down_s: float
    status: JobStatus
    policy_s: float = 0.0         # held by an operation policy (checkpoint, pause, restore)
    policy_pauses: int = 0
    preemptions: int = 0          # times a higher-priority job took its nodes (scheduler: priority)


@dataclass(frozen=True)
class ServiceRecord:
    """One inference service at the end of the run (latencies: sums and quantiles over served
    requests; ``per_sample`` rows follow REQUEST_COLUMNS)."""

    name: str
    model: str
    replicas: int
    gpus: int
    start_s: float
    arrival_rate_per_s: float
    output_tokens: float             # mean per request
    engine: str
    precision: str
    kv_precision: str
    kv_cache_tokens: int             # per replica
    prefix_cache_hit: float
    tokens_per_step: float           # per sequence and target step (speculative decoding: > 1)
    disaggregated: str               # '' or the pools
    requests_arrived: float
    requests_served: float
    requests_backlog: float
    requests_abandoned: float
    requests_slo_met: float
    ttft_sum_s: float
    tpot_sum_s: float
    batch_sum: float                 # over served requests, of the batch they were served in
    preemptions: float
    ttft_p50_s: float
    ttft_p99_s: float
    tpot_p99_s: float
    capacity_per_s: float
    capacity_nominal_per_s: float   # all replicas, boards at their own power limit (no site cap)
    peak_demand_per_s: float        # arrival rate x the daily profile's highest hour
    patience_s: float               # how long clients wait before giving up (inf: never)
    failures: int
    availability: float
    energy_j: float
    status: ServiceStatus
    per_sample: np.ndarray


@dataclass(frozen=True)
class GroupRecord:
    """One rack group as built."""

    name: str
    node: NodeSpec
    accel: AcceleratorSpec
    nodes_total: int
    gpus_total: int
    peak_power_w: float           # accelerators at TDP and hosts at full load (fans not included)
    racks: int = 0
    cooling: str = "air"
    peak_fan_w: float = 0.0       # its servers' fans at full load
    available_from_s: float = 0.0  # delivered (joins the pool, capex booked), s after t=0
    retire_s: float = math.inf     # retired (leaves the pool); inf: never


@dataclass(frozen=True)
class NetworkItem:
    """One line of a network's bill of materials."""

    network: str          # compute, storage, frontend, oob
    kind: str             # switch, optic (switch end), node-optic (in a server's cage), cable, nic
    name: str             # catalog entry
    count: int
    unit_power_w: float   # 0 for NICs and node-end optics (their power is inside their server's)
    unit_price_usd: float

    @property
    def power_w(self) -> float:
        return self.count * self.unit_power_w

    @property
    def price_usd(self) -> float:
        return self.count * self.unit_price_usd


@dataclass(frozen=True)
class SupportRecord:
    """Support servers of one catalog model, as built."""

    name: str
    role: str
    count: int
    power_w: float        # typical draw of one
    max_power_w: float
    price_usd: float      # one


@dataclass(frozen=True)
class DesignRecord:
    """The design (peak) loads the site was sized for, and its cooling loops."""

    peak_it_w: float              # every GPU at TDP, hosts and fans at full load, support at max
    air_heat_w: float             # heat the air plant must reject at that load
    liquid_heat_w: float          # heat the liquid plant must reject at that load
    ups_capacity_w: float
    air_plant: str                # plant type of each loop
    liquid_plant: str
    peak_facility_w: float = 0.0  # the peak load in the worst hour of the run (generator sizing)
    room_heat_w: float = 0.0      # heat the room air handlers move
    plate_heat_w: float = 0.0     # direct-liquid (cold plate) heat through CDUs
    immersion_heat_w: float = 0.0
    air_chiller_w: float = 0.0    # chiller capacity each loop needs (its worst hour), before redundancy
    liquid_chiller_w: float = 0.0


@dataclass(frozen=True)
class FabricRecord:
    """The scale-out network as sized."""

    tiers: int
    leaves: int
    spines: int
    cores: int
    switches: int
    optics: int
    power_w: float
    items: tuple[NetworkItem, ...] = ()          # every network's bill of materials
    networks: dict[str, tuple[int, int, int, int]] | None = None   # name -> (tiers, leaves, spines, cores)


@dataclass(frozen=True)
class Settlement:
    """The electricity account after some of the supply steps."""

    energy_usd: float
    demand_usd: float
    degradation_usd: float
    carbon_location_kg: float
    carbon_market_kg: float
    fuel_usd: float = 0.0         # generator diesel (its carbon is in both carbon totals)

    @property
    def total_usd(self) -> float:
        return self.energy_usd + self.demand_usd + self.degradation_usd + self.fuel_usd


@dataclass(frozen=True)
class SupplyRecord:
    """Per-sample supply (W; battery positive when discharging) and the account after each step."""

    grid_w: np.ndarray
    generator_w: np.ndarray
    onsite_w: np.ndarray
    battery_w: np.ndarray
    battery_energy_j: np.ndarray
    ppa_w: np.ndarray
    steps: dict[str, Settlement] = field(default_factory=dict)   # "grid", then each asset present

    @property
    def final(self) -> Settlement:
        return list(self.steps.values())[-1]


@dataclass(frozen=True)
class StorageRecord:
    """The storage tier (engine/storage.py): its size, bandwidths, power and price, and the peak
    bandwidth the jobs' dataset reads ask of it."""

    kind: str
    capacity_bytes: float
    write_bw_bytes_per_s: float
    read_bw_bytes_per_s: float
    power_w: float
    capex_usd: float
    dataset_read_bw_bytes_per_s: float


@dataclass(frozen=True)
class RunRecord:
    """Everything a run measured. Sample arrays hold one row per closed sample interval; their
    columns are engine/recorder.py's POWER_COLUMNS, STATE_COLUMNS and ENV_COLUMNS."""

    horizon_s: float
    sample_interval_s: float
    seeds: dict[str, int]
    envelope_w: float
    groups: tuple[GroupRecord, ...]
    fabric: FabricRecord
    t_s: np.ndarray
    power: np.ndarray
    state: np.ndarray
    env: np.ndarray
    energy_cost_usd: float
    carbon_kg: float
    capped_samples: int
    counters: dict[str, int]
    progress: tuple[tuple[float, str, float, float], ...]
    jobs: tuple[JobRecord, ...]
    services: tuple[ServiceRecord, ...]
    support: tuple[SupportRecord, ...] = ()
    design: DesignRecord | None = None
    supply: SupplyRecord | None = None        # where the facility's power came from (engine/supply.py)
    outages: tuple[tuple[float, float, bool], ...] = ()   # grid outages: (start s, end s, ridden through)
    interruptions_by_cause: dict[str, int] = field(default_factory=dict)  # unexpected, by failure class
    maintenance_stops: int = 0               # jobs and services stopped by planned maintenance windows
    storage: StorageRecord | None = None     # the shared storage tier, when the scenario has one
    months: tuple[tuple[str, float, float], ...] = ()     # dated runs: (label '2027-01', start s, end s)
    scheduling: SchedulingRecord | None = None   # the trace replay (engine/record_sched.py)

    @property
    def samples(self) -> int:
        return len(self.t_s)

    @property
    def gpus(self) -> int:
        return sum(g.gpus_total for g in self.groups)

    def requests(self) -> np.ndarray:
        """Requests per sample summed over services (REQUEST_COLUMNS)."""
        n = self.samples
        return sum((s.per_sample[:n] for s in self.services), np.zeros((n, len(REQUEST_COLUMNS))))
