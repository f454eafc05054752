"""Monthly rows of a dated run (``simulation.start`` given): summary.json ``monthly``, monthly.csv
and the report's monthly table.

A sample belongs to the month its interval starts in (with hourly samples and months starting
at midnight every sample lies inside one month). Per month: facility and IT energy (interval
mean power x interval), the grid bill at the hourly price (before any battery, PPA or on-site
supply; the run's costs.json holds the settled bill), location-based carbon, training tokens
made (job progress interpolated at the month's edges), tokens generated (requests served x mean
output length), each service's mean arrival rate, capacity and share of served requests within
its SLO, the GPUs in service at the month's end, and the peak facility power against the
highest envelope in force.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.engine.record import REQUEST_COLUMNS, RunRecord
from simulator.engine.recorder import ENV_COLUMNS, POWER_COLUMNS
from simulator.report.results import MonthlyRow
from simulator.report.tables import Table

MONTHLY_COLUMNS = ("month", "start_s", "end_s", "facility_energy_j", "it_energy_j", "energy_cost_usd", "carbon_kg",
                   "tokens_trained", "tokens_generated", "gpus_installed", "peak_facility_power_w",
                   "power_envelope_w")


def _tokens_at(record: RunRecord, t_s: np.ndarray) -> np.ndarray:
    """Training tokens made by every job up to each of ``t_s`` (progress points interpolated)."""
    points: dict[str, list[tuple[float, float]]] = {}
    for t, name, tokens, _clock in record.progress:
        points.setdefault(name, []).append((t, tokens))
    total = np.zeros(len(t_s))
    for job in record.jobs:
        pts = sorted(points.get(job.name, []))
        if job.tokens_done > 0 and math.isfinite(job.end_s):
            pts.append((job.end_s, job.tokens_done))
        if not pts:
            continue
        pts = sorted(pts)
        total += np.interp(t_s, [p[0] for p in pts], [p[1] for p in pts], left=0.0)
    return total


def monthly_rows(record: RunRecord) -> tuple[MonthlyRow, ...]:
    """One row per calendar month of a dated run; () for an undated one."""
    if not record.months or not record.samples:
        return ()
    t = record.t_s
    starts = np.concatenate([[0.0], t[:-1]])
    dt = t - starts
    facility = record.power[:, POWER_COLUMNS.index("facility_power_w")]
    it = record.power[:, POWER_COLUMNS.index("it_power_w")]
    price = record.env[:, ENV_COLUMNS.index("price_usd_per_j")]
    carbon = record.env[:, ENV_COLUMNS.index("carbon_kg_per_j")]
    envelope = record.env[:, ENV_COLUMNS.index("power_envelope_w")]
    edges = np.array([m[1] for m in record.months] + [record.months[-1][2]])
    tokens = np.diff(_tokens_at(record, edges))
    arrived, served, met = (REQUEST_COLUMNS.index(c) for c in ("requests_arrived", "requests_served",
                                                                "requests_slo_met"))
    rows = []
    for k, (label, m0, m1) in enumerate(record.months):
        sel = (starts >= m0 - 1e-6) & (starts < m1 - 1e-6)
        span = float(np.sum(dt[sel]))
        rate, capacity, slo = {}, {}, {}
        generated = 0.0
        for svc in record.services:
            block = svc.per_sample[:record.samples][sel]
            n_served = float(block[:, served].sum())
            rate[svc.name] = float(block[:, arrived].sum()) / span if span > 0 else 0.0
            capacity[svc.name] = float(svc.capacity_per_s)
            slo[svc.name] = float(block[:, met].sum()) / n_served if n_served > 0 else None
            generated += n_served * svc.output_tokens
        end = m1 - 1e-6
        installed = sum(g.gpus_total for g in record.groups if g.available_from_s <= end < g.retire_s)
        rows.append(MonthlyRow(
            month=label, start_s=float(m0), end_s=float(m1),
            facility_energy_j=float(np.sum(facility[sel] * dt[sel])),
            it_energy_j=float(np.sum(it[sel] * dt[sel])),
            energy_cost_usd=float(np.sum(facility[sel] * price[sel] * dt[sel])),
            carbon_kg=float(np.sum(facility[sel] * carbon[sel] * dt[sel])),
            tokens_trained=float(tokens[k]), tokens_generated=generated, gpus_installed=int(installed),
            peak_facility_power_w=float(facility[sel].max()) if sel.any() else 0.0,
            power_envelope_w=float(envelope[sel].max()) if sel.any() else 0.0,
            arrival_rate_per_s=rate, capacity_per_s=capacity, slo_attainment=slo))
    return tuple(rows)


def monthly_frame(rows) -> pd.DataFrame:
    """monthly.csv: the MONTHLY_COLUMNS, then per service ``arrival_rate_per_s:NAME``,
    ``capacity_per_s:NAME`` and ``slo_attainment:NAME`` (empty when nothing was served)."""
    data = []
    for row in rows:
        r = row if isinstance(row, dict) else row.__dict__
        flat = {c: r[c] for c in MONTHLY_COLUMNS}
        for key in ("arrival_rate_per_s", "capacity_per_s", "slo_attainment"):
            for name, value in r[key].items():
                flat[f"{key}:{name}"] = math.nan if value is None else value
        data.append(flat)
    return pd.DataFrame(data)


def monthly_table(rows) -> Table:
    """The report's monthly table: month, energy, bill, tokens, GPUs, peak power vs envelope and
    the lowest SLO attainment among the services."""
    out = []
    for row in rows:
        r = row if isinstance(row, dict) else row.__dict__
        slo = [v for v in r["slo_attainment"].values() if v is not None]
        out.append((r["month"], f"{r['facility_energy_j'] / 3.6e9:,.1f}", f"{r['energy_cost_usd'] / 1e3:,.1f}",
                    f"{r['tokens_trained'] / 1e9:,.1f}", f"{r['tokens_generated'] / 1e9:,.2f}",
                    f"{r['gpus_installed']:,}", f"{r['peak_facility_power_w'] / 1e6:,.2f}",
                    f"{r['power_envelope_w'] / 1e6:,.2f}", f"{min(slo):.1%}" if slo else "—"))
    return Table(("month", "facility MWh", "energy k$", "trained B tokens", "generated B tokens", "GPUs",
                  "peak MW", "envelope MW", "lowest SLO"), tuple(out), (False,) + (True,) * 8,
                 "Per calendar month; all columns per service are in monthly.csv.")
