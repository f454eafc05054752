"""The site's power stack at one moment: IT (accelerators, hosts, server fans, support servers,
networks) -> heat split by rack cooling type -> the two cooling loops -> power-chain losses ->
facility power against the envelope.

Heat paths (engine/cooling.py prices each loop):
- air racks, support servers and switches heat the room air; air handlers (fans:
  ``crah_fan_fraction`` of that heat, their heat added) move it to the air plant's chilled water;
- direct-liquid racks send ``liquid_capture`` of their heat to the liquid plant through CDUs
  (pumps: ``cdu_pump_fraction``), the rest to the room; their server fans slow accordingly;
- rear-door racks send ``rear_door_capture`` of their heat through the doors (fans:
  ``rear_door_fan_fraction``) to the air plant's water, the rest to the room;
- immersion racks send all their heat to the liquid plant and have no server fans.

Everything hour-dependent is looked up by hour index in the loops' precomputed arrays, so a call
costs a few dozen arithmetic steps; ``hour`` may be an array (the same load in every hour).
"""

from __future__ import annotations

import numpy as np

from simulator.domain.catalog import Catalog
from simulator.domain.units import human
from simulator.engine.cluster import Group
from simulator.engine.cooling import LoopHours, loop_hours, loop_power, loop_power_at
from simulator.engine.fans import fan_power_w
from simulator.engine.networks import NetworkPlan, SupportServers
from simulator.engine.power_chain import default_ups_capacity_w, facility_power, facility_power_at, indoor_loss_w
from simulator.errors import Problem
from simulator.scenario.schema import Scenario

# Lowest board power limit as a share of TDP (nvidia-smi -pl floor: 200 W of 700 W on H100 SXM).
MIN_CAP_FRACTION = 0.3


class SitePower:
    """Power breakdown of the whole facility from per-group accelerator and host power."""

    def __init__(self, scenario: Scenario, groups: list[Group], networks: NetworkPlan, support: SupportServers,
                 dry_bulb_c: np.ndarray, wet_bulb_c: np.ndarray, catalog: Catalog):
        self.scenario = scenario
        self.groups = groups
        self.cooling = scenario.cooling
        self.network_power_w = networks.power_w
        # The storage tier (scenario storage section) draws its power with the support servers.
        storage_w = scenario.storage.power if scenario.storage is not None else 0.0
        self.support_power_w = support.power_w + storage_w
        self.envelope_w = scenario.site.power_envelope
        self.min_cap_fraction = MIN_CAP_FRACTION
        self._types = [g.config.cooling for g in groups]
        inlet = self.cooling.supply_air
        air_share = 1.0 - self.cooling.liquid_capture
        self._idle_fan_w = [float(fan_power_w(g.node.fans, 0.0, inlet, t, air_share)) for g, t in
                            zip(groups, self._types, strict=True)]
        self.peak_fan_w = [float(fan_power_w(g.node.fans, 1.0, inlet, t, air_share)) * g.nodes_total
                           for g, t in zip(groups, self._types, strict=True)]
        peak_accel = np.array([g.gpus_total * g.accel.tdp for g in groups])
        peak_host = np.array([g.nodes_total * g.node.host_power for g in groups])
        peak = self._heat(peak_accel, peak_host, np.array(self.peak_fan_w), support.max_power_w + storage_w)
        self.peak_it_w = peak["it_power_w"]
        self.ups_capacity_w = default_ups_capacity_w(self.peak_it_w, scenario.power)
        design_air = peak["air_heat_w"] + indoor_loss_w(self.peak_it_w, scenario.power, self.ups_capacity_w) \
            + float(self.cooling.other_overhead)
        design_liquid = peak["liquid_heat_w"]
        self.air_loop: LoopHours = loop_hours(self.cooling.air_plant, "air", dry_bulb_c, wet_bulb_c, design_air,
                                              catalog, self.cooling)
        self.liquid_loop: LoopHours = loop_hours(self.cooling.liquid_plant, "liquid", dry_bulb_c, wet_bulb_c,
                                                 design_liquid, catalog, self.cooling)
        self.installed = np.ones(len(groups))     # groups in service now (engine/schedules.py)
        self.all_installed = True
        self.hours = len(np.asarray(dry_bulb_c))
        self.dry_bulb_c = np.asarray(dry_bulb_c, dtype=float)
        self.design = self._design(peak)

    def _design(self, peak: dict) -> dict[str, float]:
        """What the plant and the power chain are sized for: the peak load in its worst hour."""
        hours = np.arange(self.hours)
        worst = self._finish(peak, hours)
        indoor = indoor_loss_w(peak["it_power_w"], self.scenario.power, self.ups_capacity_w) \
            + float(self.cooling.other_overhead)
        air = loop_power(self.air_loop, peak["air_heat_w"] + indoor, hours)
        liquid = loop_power(self.liquid_loop, peak["liquid_heat_w"], hours)
        return {
            "peak_facility_w": float(np.max(worst["facility_power_w"])),
            "room_heat_w": peak["room_heat_w"],
            "plate_heat_w": peak["plate_heat_w"],
            "immersion_heat_w": peak["immersion_heat_w"],
            "air_chiller_w": float(np.max((1.0 - air["free_fraction"]) * (peak["air_heat_w"] + indoor)))
            if self.air_loop.chiller is not None else 0.0,
            "liquid_chiller_w": float(np.max((1.0 - liquid["free_fraction"]) * peak["liquid_heat_w"]))
            if self.liquid_loop.chiller is not None else 0.0,
        }

    def set_installed(self, mask: np.ndarray) -> None:
        """Which groups are in service (1) or not yet delivered / retired (0) from now on."""
        self.installed = np.asarray(mask, dtype=float)
        self.all_installed = bool(np.all(self.installed > 0))

    # ------------------------------------------------------------------ IT and heat
    def fans_w(self, accel_w, active_gpus) -> list[float]:
        """Server fan power per group: idle servers at idle speed, servers running work at the
        load their accelerators' mean board power gives (engine/fans.py, in plain floats)."""
        out = [0.0] * len(self.groups)
        inlet = self.cooling.supply_air
        air_share = 1.0 - self.cooling.liquid_capture
        for i, g in enumerate(self.groups):
            fans = g.node.fans
            if fans is None or self._types[i] == "immersion":
                continue
            active = 0.0 if active_gpus is None else float(active_gpus[i])
            busy_nodes = active / g.gpus_per_node
            total = (g.nodes_total - busy_nodes) * self._idle_fan_w[i]
            if active > 0:
                board = (float(accel_w[i]) - g.accel.idle_power * (g.gpus_total - active)) / active
                load = min(max((board - g.accel.idle_power) / (g.accel.tdp - g.accel.idle_power), 0.0), 1.0)
                speed = fans.idle_speed + (fans.full_load_speed - fans.idle_speed) * load \
                    + fans.speed_per_c * (inlet - fans.reference_inlet)
                speed = min(max(speed, fans.idle_speed), 1.0)
                if self._types[i] == "liquid":
                    speed = max(speed * air_share, fans.idle_speed)
                total += busy_nodes * fans.max_power * speed ** 3
            out[i] = total
        return out

    def _heat(self, accel_w, host_w, fans_w, support_w: float) -> dict:
        cool = self.cooling
        group_heat = [float(a) + float(h) + float(f) for a, h, f in zip(accel_w, host_w, fans_w, strict=True)]
        room = self.network_power_w + support_w
        door = 0.0
        plates = 0.0
        immersed = 0.0
        for heat, kind in zip(group_heat, self._types, strict=True):
            if kind == "air":
                room += heat
            elif kind == "liquid":
                plates += heat * cool.liquid_capture
                room += heat * (1.0 - cool.liquid_capture)
            elif kind == "rear-door":
                door += heat * cool.rear_door_capture
                room += heat * (1.0 - cool.rear_door_capture)
            else:
                immersed += heat
        liquid = plates + immersed
        handlers = cool.crah_fan_fraction * room + cool.rear_door_fan_fraction * door
        return {
            "accelerator_power_w": float(sum(float(a) for a in accel_w)),
            "host_power_w": float(sum(float(h) for h in host_w)),
            "server_fan_power_w": float(sum(fans_w)),
            "support_power_w": support_w,
            "network_power_w": self.network_power_w,
            "it_power_w": sum(group_heat) + self.network_power_w + support_w,
            "air_handler_power_w": handlers,
            "cdu_power_w": cool.cdu_pump_fraction * liquid,
            "air_heat_w": room + door + handlers,
            "liquid_heat_w": liquid,
            "room_heat_w": room,
            "plate_heat_w": plates,
            "immersion_heat_w": immersed,
        }

    # ------------------------------------------------------------------ the plant and the chain
    def plant(self, air_heat_w, liquid_heat_w, hour) -> dict[str, np.ndarray]:
        """Both loops' power and water for their heat in ``hour`` (index or array of indices)."""
        share: float | np.ndarray = 1.0
        limit = self.cooling.water_limit
        if limit is not None:
            wanted = (self.air_loop.wet_water_m3_per_j[hour] * air_heat_w
                      + self.liquid_loop.wet_water_m3_per_j[hour] * liquid_heat_w)
            share = np.where(wanted > limit, limit / np.maximum(wanted, 1e-300), 1.0)
        air = loop_power(self.air_loop, air_heat_w, hour, share)
        liquid = loop_power(self.liquid_loop, liquid_heat_w, hour, share)
        return {k: air[k] + liquid[k] for k in air}

    def breakdown(self, accel_w: np.ndarray, host_w: np.ndarray, hour, active_gpus: np.ndarray | None = None
                  ) -> dict[str, float]:
        """Every power component (W) and the water flow (m3/s) for per-group accelerator and host
        power in ``hour`` (with ``active_gpus`` per group running work; None: none)."""
        fans = self.fans_w(accel_w, active_gpus)
        if not self.all_installed:              # racks not delivered yet, or retired, draw nothing
            accel_w, host_w = accel_w * self.installed, host_w * self.installed
            fans = [f * m for f, m in zip(fans, self.installed, strict=True)]
        parts = self._heat(accel_w, host_w, fans, self.support_power_w)
        if np.ndim(hour) == 0:
            return self._finish_at(parts, int(hour))
        return self._finish(parts, hour)

    def _finish_at(self, parts: dict, hour: int) -> dict:
        """``_finish`` for one hour in plain floats (the run's hot path)."""
        chain = self.scenario.power
        other = float(self.cooling.other_overhead)
        indoor = indoor_loss_w(parts["it_power_w"], chain, self.ups_capacity_w) + other
        air_q = parts["air_heat_w"] + indoor
        liquid_q = parts["liquid_heat_w"]
        share = 1.0
        limit = self.cooling.water_limit
        if limit is not None:
            wanted = float(self.air_loop.wet_water_m3_per_j[hour]) * air_q \
                + float(self.liquid_loop.wet_water_m3_per_j[hour]) * liquid_q
            share = limit / wanted if wanted > limit else 1.0
        air = loop_power_at(self.air_loop, air_q, hour, share)
        liquid = loop_power_at(self.liquid_loop, liquid_q, hour, share)
        handlers = parts["air_handler_power_w"]
        pumps = air[2] + liquid[2] + parts["cdu_power_w"]
        cooling = air[0] + liquid[0] + air[1] + liquid[1] + pumps + handlers
        facility, ups_loss, transformer_loss = facility_power_at(parts["it_power_w"], cooling, other, chain,
                                                                 self.ups_capacity_w)
        out = {k: parts[k] for k in ("accelerator_power_w", "host_power_w", "server_fan_power_w",
                                     "support_power_w", "network_power_w", "it_power_w")}
        out.update({
            "losses_power_w": ups_loss + transformer_loss,
            "cooling_power_w": cooling,
            "chiller_power_w": air[0] + liquid[0],
            "heat_rejection_power_w": air[1] + liquid[1],
            "air_handler_power_w": handlers,
            "pump_power_w": pumps,
            "other_power_w": other,
            "facility_power_w": facility,
            "water_m3_per_s": air[3] + liquid[3],
            "cooling_shortfall_w": air[5] + liquid[5],
        })
        return out

    def _finish(self, parts: dict, hour) -> dict:
        # PDU and UPS losses and the facility's other loads (lighting, offices) are heat indoors,
        # removed by the air plant (Rasmussen, APC WP 25); the medium-voltage transformer stands
        # outdoors.
        indoor = indoor_loss_w(parts["it_power_w"], self.scenario.power, self.ups_capacity_w) \
            + float(self.cooling.other_overhead)
        plant = self.plant(parts["air_heat_w"] + indoor, parts["liquid_heat_w"], hour)
        cooling = plant["chiller_w"] + plant["rejection_w"] + plant["pump_w"] + parts["air_handler_power_w"] \
            + parts["cdu_power_w"]
        other = float(self.cooling.other_overhead)
        chain = facility_power(parts["it_power_w"], cooling, other, self.scenario.power, self.ups_capacity_w)
        scalar = np.ndim(hour) == 0
        out = {k: parts[k] for k in ("accelerator_power_w", "host_power_w", "server_fan_power_w",
                                     "support_power_w", "network_power_w", "it_power_w")}
        derived = {
            "losses_power_w": chain["pdu_loss_w"] + chain["ups_loss_w"] + chain["transformer_loss_w"],
            "cooling_power_w": cooling,
            "chiller_power_w": plant["chiller_w"],
            "heat_rejection_power_w": plant["rejection_w"],
            "air_handler_power_w": np.full(np.shape(cooling), parts["air_handler_power_w"]),
            "pump_power_w": plant["pump_w"] + parts["cdu_power_w"],
            "other_power_w": np.full(np.shape(cooling), other),
            "facility_power_w": chain["facility_w"],
            "water_m3_per_s": plant["water_m3_per_s"],
            "cooling_shortfall_w": plant["shortfall_w"],
        }
        for k, v in derived.items():
            out[k] = float(v) if scalar else np.asarray(v)
        return out

    def idle_breakdown(self, hour, busy_gpus: np.ndarray | None = None, serving_w: np.ndarray | None = None) -> dict:
        """Every accelerator idle; the hosts idle too but for those of ``busy_gpus`` per group
        (inference services hold their nodes busy whatever their load), and ``serving_w`` per
        group drawn above idle by the services' boards."""
        accel = np.array([g.gpus_total * g.accel.idle_power for g in self.groups])
        if serving_w is not None:
            accel = accel + serving_w
        busy = np.zeros(len(self.groups)) if busy_gpus is None else busy_gpus
        hosts = np.array([g.host_power_w(float(busy[g.index])) for g in self.groups])
        return self.breakdown(accel, hosts, hour, busy if busy.any() else None)

    def ups_problems(self) -> list[Problem]:
        """A UPS rated below the IT load it must carry at its peak: every accelerator at TDP with
        its host, within the racks' power limits and (with power capping) the envelope, plus the
        network, after PDU losses. A smaller UPS would run past its rating."""
        chain = self.scenario.power
        if chain.ups_capacity is None:
            return []
        racks = sum(min(g.peak_power_w(), g.config.count * g.config.power_limit)
                    if g.config.power_limit is not None else g.peak_power_w() for g in self.groups)
        load = racks + self.network_power_w + self.support_power_w
        if chain.power_capping:
            load = min(load, self.envelope_w)
        load /= chain.pdu_efficiency
        if chain.ups_capacity >= load:
            return []
        return [Problem("power.ups_capacity", f"{human(chain.ups_capacity, 'power')} is below the peak IT load "
                                              f"the UPS carries, {human(load, 'power')} (every accelerator at TDP "
                                              "with its host and the network, after PDU losses)")]

    def idle_problems(self, busy_gpus: np.ndarray | None = None, serving_w: np.ndarray | None = None) -> list[Problem]:
        """The idle cluster alone exceeding the envelope in its worst hour (checked before a run
        and by ``dcsim validate``), with the hosts of the services' nodes busy and their boards at
        their peak demand on the lowest cap: power capping can neither idle them nor pause a service."""
        idle = self.idle_breakdown(np.arange(self.hours), busy_gpus, serving_w)["facility_power_w"]
        worst = int(np.argmax(idle))
        if idle[worst] <= self.envelope_w:
            return []
        services = busy_gpus is not None and bool(busy_gpus.any())
        return [Problem("site.power_envelope", f"{human(self.envelope_w, 'power')} is below the idle facility load "
                                               f"of {human(float(idle[worst]), 'power')} in its worst hour "
                                               f"({self.dry_bulb_c[worst]:.1f} C outdoors)"
                                               + (", the inference services at their peak demand on the lowest "
                                                  "power cap" if services else ""))]
