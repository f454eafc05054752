"""The site's power stack at one moment: IT (accelerators, hosts, network) -> heat split by rack
cooling type -> cooling plant -> power-chain losses -> facility power against the envelope.
"""

from __future__ import annotations

import numpy as np

from simulator.domain.units import human
from simulator.engine.cluster import Group
from simulator.engine.cooling import cooling_power
from simulator.engine.power_chain import default_ups_capacity_w, facility_power
from simulator.errors import Problem
from simulator.scenario.schema import Scenario

# Lowest board power limit as a share of TDP (nvidia-smi -pl floor: 200 W of 700 W on H100 SXM).
MIN_CAP_FRACTION = 0.3


class SitePower:
    """Power breakdown of the whole facility from per-group accelerator and host power."""

    def __init__(self, scenario: Scenario, groups: list[Group], network_power_w: float):
        self.scenario = scenario
        self.groups = groups
        self.network_power_w = float(network_power_w)
        self.envelope_w = scenario.site.power_envelope
        self.min_cap_fraction = MIN_CAP_FRACTION
        peak_it = sum(g.peak_power_w() for g in groups) + self.network_power_w
        self.ups_capacity_w = default_ups_capacity_w(peak_it, scenario.power)
        self._liquid = np.array([g.config.cooling == "liquid" for g in groups])

    def breakdown(self, accel_w: np.ndarray, host_w: np.ndarray, ambient_c: float) -> dict[str, float]:
        """Every power component (W) for per-group accelerator and host power at ``ambient_c``."""
        cooling_cfg = self.scenario.cooling
        group_heat = np.asarray(accel_w, dtype=float) + np.asarray(host_w, dtype=float)
        liquid_heat = float(np.sum(group_heat[self._liquid])) * cooling_cfg.liquid_capture
        air_heat = float(np.sum(group_heat)) - liquid_heat + self.network_power_w
        cool = cooling_power(air_heat, liquid_heat, ambient_c, cooling_cfg)
        accel = float(np.sum(accel_w))
        hosts = float(np.sum(host_w))
        it = accel + hosts + self.network_power_w
        plant = float(cool["total_w"]) - float(cool["other_w"])
        chain = facility_power(it, plant, float(cool["other_w"]), self.scenario.power, self.ups_capacity_w)
        return {
            "accelerator_power_w": accel,
            "host_power_w": hosts,
            "network_power_w": self.network_power_w,
            "it_power_w": it,
            "losses_power_w": float(chain["pdu_loss_w"] + chain["ups_loss_w"] + chain["transformer_loss_w"]),
            "cooling_power_w": plant,
            "chiller_power_w": float(cool["chiller_w"]),
            "economiser_power_w": float(cool["economiser_w"]),
            "fan_power_w": float(cool["fans_w"]),
            "pump_power_w": float(cool["pumps_w"]),
            "other_power_w": float(cool["other_w"]),
            "facility_power_w": float(chain["facility_w"]),
        }

    def idle_breakdown(self, ambient_c: float, busy_gpus: np.ndarray | None = None,
                       serving_w: np.ndarray | None = None) -> dict[str, float]:
        """Every accelerator idle; the hosts idle too but for those of ``busy_gpus`` per group
        (inference services hold their nodes busy whatever their load), and ``serving_w`` per
        group drawn above idle by the services' boards."""
        accel = np.array([g.gpus_total * g.accel.idle_power for g in self.groups])
        if serving_w is not None:
            accel = accel + serving_w
        busy = np.zeros(len(self.groups)) if busy_gpus is None else busy_gpus
        hosts = np.array([g.host_power_w(float(busy[g.index])) for g in self.groups])
        return self.breakdown(accel, hosts, ambient_c)

    def ups_problems(self) -> list[Problem]:
        """A UPS rated below the IT load it must carry at its peak: every accelerator at TDP with
        its host, within the racks' power limits and (with power capping) the envelope, plus the
        network, after PDU losses. A smaller UPS would run past its rating."""
        chain = self.scenario.power
        if chain.ups_capacity is None:
            return []
        racks = sum(min(g.peak_power_w(), g.config.count * g.config.power_limit)
                    if g.config.power_limit is not None else g.peak_power_w() for g in self.groups)
        load = racks + self.network_power_w
        if chain.power_capping:
            load = min(load, self.envelope_w)
        load /= chain.pdu_efficiency
        if chain.ups_capacity >= load:
            return []
        return [Problem("power.ups_capacity", f"{human(chain.ups_capacity, 'power')} is below the peak IT load "
                                              f"the UPS carries, {human(load, 'power')} (every accelerator at TDP "
                                              "with its host and the network, after PDU losses)")]

    def idle_problems(self, hottest_c: float, busy_gpus: np.ndarray | None = None,
                      serving_w: np.ndarray | None = None) -> list[Problem]:
        """The idle cluster alone exceeding the envelope on the hottest hour (checked before a run
        and by ``dcsim validate``), with the hosts of the services' nodes busy: power capping
        can neither idle them nor pause a service."""
        idle = self.idle_breakdown(hottest_c, busy_gpus, serving_w)["facility_power_w"]
        if idle <= self.envelope_w:
            return []
        return [Problem("site.power_envelope", f"{human(self.envelope_w, 'power')} is below the idle facility load "
                                               f"of {human(idle, 'power')} at the hottest hour ({hottest_c:.1f} C)"
                                               + (", the inference services at their peak demand on the "
                                                  "lowest power cap"
                                                  if busy_gpus is not None and busy_gpus.any() else ""))]
