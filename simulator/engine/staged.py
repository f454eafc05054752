"""Staged training runs: the phases a job trains in (sequence-length stages, batch ramp-up),
each with its own cost tables, and evaluation passes folded into the step time.

A job without ``phases`` is one phase of its own tokens, sequence, batch and layout. With
``batch_rampup`` (Megatron-LM ``--rampup-batch-size start increment samples``) the first
phase is preceded by phases of global batch start, start + increment, ... below the job's,
each training an equal share of the ramp-up tokens on the first phase's layout (the batches
must split into its micro-batches and data-parallel replicas). Evaluation every N steps adds
its cost / N to every step of a phase (a forward pass over its tokens on the phase's layout,
or a given duration): the engine advances steps in bulk, so evaluations are time, not events.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from simulator.costmodel.training_plan import TrainingPlan
from simulator.errors import InputError, Problem
from simulator.scenario.schema import Layout, TrainingJob


@dataclass(frozen=True)
class PhaseSpec:
    """What one phase trains: tokens, sequence, batch, micro-batch and layout ('auto', an
    explicit Layout, or 'first': the first real phase's chosen layout, for ramp-up)."""

    name: str
    tokens: float
    seq: int
    global_batch: int
    micro_batch: int | None
    layout: str | Layout


def phase_specs(job: TrainingJob) -> list[PhaseSpec]:
    """The phases of a job in the order they run (ramp-up first)."""
    phases = []
    for i, p in enumerate(job.phases or ()):
        phases.append(PhaseSpec(p.name or f"phase{i + 1}", float(p.tokens), p.seq or job.seq,
                                p.global_batch or job.global_batch,
                                p.micro_batch if p.micro_batch is not None else job.micro_batch,
                                p.layout if p.layout is not None else job.layout))
    if not phases:
        phases.append(PhaseSpec("main", float(job.tokens), job.seq, job.global_batch, job.micro_batch, job.layout))
    ramp = job.batch_rampup
    if ramp is None:
        return phases
    first = phases[0]
    batches = list(range(ramp.start, first.global_batch, ramp.increment))
    if not batches:
        return phases
    share = float(ramp.tokens) / len(batches)
    ramped = [dataclasses.replace(first, name=f"rampup-{b}", tokens=share, global_batch=b, layout="first")
              for b in batches]
    return [*ramped, dataclasses.replace(first, tokens=first.tokens - float(ramp.tokens)), *phases[1:]]


def staged_problems(job: TrainingJob) -> list[tuple[str, str]]:
    """What cannot hold in a job's phases, ramp-up and evaluation, as (field, message)."""
    out = []
    if job.phases:
        total = sum(float(p.tokens) for p in job.phases)
        if abs(total - float(job.tokens)) > 1e-6 * float(job.tokens):
            out.append(("phases", f"the phases train {total:.6g} tokens but the job's tokens are "
                                  f"{float(job.tokens):.6g}; they must add up"))
    ramp = job.batch_rampup
    if ramp is not None:
        first_batch = job.phases[0].global_batch if job.phases and job.phases[0].global_batch else job.global_batch
        first_tokens = float(job.phases[0].tokens) if job.phases else float(job.tokens)
        if ramp.start >= first_batch:
            out.append(("batch_rampup.start", f"start {ramp.start} must be below the global batch {first_batch}"))
        elif (first_batch - ramp.start) % ramp.increment:
            out.append(("batch_rampup.increment", f"increments of {ramp.increment} from {ramp.start} do not reach "
                                                  f"the global batch {first_batch}"))
        if float(ramp.tokens) >= first_tokens:
            out.append(("batch_rampup.tokens", f"ramp-up tokens {float(ramp.tokens):.6g} must be fewer than the "
                                               f"first phase's {first_tokens:.6g}"))
    return out


def with_evaluation(plan: TrainingPlan, job: TrainingJob, seq: int, global_batch: int) -> TrainingPlan:
    """The plan with the job's evaluation cost spread over the steps between evaluations."""
    ev = job.evaluation
    if ev is None:
        return plan
    if ev.duration is not None:
        each = float(ev.duration)
    else:
        # Whole global batches, the last one padded (NeMo's pad_samples_to_global_batch_size with
        # validation_drop_last False, as MLPerf GPT-3 ran; benchmarks/reference/training_scale/README.md)
        batches = math.ceil(float(ev.tokens or 0.0) / (seq * global_batch) - 1e-9)
        each = plan.breakdown.get("forward_s", 0.0) * batches
    extra = each / ev.every_steps
    by_share = None if plan.step_time_by_share is None else plan.step_time_by_share + extra
    return dataclasses.replace(plan, step_time_s=plan.step_time_s + extra, step_time_by_share=by_share,
                               breakdown={**plan.breakdown, "evaluation_s": each,
                                          "evaluation_per_step_s": extra})


def plan_phases(job: TrainingJob, plan_one) -> list[tuple[str, TrainingPlan, float]]:
    """(name, plan, steps) of every phase; ``plan_one(spec, layout)`` plans one phase with a
    layout ('auto', a Layout or a ParallelLayout)."""
    specs = phase_specs(job)
    first_real = next(i for i, s in enumerate(specs) if s.layout != "first")
    planned: dict[int, TrainingPlan] = {first_real: plan_one(specs[first_real], specs[first_real].layout)}
    chosen = planned[first_real].layout
    out = []
    for i, spec in enumerate(specs):
        if i not in planned:
            if spec.layout == "first":
                need = chosen.micro_batch * chosen.dp
                if spec.global_batch % need:
                    raise InputError([Problem("batch_rampup", f"ramp-up batch {spec.global_batch} is not a multiple "
                                                              f"of micro_batch*dp = {need} of layout {chosen.name}")])
                planned[i] = plan_one(spec, chosen)
            else:
                planned[i] = plan_one(spec, spec.layout)
        plan = with_evaluation(planned[i], job, spec.seq, spec.global_batch)
        out.append((spec.name, plan, float(math.ceil(spec.tokens / plan.tokens_per_step))))
    return out


def total_tokens(phases: list[tuple[str, TrainingPlan, float]]) -> float:
    return float(np.sum([p.tokens_per_step * steps for _, p, steps in phases]))
