"""Scenario sections for failures and planned maintenance (engine/failures.py,
engine/failure_classes.py, engine/maintenance.py).

Failures come in one of three forms:
- the single node class of earlier versions: ``node_mtbf`` (every node fails at 1/MTBF);
- a fleet from the catalog (``fleet: llama3-production``, domain/catalog/fleets.yaml): failure
  classes by cause, each with its rate, blast radius, restart and repair time, and its source;
- ``classes:``, the same list written out in the scenario.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from simulator.domain.quantities import Frozen, NonNegSeconds, PositiveBytesPerS, PositiveSeconds
from simulator.domain.units import human
from simulator.domain.validation import require_unique

FailureScope = Literal["node", "rack", "leaf"]


class FailureClass(Frozen):
    """One cause of unexpected interruptions: its rate, what it takes down, how long the job takes
    to come back and how long the broken hardware is out."""

    name: str = Field(min_length=1, max_length=100, description="The cause, e.g. gpu, hbm, switch, software.")
    rate: float = Field(ge=0, le=1e6, description="Failures per 1000 node-days (the unit of Kokolis et al. "
                                                 "2024's r_f), counted over the whole fleet whatever the scope.")
    scope: FailureScope = Field("node", description="Blast radius: one node, every node of its rack, or every "
                                                    "node under one leaf switch (the fabric's leaf size).")
    restart_time: NonNegSeconds | None = Field(
        None, description="Detection and restart before reading the checkpoint back (default: the section's).")
    repair_time: NonNegSeconds | None = Field(
        None, description="How long the hardware it takes down is out (default: the section's; 0 for a "
                          "software fault: the node comes back at once).")


class Failures(Frozen):
    """Node failures, repairs and checkpoint/restart of training jobs (engine/failures.py)."""

    enabled: bool = Field(True, description="Inject failures (set false to keep the section but switch it off).")
    node_mtbf: PositiveSeconds = Field(
        264 * 86400.0, description="Mean time between failures of one node; default from Llama 3 "
                                   "(419 unexpected interruptions in 54 days on 2048 8-GPU nodes). Not with "
                                   "fleet or classes.")
    fleet: str | None = Field(None, max_length=100, description="Failure classes by cause from the catalog "
                                                                "(fleets.yaml), e.g. llama3-production, rsc-1.")
    classes: list[FailureClass] | None = Field(
        None, min_length=1, max_length=100, description="Failure classes by cause, written out (instead of a fleet).")
    repair_time: NonNegSeconds = Field(2 * 86400.0, description="How long a failed node is out of service.")
    restart_time: NonNegSeconds = Field(600.0, description="Detection, rescheduling and restart, before reading "
                                                           "the checkpoint back.")
    node_checkpoint_bw: PositiveBytesPerS = Field(5e9, description="Checkpoint write bandwidth per node.")
    storage_bw: PositiveBytesPerS = Field(1e12, description="Aggregate bandwidth of the checkpoint storage "
                                                            "(the storage section's, when there is one).")
    checkpoint_interval: PositiveSeconds | None = Field(
        None, description="Running time between checkpoints; default Young's sqrt(2 * write time * job MTBF).")

    @field_validator("classes")
    @classmethod
    def _unique_names(cls, classes):
        if classes is not None:
            require_unique((c.name for c in classes), "class names must be unique")
        return classes

    @model_validator(mode="after")
    def _one_form(self):
        if self.fleet is not None and self.classes is not None:
            raise ValueError("give a fleet or a list of classes, not both")
        if "node_mtbf" in self.model_fields_set and (self.fleet is not None or self.classes is not None):
            raise ValueError("node_mtbf is the single-class form; with a fleet or classes give each class its rate")
        return self

    @property
    def by_cause(self) -> bool:
        """True when failures come by cause (a fleet or classes), not the single node class."""
        return self.fleet is not None or self.classes is not None


class Maintenance(Frozen):
    """Planned maintenance windows: nodes are drained (jobs checkpoint first and lose no work), held
    for the window, and come back; counted apart from unexpected interruptions
    (engine/maintenance.py)."""

    enabled: bool = Field(True, description="Play the windows (false keeps the section but switches it off).")
    every: PositiveSeconds = Field(description="Time between two windows of the same node, e.g. 30d.")
    duration: PositiveSeconds = Field(description="How long a window holds its nodes, e.g. 4h.")
    scope: Literal["node", "rack", "site"] = Field("rack", description="What one window drains: one node, "
                                                                        "one rack, or the whole site.")
    rolling: bool = Field(True, description="Spread the units' windows evenly over the period (one unit at a time); "
                                            "false drains every unit at the same time.")
    first: NonNegSeconds = Field(0.0, description="When the first window opens (the period's start).")

    @model_validator(mode="after")
    def _fits(self):
        if self.duration >= self.every:
            raise ValueError(f"a window of {human(self.duration, 'time')} does not fit in a period of "
                             f"{human(self.every, 'time')}: the duration must be shorter than 'every'")
        return self


__all__ = ["FailureClass", "FailureScope", "Failures", "Maintenance"]
