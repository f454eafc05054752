"""The scale-out fabric keys of a scenario's cluster, and the fabric file of ``dcsim estimate
train --fabric`` (its own module so that estimates need not import the whole scenario schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.domain.quantities import Frozen


class Fabric(Frozen):
    """Scale-out network: topology, switch and optic models, oversubscription."""

    topology: Literal["rail-optimized", "fat-tree"] = Field("rail-optimized")
    switch: str = Field("quantum2-qm9700", description="Catalog switch for leaves and spines.")
    optic: str = Field("osfp-800g-2x400", description="Catalog transceiver at each switch-to-switch link end.")
    node_link: Literal["optic", "dac"] = Field("optic", description="How nodes attach to leaves.")
    core_optic: str | None = Field(None, description="Catalog transceiver on spine-core links (longer runs, e.g. "
                                                     "single-mode osfp-800g-2x400-dr4); default: optic.")
    cable: str = Field("mpo-fiber", description="Catalog cable per optical link.")
    nic: str | None = Field(None, description="Catalog NIC of the nodes' scale-out ports; default: the first "
                                              "whose port matches the node's NIC bandwidth.")
    oversubscription: float = Field(1.0, ge=1.0, le=64.0, description="Leaf down/up bandwidth ratio.")
    tiers: Literal[2, 3] | None = Field(None, description="Switch tiers; default: the fewest that fit.")


class FabricFile(Fabric):
    """A fabric description for ``dcsim estimate train --fabric FILE``: the Fabric keys plus the
    catalog node the job runs on (default: the first catalog node with the accelerator)."""

    node: str | None = Field(None, description="Catalog node name, e.g. dgx-h100.")
