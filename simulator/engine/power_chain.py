"""Electrical losses from grid to IT load, and the inverse: the IT load an envelope allows.

Path: grid -> medium-voltage transformer -> (UPS -> PDU/busway -> IT) and (cooling, other).
The PDU loses ``it/pdu_eff - it``; the UPS carries the IT load plus the PDU loss and loses
``out/eff(out/capacity) - out`` with its efficiency read off the load curve; cooling and other
facility loads bypass the UPS; the transformer carries everything and loses its share of it.
An efficiency curve has no no-load loss: an idle UPS here draws nothing.
"""

from __future__ import annotations

import itertools

import numpy as np

from simulator.scenario.facility import EfficiencyCurve, PowerChain
from simulator.scenario.redundancy import redundancy_factor

# The default the schema documents for an unset ``power.ups_capacity``: peak IT at 80% of the
# UPS rating, the usual headroom left when sizing a UPS.
UPS_DESIGN_LOAD_FRACTION = 0.8


def default_ups_capacity_w(peak_it_w: float, chain: PowerChain) -> float:
    """The UPS rating in W (all modules, the redundant ones too, since they share the load):
    ``chain.ups_capacity`` when set, else peak IT power / 0.8 times the redundancy factor."""
    if chain.ups_capacity is not None:
        return float(chain.ups_capacity)
    if not peak_it_w > 0:
        raise ValueError(f"peak_it_w must be > 0, got {peak_it_w!r}")
    factor = redundancy_factor(chain.redundancy.ups, chain.ups_modules)
    return float(peak_it_w) / UPS_DESIGN_LOAD_FRACTION * factor


def ups_efficiency(load_fraction, curve: EfficiencyCurve) -> np.ndarray:
    """UPS efficiency at a load fraction: linear between the curve's points, flat beyond them."""
    loads, effs = zip(*curve.points, strict=True)
    return np.interp(np.asarray(load_fraction, dtype=np.float64), loads, effs)


def _capacity(chain: PowerChain, ups_capacity_w: float | None) -> float:
    capacity_w = chain.ups_capacity if ups_capacity_w is None else ups_capacity_w
    if capacity_w is None:
        raise ValueError("no UPS capacity: pass ups_capacity_w (see default_ups_capacity_w) "
                         "or set power.ups_capacity")
    if not capacity_w > 0:
        raise ValueError(f"ups_capacity_w must be > 0, got {capacity_w!r}")
    return float(capacity_w)


def indoor_loss_w(it_w: float, chain: PowerChain, ups_capacity_w: float) -> float:
    """PDU and UPS losses (W) at IT power ``it_w``: heat released inside the building."""
    ups_out_w = it_w / chain.pdu_efficiency
    return ups_out_w / _interp(ups_out_w / ups_capacity_w, chain.ups_efficiency.points) - it_w


def facility_power(it_w, cooling_w, other_w, chain: PowerChain,
                   ups_capacity_w: float | None = None) -> dict[str, np.ndarray]:
    """Facility (grid) power and its parts, in W, for IT, cooling and other loads (broadcast).

    ``other_w`` is any further load off the UPS (lighting, offices); pass 0 when ``cooling_w``
    is ``cooling_power(...)["total_w"]``, which already holds the plant's ``other_overhead``.
    ``ups_capacity_w`` defaults to ``chain.ups_capacity``. Returns ``it_w``, ``pdu_loss_w``,
    ``ups_loss_w``, ``transformer_loss_w``, ``cooling_w``, ``other_w``, ``facility_w``,
    ``ups_load_fraction``, ``ups_efficiency`` and ``pue`` = facility / IT, which is NaN where
    IT power is 0 (PUE is undefined there; the reporting layer decides how to show it).
    """
    capacity_w = _capacity(chain, ups_capacity_w)
    it, cooling, other = np.broadcast_arrays(
        np.asarray(it_w, dtype=np.float64), np.asarray(cooling_w, dtype=np.float64),
        np.asarray(other_w, dtype=np.float64))
    if np.any(it < 0) or np.any(cooling < 0) or np.any(other < 0):
        raise ValueError("it_w, cooling_w and other_w must be >= 0")
    ups_out_w = it / chain.pdu_efficiency
    load = ups_out_w / capacity_w
    eff = ups_efficiency(load, chain.ups_efficiency)
    ups_in_w = ups_out_w / eff
    before_transformer_w = ups_in_w + cooling + other
    facility_w = before_transformer_w / chain.transformer_efficiency
    pue = np.full(it.shape, np.nan)
    np.divide(facility_w, it, out=pue, where=it > 0)
    return {
        "it_w": it.copy(),
        "pdu_loss_w": ups_out_w - it,
        "ups_loss_w": ups_in_w - ups_out_w,
        "transformer_loss_w": facility_w - before_transformer_w,
        "cooling_w": cooling.copy(),
        "other_w": other.copy(),
        "facility_w": facility_w,
        "ups_load_fraction": load,
        "ups_efficiency": eff,
        "pue": pue,
    }


def max_it_power_within(envelope_w, cooling_w_per_it_w, chain: PowerChain,
                        ups_capacity_w: float | None = None, other_w=0.0,
                        iterations: int = 48) -> np.ndarray:
    """The largest IT power (W) whose facility power stays within ``envelope_w`` (broadcast).

    Cooling is taken as ``cooling_w_per_it_w`` times the IT power at that moment (the ratio the
    cooling model gives at the current temperature), ``other_w`` as a fixed load off the UPS.
    Solved by bisection on [0, envelope * transformer efficiency] (facility >= IT / transformer
    efficiency bounds IT from above): the answer is feasible and below the exact one by at most
    envelope * 2**-iterations (48 steps: ~4e-15 relative). Returns 0 where even zero IT power
    does not fit. Assumes facility power rises with IT power, which holds for any UPS whose
    input power ``out / eff(out)`` rises with its output (every physical UPS).
    """
    capacity_w = _capacity(chain, ups_capacity_w)
    envelope, ratio, other = np.broadcast_arrays(
        np.asarray(envelope_w, dtype=np.float64), np.asarray(cooling_w_per_it_w, dtype=np.float64),
        np.asarray(other_w, dtype=np.float64))
    if np.any(envelope < 0) or np.any(ratio < 0) or np.any(other < 0):
        raise ValueError("envelope_w, cooling_w_per_it_w and other_w must be >= 0")

    def facility_w(it: np.ndarray) -> np.ndarray:
        ups_out_w = it / chain.pdu_efficiency
        ups_in_w = ups_out_w / ups_efficiency(ups_out_w / capacity_w, chain.ups_efficiency)
        return (ups_in_w + ratio * it + other) / chain.transformer_efficiency

    lo = np.zeros(envelope.shape)
    hi = envelope * chain.transformer_efficiency
    fits_hi = facility_w(hi) <= envelope
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        fits = facility_w(mid) <= envelope
        lo = np.where(fits, mid, lo)
        hi = np.where(fits, hi, mid)
    return np.where(fits_hi, envelope * chain.transformer_efficiency, lo)


def facility_power_at(it_w: float, cooling_w: float, other_w: float, chain: PowerChain,
                      ups_capacity_w: float) -> tuple[float, float, float]:
    """``facility_power`` for one moment in plain floats: (facility_w, pdu + UPS loss W,
    transformer loss W)."""
    ups_out_w = it_w / chain.pdu_efficiency
    eff = _interp(ups_out_w / ups_capacity_w, chain.ups_efficiency.points)
    ups_in_w = ups_out_w / eff
    before = ups_in_w + cooling_w + other_w
    facility_w = before / chain.transformer_efficiency
    return facility_w, ups_in_w - it_w, facility_w - before


def _interp(x: float, points) -> float:
    """np.interp for one value over (load, efficiency) points: linear inside, flat outside."""
    if x <= points[0][0]:
        return float(points[0][1])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return float(points[-1][1])
