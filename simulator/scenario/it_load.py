"""Scenario sections for the IT load beside the accelerator nodes: support servers (storage,
management, fabric managers, login nodes) and the storage, front-end and out-of-band networks
(engine/networks.py sizes them).

Defaults follow the NVIDIA DGX SuperPOD reference architecture for DGX H100 (RA-11333-001 V11):
per scalable unit of 32 nodes (256 GPUs) one UFM appliance and one management server, a
storage fabric slightly oversubscribed at 4:3, a bonded in-band Ethernet network and a 1 GbE
out-of-band network (benchmarks/reference/facility/it_load.yaml).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.domain.quantities import Count, Frozen, PositiveBytesPerS

# GPUs per DGX SuperPOD scalable unit (32 nodes of 8 GPUs): the default support ratio.
GPUS_PER_SU = 256


class SupportGroup(Frozen):
    """Support servers of one catalog model: a fixed ``count``, or one per ``per_gpus`` GPUs
    (rounded up, at least one)."""

    server: str = Field(description="Catalog support server (dcsim catalog servers).")
    count: Count | None = Field(None, description="How many.")
    per_gpus: Annotated[float, Field(gt=0, le=1e7)] | None = Field(None, description="One per this many GPUs.")

    @model_validator(mode="after")
    def _one_rule(self):
        if (self.count is None) == (self.per_gpus is None):
            raise ValueError("give count or per_gpus (exactly one)")
        return self


def superpod_support() -> list[SupportGroup]:
    """Per 256 GPUs: a storage appliance, a management server, a UFM appliance (RA-11333-001
    Table 7: 4 each for 4 SUs) and a login/scheduler node (engineering estimate)."""
    return [SupportGroup(server=name, per_gpus=GPUS_PER_SU)
            for name in ("ddn-ai400x2", "bcm-head-node", "ufm-appliance", "cpu-login-node")]


class NetworkSpec(Frozen):
    """One auxiliary network, sized as a folded Clos like the compute fabric."""

    switch: str = Field(description="Catalog switch.")
    port_bw: PositiveBytesPerS = Field(description="Bandwidth of an endpoint port.")
    ports_per_node: int = Field(ge=0, le=64, description="Ports each accelerator node has on this network.")
    nic: str = Field("onboard", description="Catalog NIC the nodes use for it ('onboard': nothing to buy).")
    optic: str | None = Field(None, description="Catalog transceiver at switch-to-switch link ends; none: copper.")
    node_link: Literal["optic", "dac", "copper"] = Field("dac", description="How endpoints attach to leaves.")
    cable: str = Field("mpo-fiber", description="Catalog cable per optical link.")
    oversubscription: float = Field(1.0, ge=1.0, le=64.0, description="Leaf down/up bandwidth ratio.")


def _storage() -> NetworkSpec:
    return NetworkSpec(switch="quantum2-qm9700", port_bw=50e9, ports_per_node=2, nic="connectx7-2x200g",
                       optic="osfp-800g-2x400", node_link="optic", oversubscription=4 / 3)


def _frontend() -> NetworkSpec:
    return NetworkSpec(switch="spectrum3-sn4600c", port_bw=12.5e9, ports_per_node=2, nic="connectx7-2x200g",
                       optic="qsfp28-100g-sr4", node_link="dac", oversubscription=2.0)


def _oob() -> NetworkSpec:
    return NetworkSpec(switch="spectrum-sn2201", port_bw=0.125e9, ports_per_node=1, nic="onboard",
                       optic=None, node_link="copper", cable="cat6-copper", oversubscription=12.0)


class Networks(Frozen):
    """The networks beside the compute fabric; null switches one off."""

    storage: NetworkSpec | None = Field(default_factory=_storage, description="Storage fabric (NDR InfiniBand, "
                                                                              "4:3 as in the SuperPOD RA).")
    frontend: NetworkSpec | None = Field(default_factory=_frontend, description="In-band Ethernet (2 x 100 GbE "
                                                                                "bonded per node).")
    oob: NetworkSpec | None = Field(default_factory=_oob, description="Out-of-band 1 GbE management (nodes, "
                                                                      "switches, PDUs).")
