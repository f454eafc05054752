"""The scenario's ``catalog:`` section: entries added to the shipped catalog for one scenario
(the rule for replacing shipped entries is scenario/overrides.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.domain.fleet_spec import FleetSpec
from simulator.domain.quantities import Frozen
from simulator.domain.specs import (
    AcceleratorSpec,
    ChillerSpec,
    ClimateSpec,
    EngineSpec,
    FacilityCostSpec,
    ModelSpec,
    NicSpec,
    NodeSpec,
    OpticSpec,
    ServerSpec,
    SwitchSpec,
)
from simulator.domain.stack_spec import StackSpec


class CatalogOverrides(Frozen):
    """Entries added to the shipped catalog for this scenario. An entry that shares a name or an
    alias with a shipped entry replaces it only when ``replace`` names that shipped entry, so a
    scenario never shadows the catalog by accident; summary.json lists what was added and replaced."""

    replace: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=1000,
        description="Shipped entries (by name) that this section's entries of the same name replace on purpose.")

    accelerators: list[AcceleratorSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    nodes: list[NodeSpec] = Field(default_factory=list)
    switches: list[SwitchSpec] = Field(default_factory=list)
    optics: list[OpticSpec] = Field(default_factory=list)
    climates: list[ClimateSpec] = Field(default_factory=list)
    engines: list[EngineSpec] = Field(default_factory=list)
    chillers: list[ChillerSpec] = Field(default_factory=list)
    nics: list[NicSpec] = Field(default_factory=list)
    servers: list[ServerSpec] = Field(default_factory=list)
    facility_costs: list[FacilityCostSpec] = Field(default_factory=list)
    stacks: list[StackSpec] = Field(default_factory=list)
    fleets: list[FleetSpec] = Field(default_factory=list)
