"""Server fan power from the node's load and its inlet air (catalog FanSpec).

speed = idle_speed + (full_load_speed - idle_speed) * load + speed_per_c * (inlet - reference),
clipped to [idle_speed, 1]; power = max_power * speed^3 (fan affinity law). A direct-liquid-cooled
server's fans move only the air for the heat its cold plates leave behind, so their speed is
scaled by that share (floored at idle); an immersed server has no fans; a rear-door rack's
servers keep their own fans (passive doors rely on them).

The DGX H100 numbers (catalog nodes.yaml) are derived from its user guide: 1105 CFM at 80% PWM
(the full-load point), a fan pressure rise and efficiency estimate, and the server-room
temperature sensitivity measured by Coroama (2025): 0.35-0.5% of server power per degree C
between 23 and 30 C.
"""

from __future__ import annotations

import numpy as np

from simulator.domain.specs import FanSpec

COOLING_TYPES = ("air", "liquid", "rear-door", "immersion")


def fan_speed(fans: FanSpec, load, inlet_c) -> np.ndarray:
    """Fan speed (share of maximum) at ``load`` (0 idle .. 1 full) and inlet air ``inlet_c``."""
    u = np.clip(np.asarray(load, dtype=np.float64), 0.0, 1.0)
    speed = fans.idle_speed + (fans.full_load_speed - fans.idle_speed) * u \
        + fans.speed_per_c * (np.asarray(inlet_c, dtype=np.float64) - fans.reference_inlet)
    return np.clip(speed, fans.idle_speed, 1.0)


def fan_power_w(fans: FanSpec | None, load, inlet_c, cooling: str = "air", air_share: float = 1.0) -> np.ndarray:
    """One server's fan power (W) at ``load`` and ``inlet_c``, for its rack's cooling type;
    ``air_share`` is the share of a liquid-cooled server's heat left to the air."""
    if fans is None or cooling == "immersion":
        return np.zeros(np.broadcast(np.asarray(load), np.asarray(inlet_c)).shape)
    speed = fan_speed(fans, load, inlet_c)
    if cooling == "liquid":
        speed = np.maximum(speed * air_share, fans.idle_speed)
    return fans.max_power * speed ** 3
