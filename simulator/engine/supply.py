"""Settling the site's electricity after the run: on-site generation behind the meter, a battery,
a PPA, demand charges, and carbon by the location-based and market-based methods.

The facility's power per sample is what the event loop measured (it already obeys the envelope
and any demand-response cap); supply only changes where that power comes from, so it is
settled afterwards, sample by sample, in this order:

1. on-site generation (capacity x hourly shape) serves the facility first; a surplus goes to
   the battery, else is curtailed (no export);
2. the battery: ``arbitrage`` charges at full power in each day's cheapest hours and
   discharges in its dearest (as many hours as its capacity lasts at full power, and only on
   days where the spread pays for the losses and wear); ``peak-shave`` discharges whenever the
   grid draw is above the target and recharges below it without raising it over the target.
   It never exports, never charges past the envelope (nor, with demand charges, past the
   billing period's peak draw), and splits its round-trip efficiency evenly between charging
   and discharging;
3. a sleeved PPA: its generation covers the grid draw at the PPA price, a surplus is sold back
   at the grid price.

Generators carry the whole site through a ridden-through grid outage first (their diesel is
billed, and its carbon counted by both methods). Bill = energy (grid draw at the hourly price,
PPA energy at its price, less PPA surplus sold) + demand charges (the highest grid draw of each
30-day period) + battery wear + generator fuel. Location-based
carbon: grid draw x the grid's hourly intensity. Market-based: grid draw not covered by the
PPA x the residual mix (default: the grid's intensity). The bill and carbon after each step are
kept, so each asset's saving is the difference it made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.domain.csvfile import load_csv_profile
from simulator.engine.grid_events import DIESEL_KG_CO2_PER_L, DIESEL_L_PER_J
from simulator.engine.profiles import absolute_hours, daylight
from simulator.engine.record import Settlement, SupplyRecord
from simulator.scenario.operation import Battery, Operation
from simulator.scenario.schema import Scenario

BILLING_PERIOD_S = 30 * 86400.0
SHARE_RANGE = (0.0, 1.0)


def hourly_shape(profile, hours: int, start_day: int, start_hour: float, base_dir) -> np.ndarray:
    """A generation profile's output share (0..1) per simulated hour."""
    abs_h = absolute_hours(hours, start_day, start_hour)
    kind = profile.type
    if kind == "solar":
        return daylight(np.mod(abs_h, 24.0))
    if kind == "flat":
        return np.ones(hours)
    values = load_csv_profile(Path(base_dir or ".") / profile.path, profile.column, value_range=SHARE_RANGE,
                              unit="share of capacity")
    return values[np.floor(abs_h).astype(np.int64) % values.size]


def _settle(grid_w, ppa_w, ppa_price, dt, price, carbon, residual, t_s, demand_charge) -> Settlement:
    matched = np.minimum(ppa_w, grid_w)
    surplus = ppa_w - matched
    energy = float(np.sum(((grid_w - matched) * price + ppa_w * ppa_price - surplus * price) * dt))
    periods = np.floor((t_s - dt) / BILLING_PERIOD_S + 1e-9).astype(np.int64)
    demand = float(sum(np.max(grid_w[periods == p]) for p in np.unique(periods))) * demand_charge if len(t_s) \
        else 0.0
    location = float(np.sum(grid_w * carbon * dt))
    market = float(np.sum((grid_w - matched) * residual * dt))
    return Settlement(energy, demand, 0.0, location, market)


def _dispatch(battery: Battery, load_w, surplus_w, headroom_w, dt, day, hour_price) -> tuple:
    """Battery power per sample (positive: discharging into the load) and its energy after it."""
    n = len(load_w)
    eta = battery.round_trip_efficiency ** 0.5
    soc = battery.initial_charge * battery.capacity
    out = np.zeros(n)
    energy = np.zeros(n)
    charge_hours: np.ndarray | None = None
    discharge_hours: np.ndarray | None = None
    target = 0.0
    if battery.strategy == "arbitrage":
        charge_hours, discharge_hours = _arbitrage_hours(battery, day, hour_price)
    else:
        target = battery.peak_target if battery.peak_target is not None else 0.9 * float(np.max(load_w, initial=0.0))
    for k in range(n):
        room = (battery.capacity - soc) / eta / dt[k]     # grid power that would fill it
        stock = soc * eta / dt[k]                          # power it can deliver until empty
        free = min(surplus_w[k], battery.power, room)     # on-site surplus first: it costs nothing
        charge = free
        discharge = 0.0
        if charge_hours is not None and discharge_hours is not None:
            if charge_hours[k]:
                charge = min(battery.power, room, free + max(headroom_w[k], 0.0))
            elif discharge_hours[k]:
                discharge = min(battery.power, stock, load_w[k])
        elif load_w[k] > target:
            discharge = min(battery.power, stock, load_w[k] - target)
        else:
            charge = min(battery.power, room, free + max(min(target - load_w[k], headroom_w[k]), 0.0))
        soc += (charge * eta - discharge / eta) * dt[k]
        out[k] = discharge - max(charge - free, 0.0)       # the grid sees only the charge beyond the surplus
        energy[k] = soc
    return out, energy


def _arbitrage_hours(battery: Battery, day: np.ndarray, hour_price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: in one of its day's cheapest hours (charge) or dearest (discharge)."""
    hours_full = max(int(np.ceil(battery.capacity / battery.power / 3600.0 - 1e-9)), 1)
    charge = np.zeros(len(day), dtype=bool)
    discharge = np.zeros(len(day), dtype=bool)
    rte = battery.round_trip_efficiency
    for d in np.unique(day):
        idx = np.flatnonzero(day == d)
        prices = np.unique(hour_price[idx])
        if len(prices) < 2:
            continue
        low = prices[min(hours_full, len(prices)) - 1]
        high = prices[max(len(prices) - hours_full, 0)]
        if prices[-1] * rte - prices[0] <= battery.degradation_cost:
            continue
        charge[idx] = hour_price[idx] <= low
        discharge[idx] = (hour_price[idx] >= high) & ~charge[idx]
    return charge, discharge


def generator_share(t_s: np.ndarray, dt: np.ndarray, outages) -> np.ndarray:
    """Share of each sample the generators carried the site (ridden-through grid outages)."""
    share = np.zeros(len(t_s))
    for start, end, ridden in outages:
        if ridden:
            share += np.clip(np.minimum(t_s, end) - np.maximum(t_s - dt, start), 0.0, None) / dt
    return np.minimum(share, 1.0)


def settle(scenario: Scenario, t_s: np.ndarray, facility_w: np.ndarray, envelope_w: np.ndarray,
           price: np.ndarray, carbon: np.ndarray, base_dir, outages=()) -> SupplyRecord:
    """Settle a run's facility power (per sample ending at ``t_s``) against the supply assets;
    generators carry the site through ridden-through grid outages (engine/grid_events.py)."""
    op: Operation | None = scenario.operation
    sim = scenario.simulation
    elec = scenario.site.electricity
    dt = np.diff(np.concatenate([[0.0], t_s]))
    hour = np.minimum(np.floor((t_s - dt) / 3600.0 + 1e-9).astype(np.int64), max(len(price) - 1, 0))
    hours = int(hour.max()) + 1 if len(hour) else 1
    residual = np.full(len(t_s), op.residual_mix_carbon) if op is not None and op.residual_mix_carbon is not None \
        else carbon
    zeros = np.zeros(len(t_s))
    generator = np.asarray(facility_w, dtype=float) * generator_share(t_s, dt, outages)
    grid = np.asarray(facility_w, dtype=float) - generator
    fuel_l = float(np.sum(generator * dt)) * DIESEL_L_PER_J
    fuel_usd = fuel_l * scenario.costs.diesel_price
    fuel_kg = fuel_l * DIESEL_KG_CO2_PER_L

    def with_fuel(s: Settlement) -> Settlement:
        return Settlement(s.energy_usd, s.demand_usd, s.degradation_usd, s.carbon_location_kg + fuel_kg,
                          s.carbon_market_kg + fuel_kg, fuel_usd)

    steps = {"grid": with_fuel(_settle(grid, zeros, 0.0, dt, price, carbon, residual, t_s, elec.demand_charge))}
    onsite = zeros.copy()
    surplus = zeros.copy()
    battery_w = zeros.copy()
    battery_j = zeros.copy()
    ppa = zeros.copy()
    if op is None:
        return SupplyRecord(grid, generator, onsite, battery_w, battery_j, ppa, steps)
    for gen in op.onsite:
        shape = hourly_shape(gen.profile, hours, sim.start_day_of_year, sim.start_hour, base_dir)
        surplus += gen.capacity * shape[hour]
    if op.onsite:
        onsite = np.minimum(surplus, grid)
        surplus -= onsite
        grid -= onsite
        steps["onsite"] = with_fuel(_settle(grid, zeros, 0.0, dt, price, carbon, residual, t_s, elec.demand_charge))
    if op.battery is not None:
        abs_h = absolute_hours(hours, sim.start_day_of_year, sim.start_hour)
        day = np.floor(abs_h / 24.0).astype(np.int64)[hour]
        # Charging never raises a billing period's peak draw (nor passes the envelope).
        periods = np.floor((t_s - dt) / BILLING_PERIOD_S + 1e-9).astype(np.int64)
        peak = np.zeros(len(grid))
        for p in np.unique(periods):
            peak[periods == p] = grid[periods == p].max()
        ceiling = np.minimum(envelope_w, peak) if elec.demand_charge > 0 else envelope_w
        battery_w, battery_j = _dispatch(op.battery, grid, surplus, ceiling - grid, dt, day, price)
        grid = grid - battery_w
        wear = float(np.sum(np.maximum(battery_w, 0.0) * dt)) * op.battery.degradation_cost
        s = _settle(grid, zeros, 0.0, dt, price, carbon, residual, t_s, elec.demand_charge)
        steps["battery"] = with_fuel(Settlement(s.energy_usd, s.demand_usd, wear, s.carbon_location_kg,
                                                s.carbon_market_kg))
    if op.ppa is not None:
        shape = hourly_shape(op.ppa.profile, hours, sim.start_day_of_year, sim.start_hour, base_dir)
        ppa = op.ppa.capacity * shape[hour]
        s = _settle(grid, ppa, op.ppa.price, dt, price, carbon, residual, t_s, elec.demand_charge)
        wear = steps["battery"].degradation_usd if "battery" in steps else 0.0
        steps["ppa"] = with_fuel(Settlement(s.energy_usd, s.demand_usd, wear, s.carbon_location_kg,
                                            s.carbon_market_kg))
    return SupplyRecord(grid, generator, onsite, battery_w, battery_j, ppa, steps)
