"""A fleet's failure rates by cause as a catalog entry (catalog/fleets.yaml): what interrupts
training jobs on a production or research cluster, how often, and what each cause takes down."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.domain.quantities import Frozen, NonNegSeconds


class FleetClassSpec(Frozen):
    """One cause of unexpected interruptions in a fleet."""

    name: str = Field(min_length=1, max_length=100)
    rate: float = Field(ge=0, le=1e6, description="Failures per 1000 node-days over the whole fleet.")
    scope: Literal["node", "rack", "leaf"] = Field("node", description="Blast radius: node, rack or leaf switch.")
    restart_time: NonNegSeconds | None = Field(None, description="Restart before the checkpoint read (default: "
                                                                 "the scenario's failures.restart_time).")
    repair_time: NonNegSeconds | None = Field(None, description="Time the hardware is out (default: the "
                                                                "scenario's failures.repair_time).")
    note: str = Field("", max_length=2000, description="What the class gathers, from the source's categories.")


class FleetSpec(Frozen):
    """Failure classes by cause of one fleet, with where the rates come from."""

    name: str = Field(min_length=1, max_length=100)
    aliases: tuple[str, ...] = ()
    source: str = Field(description="Where the rates and shares come from.")
    classes: tuple[FleetClassSpec, ...] = Field(min_length=1, max_length=100)
