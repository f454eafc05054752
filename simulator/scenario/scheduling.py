"""The ``scheduler:`` section: which queued job starts next, and where (engine/scheduling/).

Policies (one ``type:`` each): ``easy-backfill`` (the default: priority order, later jobs start
ahead of a blocked head only if they cannot delay it; Lifka 1995), ``fifo`` (strict submission
order), ``priority`` (priority order with preemption of lower-priority jobs, which checkpoint and
requeue), ``fair-share`` (tenants with quotas: the tenant furthest below its share goes first).
Every policy places gangs (all of a job's GPUs at once) with ``placement``: ``first-fit``, or
``topology`` (one rack if the job fits in one, else one leaf switch, else anywhere); with
``elastic`` a job whose trace row allows fewer GPUs (``min_gpus``) may start on fewer.
Training jobs written in ``workloads.training`` are scheduled by EASY backfill; ``fifo`` turns
their backfill off, ``priority`` adds preemption (engine/scheduling/preempt.py: they checkpoint
when preempted and pay ``preemption_cost`` when they run again) and ``fair-share`` orders them by
their ``tenant``'s share (engine/scheduling/fair.py, the rule trace jobs follow too). Every policy
acts on ``workloads.trace`` jobs (engine/scheduling/replay.py); placement and elastic starts are
for trace jobs only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from simulator.domain.quantities import Frozen, NonNegSeconds, UnitFraction

# Slurm's default number of queued jobs one backfill pass considers (slurm.conf(5),
# SchedulerParameters bf_max_job_test, default 500).
DEFAULT_BACKFILL_DEPTH = 500


class _Policy(Frozen):
    placement: Literal["first-fit", "topology"] = Field(
        "first-fit", description="first-fit: the first free nodes (best-fit node for jobs smaller than a node); "
                                 "topology: one rack if the job fits in one, else one leaf switch, else first-fit.")
    elastic: bool = Field(False, description="Start a job on fewer GPUs (down to its trace min_gpus) when its "
                                             "full size does not fit; its GPU-time is spread over what it got.")
    leaf_racks: Annotated[int, Field(strict=True, ge=1, le=100_000)] = Field(
        4, description="Racks under one leaf switch, for topology placement.")


class EasyBackfill(_Policy):
    """Priority order; a later job may start ahead of a blocked head only if it cannot delay the
    head's reserved start (EASY backfill, Lifka 1995). The default, as before this section."""

    type: Literal["easy-backfill"] = "easy-backfill"
    backfill_depth: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = Field(
        DEFAULT_BACKFILL_DEPTH, description="Queued jobs one backfill pass looks at (Slurm bf_max_job_test).")


class Fifo(_Policy):
    """Strict submission order: the oldest job waits until it fits and nothing passes it."""

    type: Literal["fifo"] = "fifo"


class PriorityPreemptive(_Policy):
    """Priority order (FIFO within a priority); a job that does not fit preempts running jobs of
    lower priority (lowest first, latest started first): they lose the work since their last
    checkpoint, pay ``preemption_cost`` and requeue with their first submit time."""

    type: Literal["priority"] = "priority"
    preemption_cost: NonNegSeconds = Field(
        300.0, description="Time a preempted job spends on its checkpoint and restore, on its GPUs, when it "
                           "runs again.")
    checkpoint_interval: NonNegSeconds = Field(
        0.0, description="Run time between a job's checkpoints: a preempted job also redoes the work since its "
                         "last one (0: it checkpoints when preempted and loses none).")


class TenantQuota(Frozen):
    """One tenant's share of the trace's GPUs under fair share."""

    share: UnitFraction = Field(description="Share of the trace's GPUs the tenant is entitled to.")


class FairShare(_Policy):
    """Tenants with quotas: each start goes to the tenant with the lowest allocated GPUs / share
    whose oldest job fits (FIFO within a tenant); tenants not listed split what is left equally.
    Without ``borrow`` a tenant never holds more than its share."""

    type: Literal["fair-share"] = "fair-share"
    tenants: dict[str, TenantQuota] = Field(default_factory=dict,
                                            description="Tenant name -> quota; unlisted tenants share the rest.")
    borrow: bool = Field(True, description="Tenants may use idle GPUs beyond their share.")

    @field_validator("tenants")
    @classmethod
    def _shares(cls, tenants):
        total = sum(t.share for t in tenants.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"tenant shares add up to {total:.3g}; at most 1")
        return tenants


SchedulerConfig = Annotated[EasyBackfill | Fifo | PriorityPreemptive | FairShare, Field(discriminator="type")]

__all__ = ["DEFAULT_BACKFILL_DEPTH", "EasyBackfill", "FairShare", "Fifo", "PriorityPreemptive", "SchedulerConfig",
           "TenantQuota"]
