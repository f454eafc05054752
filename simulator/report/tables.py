"""The report's tables as rows of already-formatted strings, shared by the HTML and Markdown.

Both renderers show the same numbers in the same words; they only differ in markup. Cells are
plain (unescaped) text: each renderer escapes for its own format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from simulator.report.fmt import (
    MISSING,
    finite,
    fmt_carbon,
    fmt_count,
    fmt_duration,
    fmt_energy,
    fmt_fraction,
    fmt_ms,
    fmt_percent,
    fmt_power,
    fmt_ratio,
    fmt_si,
    fmt_text,
    fmt_tokens,
    fmt_usd,
)

MAX_JOB_ROWS = 100  # a report stays readable; the full list is in jobs.parquet
MAX_SERVICE_ROWS = 100  # likewise; all services are in services.parquet


@dataclass(frozen=True)
class Table:
    """Column headers, rows of cell strings, which columns are numbers (right-aligned), a note."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    note: str = ""


def has_services(summary: Mapping[str, object]) -> bool:
    """Whether the run had inference services (summary.json ``services_total`` above zero)."""
    count = finite(summary.get("services_total"))
    return count is not None and count > 0


def services_headline_rows(
    summary: Mapping[str, object], costs: Mapping[str, object] | None = None
) -> tuple[tuple[str, str], ...]:
    """Inference rows of the headline: requests served (of arrived), SLO attainment, tokens
    generated and USD per million generated tokens; none when the run had no services."""
    if not has_services(summary):
        return ()
    s = summary.get
    costs = costs or {}
    return (
        ("inference requests served", f"{fmt_count(s('requests_served'))} of {fmt_count(s('requests_arrived'))}"),
        ("SLO attainment (of requests served)", fmt_fraction(s("slo_attainment"))),
        ("tokens generated", fmt_tokens(s("tokens_generated"))),
        ("cost per million generated tokens", fmt_usd(costs.get("usd_per_mtoken_generated"))),
    )


def per_service_rows(services: pd.DataFrame | None) -> tuple[tuple[str, str], ...]:
    """One headline row per inference service (the first MAX_SERVICE_ROWS): its own SLO
    attainment, p99 time to first token and abandoned requests, so a mean over services cannot
    hide one that fails."""
    if services is None or not len(services):
        return ()
    rows = []
    for svc in services.head(MAX_SERVICE_ROWS).to_dict("records"):
        g = svc.get
        text = f"{fmt_fraction(g('slo_attainment'))}, p99 TTFT {fmt_duration(g('ttft_p99_s'))}"
        abandoned = finite(g("requests_abandoned"))
        if abandoned:
            text += f", {fmt_si(abandoned)} gave up"
        rows.append((f"SLO attainment: {fmt_text(g('service'))}", text))
    return tuple(rows)


def warning_rows(summary: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """summary.json ``warnings`` as ("warning: KIND", message) rows (none for a clean run)."""
    found = summary.get("warnings")
    if not isinstance(found, list | tuple):
        return ()
    rows = []
    for w in found:
        item = w if isinstance(w, Mapping) else getattr(w, "__dict__", {})
        rows.append((f"warning: {fmt_text(item.get('kind'))}", fmt_text(item.get("message"))))
    return tuple(rows)


def warnings_table(summary: Mapping[str, object]) -> Table:
    """The run's warnings (report/warnings.py) as (warning, message) rows."""
    rows = warning_rows(summary)
    return Table(("warning", "what it means"), tuple((k.removeprefix("warning: "), v) for k, v in rows),
                 (False, False), "" if rows else "No warnings.")


def headline_table(summary: Mapping[str, object], costs: Mapping[str, object] | None = None,
                   services: pd.DataFrame | None = None) -> Table:
    """summary.json as (quantity, value) rows with units; with inference services, their rows
    (services_headline_rows, priced from costs.json, then one SLO row per service) follow the
    training rows."""
    s = summary.get
    finished, total = fmt_count(s("jobs_finished")), fmt_count(s("jobs_total"))
    rows = (
        ("scenario", fmt_text(s("scenario"))),
        ("seed", fmt_text(s("seed"))),
        ("simulated span", fmt_duration(s("horizon_s"))),
        ("sample interval", fmt_duration(s("sample_interval_s"))),
        ("accelerators", fmt_count(s("gpus"))),
        ("facility energy (from the grid)", fmt_energy(s("facility_energy_j"))),
        ("IT energy", fmt_energy(s("it_energy_j"))),
        ("cooling energy", fmt_energy(s("cooling_energy_j"))),
        ("power-chain losses", fmt_energy(s("losses_energy_j"))),
        ("mean PUE", fmt_ratio(s("pue_mean"))),
        ("water (WUE)", f"{fmt_si(s('water_m3'))} m3 ({fmt_ratio(s('wue_l_per_kwh'))} L/kWh)"
         if summary.get("water_m3") is not None else "-"),
        ("design IT power per GPU", fmt_power(s("design_it_power_per_gpu_w"))),
        ("peak facility power", fmt_power(s("peak_facility_power_w"))),
        ("power envelope", fmt_power(s("power_envelope_w"))),
        ("peak / envelope", fmt_fraction(s("peak_envelope_fraction"))),
        ("samples with power capping", fmt_fraction(s("capped_fraction"))),
        ("mean GPU utilisation", fmt_fraction(s("gpu_utilization_mean"))),
        ("energy cost", fmt_usd(s("energy_cost_usd"))),
        ("carbon", fmt_carbon(s("carbon_kg"))),
        ("training jobs finished", f"{finished} of {total}"),
        ("tokens trained", fmt_tokens(s("tokens_trained"))),
        *services_headline_rows(summary, costs),
        *per_service_rows(services),
        ("simulation events", fmt_count(s("events_processed"))),
    )
    return Table(("quantity", "value"), rows, (False, True))


def run_headline_table(summary: Mapping[str, object], costs: Mapping[str, object],
                       services: pd.DataFrame | None = None) -> Table:
    """The short table ``dcsim run`` prints when it finishes: energy, power against the
    envelope, utilisation, training and serving throughput (with one SLO row per service), money,
    carbon and reliability (the warnings follow it: ``warnings_table``)."""
    s = summary.get
    rows = (
        ("facility energy", fmt_energy(s("facility_energy_j"))),
        ("IT energy", fmt_energy(s("it_energy_j"))),
        ("mean PUE", fmt_ratio(s("pue_mean"), 3)),
        ("peak facility power", f"{fmt_power(s('peak_facility_power_w'))} of {fmt_power(s('power_envelope_w'))}"),
        ("mean GPU utilisation", fmt_fraction(s("gpu_utilization_mean"))),
        ("training jobs finished", f"{fmt_count(s('jobs_finished'))} of {fmt_count(s('jobs_total'))}"),
        ("tokens trained", fmt_tokens(s("tokens_trained"))),
        *services_headline_rows(summary, costs),
        *per_service_rows(services),
        ("energy cost", fmt_usd(s("energy_cost_usd"))),
        ("total cost", fmt_usd(costs.get("total_usd"))),
        ("per GPU-hour", fmt_usd(costs.get("usd_per_gpu_hour"))),
        ("carbon", fmt_carbon(s("carbon_kg"))),
        *reliability_table(summary).rows,
    )
    return Table(("quantity", "value"), rows, (False, True))


def reliability_table(summary: Mapping[str, object]) -> Table:
    """Node failures, hot spares swapped in and GPU-time-weighted goodput from summary.json; the
    spares row only when the summary counts them (a dash would read as "unknown")."""
    s = summary.get
    rows = [("node failures", fmt_count(s("failures")))]
    if "spares_used" in summary:
        rows.append(("hot spares used", fmt_count(s("spares_used"))))
    rows.append(("mean goodput (GPU-time weighted)", fmt_fraction(s("goodput_mean"))))
    if s("services_total"):
        rows.append(("service availability (replica-time weighted)", fmt_fraction(s("service_availability"))))
    return Table(("quantity", "value"), tuple(rows), (False, True))


def interruptions_table(summary: Mapping[str, object]) -> Table | None:
    """Interruptions of jobs and services by cause (unexpected, per failure class, with each
    cause's share) and planned maintenance stops, from summary.json's ``interruptions``; None
    without a failures or maintenance section."""
    part = summary.get("interruptions")
    if not isinstance(part, Mapping):
        return None
    by_cause = part.get("by_cause") if isinstance(part.get("by_cause"), Mapping) else {}
    assert isinstance(by_cause, Mapping)
    total = sum(int(v) for v in by_cause.values())
    rows = [(str(cause), fmt_count(n), fmt_fraction(int(n) / total if total else None))
            for cause, n in sorted(by_cause.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))]
    rows.append(("all unexpected", fmt_count(total), fmt_fraction(1.0 if total else None)))
    rows.append(("planned maintenance", fmt_count(part.get("planned")), "-"))
    return Table(("cause", "interruptions", "share"), tuple(rows), (False, True, True))


def operation_table(summary: Mapping[str, object]) -> Table | None:
    """What each operation policy saved (cost, carbon) and cost (tokens, requests), from
    summary.json's ``operation``; None without an operation section."""
    op = summary.get("operation")
    if not isinstance(op, Mapping) or not isinstance(op.get("policies"), Mapping):
        return None
    rows = []
    for name, p in op["policies"].items():
        p = p if isinstance(p, Mapping) else {}
        rows.append((name.replace("_", " "), fmt_usd(p.get("cost_saved_usd")), fmt_carbon(p.get("carbon_saved_kg")),
                     fmt_tokens(p.get("tokens_lost")), fmt_count(p.get("requests_lost"))))
    return Table(("policy", "cost saved", "carbon saved", "tokens lost", "requests lost"), tuple(rows),
                 (False, True, True, True, True))


def _items(section: object) -> dict[str, object]:
    """A costs.json section as a dict (an absent or malformed one as empty)."""
    return dict(section) if isinstance(section, Mapping) else {}


def cost_table(costs: Mapping[str, object]) -> Table:
    """costs.json as (item, capex, over the horizon) rows: capex items, opex items, totals."""
    capex, amortised = _items(costs.get("capex_usd")), _items(costs.get("amortised_usd"))
    opex = _items(costs.get("opex_usd"))
    names = [k for k in {**capex, **amortised} if k != "total"]
    rows = [(f"capex: {k}", fmt_usd(capex.get(k)), fmt_usd(amortised.get(k))) for k in names]
    rows.append(("capex: total", fmt_usd(capex.get("total")), fmt_usd(amortised.get("total"))))
    rows += [(f"opex: {k}", MISSING, fmt_usd(v)) for k, v in opex.items() if k != "total"]
    if "total" in opex:
        rows.append(("opex: total", MISSING, fmt_usd(opex["total"])))
    rows += [
        ("total (amortised capex + opex)", MISSING, fmt_usd(costs.get("total_usd"))),
        ("per GPU-hour", MISSING, fmt_usd(costs.get("usd_per_gpu_hour"))),
        ("per million training tokens", MISSING, fmt_usd(costs.get("usd_per_mtoken"))),
    ]
    if _items(costs.get("per_service")):  # a run with inference services
        rows.append(("per million generated tokens", MISSING, fmt_usd(costs.get("usd_per_mtoken_generated"))))
    return Table(("item", "capex", "over the horizon"), tuple(rows), (False, True, True))


def job_cost(entry: object) -> float | None:
    """One costs.json ``per_job`` entry in USD: a number, or a breakdown dict with a total."""
    if isinstance(entry, Mapping):
        for key in ("total_usd", "total", "usd"):
            if key in entry:
                return finite(entry[key])
        parts = [finite(v) for v in entry.values()]
        return sum(p for p in parts if p is not None) if parts else None
    return finite(entry)


def _tokens_cell(done: object, target: object) -> str:
    return f"{fmt_si(done)} / {fmt_si(target)}"


def _finished_cell(end: object, status: object) -> str:
    """When the job finished, or its status (running, queued) when it did not: one column for both."""
    return fmt_duration(end) if finite(end) is not None else fmt_text(status)


def _difference(end: object, start: object) -> float | None:
    a, b = finite(end), finite(start)
    return None if a is None or b is None else a - b


def jobs_table(jobs: pd.DataFrame, costs: Mapping[str, object]) -> Table:
    """jobs.parquet, one row per job (the first MAX_JOB_ROWS), with each job's cost. Percentages
    carry their unit in the header so the many columns stay narrow."""
    per_job = _items(costs.get("per_job"))
    columns = (
        "job (model)",
        "GPUs",
        "layout",
        "waited",
        "finished at",
        "tokens done / target",
        "tokens/s",
        "MFU (%)",
        "goodput (%)",
        "failures",
        "network share (%)",
        "IT energy",
        "cost",
    )
    numeric = (False, True, False, *(True,) * 10)
    rows = [_job_row({str(k): v for k, v in job.items()}, per_job)
            for job in jobs.head(MAX_JOB_ROWS).to_dict("records")]
    note = ""
    if len(jobs) > MAX_JOB_ROWS:
        note = f"First {MAX_JOB_ROWS} of {len(jobs):,} jobs; all are in jobs.parquet."
    elif len(jobs) == 0:
        note = "No training jobs."
    return Table(columns, tuple(rows), numeric, note)


def _job_row(job: Mapping[str, object], per_job: Mapping[str, object]) -> tuple[str, ...]:
    """One jobs.parquet record as the cells of jobs_table (absent columns render as a dash)."""
    g = job.get
    return (
        f"{fmt_text(g('job'))} ({fmt_text(g('model'))})",
        fmt_count(g("gpus")),
        fmt_text(g("layout")),
        fmt_duration(_difference(g("start_s"), g("submit_s"))),
        _finished_cell(g("end_s"), g("status")),
        _tokens_cell(g("tokens_done"), g("tokens_target")),
        fmt_si(g("tokens_per_s")),
        fmt_percent(g("mfu")),
        fmt_percent(g("goodput")),
        fmt_count(g("failures")),
        fmt_percent(g("network_share_mean")),
        fmt_energy(g("energy_j")),
        fmt_usd(job_cost(per_job.get(str(g("job"))))),
    )


def services_table(services: pd.DataFrame, costs: Mapping[str, object]) -> Table:
    """services.parquet, one row per inference service (the first MAX_SERVICE_ROWS), with each
    service's attributed cost from costs.json ``per_service``."""
    per_service = _items(costs.get("per_service"))
    columns = (
        "service (model)",
        "GPUs",
        "requests arrived",
        "served",
        "backlog at end",
        "SLO attainment (%)",
        "p99 TTFT (ms)",
        "mean TPOT (ms)",
        "tokens generated",
        "cost",
    )
    numeric = (False, *(True,) * 9)
    rows = [_service_row({str(k): v for k, v in svc.items()}, per_service)
            for svc in services.head(MAX_SERVICE_ROWS).to_dict("records")]
    note = (
        "GPUs: all the service's accelerators (replicas × GPUs per replica). SLO attainment is the "
        "share of served requests within both latency targets; p99 TTFT is the time to first token "
        "99% of served requests beat, TPOT the mean over served requests (docs/outputs.md)."
    )
    if len(services) > MAX_SERVICE_ROWS:
        note += f" First {MAX_SERVICE_ROWS} of {len(services):,} services; all are in services.parquet."
    return Table(columns, tuple(rows), numeric, note)


def _gpus_cell(gpus: object, replicas: object) -> str:
    """Total GPUs with the split: "8 (4 × 2)" for 4 replicas of 2 GPUs each."""
    total, count = finite(gpus), finite(replicas)
    if total is None or count is None or count <= 0:
        return fmt_count(gpus)
    return f"{fmt_count(total)} ({fmt_count(count)} × {fmt_count(total / count)})"


def _service_row(svc: Mapping[str, object], per_service: Mapping[str, object]) -> tuple[str, ...]:
    """One services.parquet record as the cells of services_table (absent columns as a dash); a
    service that never started (no room for it) says so after its name."""
    g = svc.get
    name = f"{fmt_text(g('service'))} ({fmt_text(g('model'))})"
    status = g("status")
    if fmt_text(status) not in ("running", MISSING):
        name += f", {fmt_text(status)}"
    return (
        name,
        _gpus_cell(g("gpus"), g("replicas")),
        fmt_si(g("requests_arrived")),
        fmt_si(g("requests_served")),
        fmt_si(g("requests_backlog")),
        fmt_percent(g("slo_attainment")),
        fmt_ms(g("ttft_p99_s")),
        fmt_ms(g("tpot_mean_s")),
        fmt_si(g("tokens_generated")),
        fmt_usd(job_cost(per_service.get(str(g("service"))))),
    )


def sites_table(summary: Mapping[str, object]) -> Table | None:
    """One row per site of a multi-site run (summary.json ``sites``): GPUs, energy, PUE, peak
    power against the site's envelope, energy bill, carbon, total cost; None with one ``site:``."""
    sites = summary.get("sites")
    if not isinstance(sites, Mapping):
        return None
    rows = tuple((str(name), fmt_count(s.get("gpus")), fmt_energy(s.get("facility_energy_j")),
                  fmt_ratio(s.get("pue_mean"), 3), f"{fmt_power(s.get('peak_facility_power_w'))} of "
                  f"{fmt_power(s.get('power_envelope_w'))}", fmt_usd(s.get("energy_cost_usd")),
                  fmt_carbon(s.get("carbon_kg")), fmt_usd(s.get("total_usd")))
                 for name, s in sites.items() if isinstance(s, Mapping))
    return Table(("site", "GPUs", "facility energy", "PUE", "peak power", "energy cost", "carbon", "total cost"),
                 rows, (False,) + (True,) * 7, "Each site's own numbers; the headline adds them up (PUE from the "
                                                 "summed energies).")
