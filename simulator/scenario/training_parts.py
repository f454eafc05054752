"""The parts of a scenario training job: an explicit parallel layout (resolved to the domain's
ParallelLayout), the stages of a staged run, batch ramp-up and periodic evaluation
(engine/staged.py runs them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.domain.layout import ParallelLayout
from simulator.domain.quantities import Amount, Count, Frozen, NonNegCount, PositiveSeconds


class Layout(Frozen):
    """An explicit parallel layout: tp * cp * pp * dp must equal the job's GPU count."""

    tp: Count = 1
    pp: Count = 1
    dp: Count | None = None
    cp: Count = Field(1, description="Context parallelism: ranks that split each sequence (ring attention).")
    ep: Count = 1
    zero: Literal[0, 1, 2, 3] = 1
    interleave: Count = 1
    sequence_parallel: bool = True
    first_stage_layers: NonNegCount = Field(
        0, description="Layers of the first pipeline stage (0: an even split); the stages without a count "
                       "share the rest equally (Megatron-LM --decoder-first-pipeline-num-layers).")
    last_stage_layers: NonNegCount = Field(
        0, description="Layers of the last pipeline stage (0: an even split), which also holds the LM head "
                       "and loss (Megatron-LM --decoder-last-pipeline-num-layers).")
    tp_comm_overlap: bool | None = Field(
        None, description="Overlap TP collectives with GEMMs (--tp-comm-overlap; needs sequence parallelism); "
                          "default: what the job's software stack does.")

    def resolve(self, gpus: int, micro_batch: int | None, tp_comm_overlap: bool = False) -> ParallelLayout:
        """The domain layout of a job on ``gpus`` accelerators (dp defaults to gpus / (tp*cp*pp),
        the micro-batch to 1, TP overlap to ``tp_comm_overlap``, the stack's default)."""
        overlap = (tp_comm_overlap and self.sequence_parallel) if self.tp_comm_overlap is None \
            else self.tp_comm_overlap
        return ParallelLayout.from_degrees(gpus, micro_batch or 1, tp=self.tp, pp=self.pp, dp=self.dp, ep=self.ep,
                                           zero=self.zero, interleave=self.interleave,
                                           sequence_parallel=self.sequence_parallel, cp=self.cp,
                                           first_stage_layers=self.first_stage_layers,
                                           last_stage_layers=self.last_stage_layers,
                                           tp_comm_overlap=overlap)


class TrainingPhase(Frozen):
    """One stage of a staged training run."""

    name: str | None = Field(None, max_length=200, description="Label for reports (default phase<i>).")
    tokens: Annotated[Amount, Field(gt=0, le=1e16)] = Field(description="Tokens trained in this phase.")
    seq: Count | None = Field(None, description="Sequence length (default: the job's).")
    global_batch: Count | None = Field(None, description="Sequences per step (default: the job's).")
    micro_batch: Count | None = Field(None, description="Sequences per micro-batch (default: the job's).")
    layout: Literal["auto"] | Layout | None = Field(None, description="Parallel layout (default: the job's).")


class BatchRampup(Frozen):
    """Global batch ramp-up at the start of a run (Megatron-LM --rampup-batch-size start
    increment samples): the batch starts at ``start`` and grows by ``increment`` in equal
    shares of ``tokens`` until it reaches the job's global batch."""

    start: Count = Field(description="First global batch (sequences).")
    increment: Count = Field(description="Sequences added at each increase.")
    tokens: Annotated[Amount, Field(gt=0, le=1e16)] = Field(description="Tokens trained while ramping up.")


class Evaluation(Frozen):
    """An evaluation pass every ``every_steps`` steps, costing forward passes over ``tokens`` in
    whole global batches, the last one padded (as NeMo runs them), or a fixed ``duration``."""

    every_steps: Count = Field(description="Training steps between evaluations.")
    tokens: Annotated[Amount, Field(gt=0, le=1e14)] | None = Field(
        None, description="Tokens each evaluation runs forward, in whole global batches "
                                  "(the last padded), e.g. '11.8M'.")
    duration: PositiveSeconds | None = Field(None, description="Wall time of each evaluation, if known instead.")

    @model_validator(mode="after")
    def _one_cost(self):
        if (self.tokens is None) == (self.duration is None):
            raise ValueError("give exactly one of tokens or duration")
        return self
