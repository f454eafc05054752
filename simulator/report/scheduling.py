"""The report's scheduling table: queueing delay, JCT and job counts by job size and tenant,
from summary.json's ``scheduling`` block (runs with ``workloads.trace`` only)."""

from __future__ import annotations

from collections.abc import Mapping

from simulator.report.fmt import fmt_count, fmt_duration, fmt_fraction
from simulator.report.tables import Table

MAX_TENANT_ROWS = 30


def _row(label: str, stats: object) -> tuple[str, ...]:
    s = stats if isinstance(stats, Mapping) else {}
    return (label, fmt_count(s.get("jobs")), fmt_duration(s.get("p50_s")), fmt_duration(s.get("p90_s")),
            fmt_duration(s.get("p99_s")))


def scheduling_table(summary: Mapping[str, object]) -> Table | None:
    """Queueing delay percentiles overall, by job size and by tenant, with the run's utilisation,
    fragmentation and preemptions in the note; None without a trace."""
    sched = summary.get("scheduling")
    if not isinstance(sched, Mapping):
        return None
    rows = [_row("all jobs", sched.get("queueing_delay"))]
    by_size = sched.get("queueing_delay_by_size")
    for size, stats in (by_size.items() if isinstance(by_size, Mapping) else ()):
        rows.append(_row(f"{size} GPU{'s' if size != '1' else ''}", stats))
    by_tenant = sched.get("queueing_delay_by_tenant")
    for tenant, stats in list(by_tenant.items() if isinstance(by_tenant, Mapping) else ())[:MAX_TENANT_ROWS]:
        rows.append(_row(f"tenant {tenant}", stats))
    jct_stats = sched.get("jct")
    jct: Mapping = jct_stats if isinstance(jct_stats, Mapping) else {}
    note = (f"policy {sched.get('policy')}; utilisation {fmt_fraction(sched.get('utilization'))}, "
            f"fragmentation {fmt_fraction(sched.get('fragmentation'))}, "
            f"preemptions {fmt_count(sched.get('preemptions'))}; median JCT {fmt_duration(jct.get('p50_s'))}; "
            f"{fmt_count(sched.get('jobs_finished'))} of {fmt_count(sched.get('jobs_submitted'))} jobs finished")
    return Table(("jobs", "started", "queueing p50", "p90", "p99"), tuple(rows), (False, True, True, True, True), note)
