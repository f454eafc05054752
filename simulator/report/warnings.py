"""Warnings: what makes a run's headline numbers misleading, found from the run record and the
scenario, so a quietly broken run says so (summary.json ``warnings``, the terminal table,
report.html and the Markdown summary).

- ``service-waited``: a service that waited for nodes after its start (or never got any): its
  requests queued or gave up meanwhile, and its SLO numbers describe that wait.
- ``service-saturated`` / ``service-headroom``: the busiest hour's demand (arrival rate x the
  daily profile's peak) at or above the capacity of all replicas at full power, or within
  ``HEADROOM_MIN`` of it (no room for a burst, a failed replica or a power cap).
- ``service-slo``: a service whose own SLO attainment is below ``SLO_MIN`` (the headline's
  request-weighted mean can hide it).
- ``requests-abandoned``: more than ``ABANDONED_MAX`` of a service's requests gave up.
- ``envelope-exceeded``: facility power above the site's envelope, because power capping is off
  or because even the capping floor does not fit.
- ``job-not-finished`` / ``job-never-started``: a training job still running at the end of the
  horizon (with the time it would still need at its mean rate), or one that never got its GPUs.
- ``job-missed-deadline``: a training job with a ``deadline`` that finished after it, or had not
  finished when the deadline passed within the horizon.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.domain.units import human
from simulator.engine.record import JobStatus, RunRecord, ServiceRecord, ServiceStatus
from simulator.report.results import RunWarning
from simulator.scenario.schema import Scenario

HEADROOM_MIN = 0.10     # warn when the busiest hour leaves less than 10% of capacity spare
SLO_MIN = 0.90          # warn when a service meets its SLO for fewer than 90% of served requests
ABANDONED_MAX = 0.01    # warn when more than 1% of a service's requests gave up


def _pct(fraction: float) -> str:
    return human(fraction, "fraction")


def _service_warnings(svc: ServiceRecord, start_s: float, interval_s: float, ttft_target_s: float,
                      ttft_p99_s: float) -> list[RunWarning]:
    out: list[RunWarning] = []
    name = svc.name
    if svc.status == ServiceStatus.QUEUED:
        out.append(RunWarning("service-waited", name,
                              f"service '{name}' never got nodes: the cluster had no room for its {svc.gpus} GPUs, "
                              f"so none of its {human(svc.requests_arrived, 'count')} requests were served"))
    elif svc.status == ServiceStatus.RUNNING and svc.start_s - start_s > interval_s:
        out.append(RunWarning("service-waited", name,
                              f"service '{name}' waited {human(svc.start_s - start_s, 'time')} for nodes after its "
                              f"start (other work held them); its requests queued or gave up meanwhile"))
    capacity = svc.capacity_nominal_per_s
    if capacity > 0 and svc.status == ServiceStatus.RUNNING:
        load = svc.peak_demand_per_s / capacity
        detail = (f"peak demand {svc.peak_demand_per_s:,.3g} req/s against {capacity:,.3g} req/s for all "
                  f"{svc.replicas} replicas at full power")
        if load >= 1.0:
            out.append(RunWarning("service-saturated", name,
                                  f"service '{name}' is saturated at its busiest hour: {detail} ({_pct(load)} of "
                                  "capacity)"))
        elif 1.0 - load < HEADROOM_MIN:
            out.append(RunWarning("service-headroom", name,
                                  f"service '{name}' runs at {_pct(load)} of capacity at its busiest hour ({detail}): "
                                  f"headroom {_pct(1.0 - load)}, below {_pct(HEADROOM_MIN)}"))
    if svc.requests_served > 0:
        attainment = svc.requests_slo_met / svc.requests_served
        if attainment < SLO_MIN:
            out.append(RunWarning("service-slo", name,
                                  f"service '{name}' met its SLO for {_pct(attainment)} of served requests "
                                  f"(p99 time to first token {human(ttft_p99_s, 'time')} against a "
                                  f"{human(ttft_target_s, 'time')} target)"))
    if svc.requests_arrived > 0 and svc.requests_abandoned / svc.requests_arrived > ABANDONED_MAX:
        share = svc.requests_abandoned / svc.requests_arrived
        out.append(RunWarning("requests-abandoned", name,
                              f"service '{name}': {_pct(share)} of its requests "
                              f"({human(svc.requests_abandoned, 'count')}) gave up after waiting "
                              f"{human(svc.patience_s, 'time')} for a first token"))
    return out


def _job_warnings(record: RunRecord) -> list[RunWarning]:
    out: list[RunWarning] = []
    horizon = record.horizon_s
    for job in record.jobs:
        if job.status == JobStatus.RUNNING:
            done = job.tokens_done / job.tokens_target if job.tokens_target > 0 else 0.0
            ran = horizon - job.start_s
            rate = job.tokens_done / ran if ran > 0 else 0.0
            more = (f"; at its mean rate it needs about {human((job.tokens_target - job.tokens_done) / rate, 'time')} "
                    "more") if rate > 0 else ""
            out.append(RunWarning("job-not-finished", job.name,
                                  f"training job '{job.name}' did not finish within the {human(horizon, 'time')} "
                                  f"simulated: {_pct(done)} of its tokens done{more}"))
        elif job.status in (JobStatus.QUEUED, JobStatus.PENDING):
            waited = horizon - job.submit_s if math.isfinite(job.submit_s) else math.nan
            out.append(RunWarning("job-never-started", job.name,
                                  f"training job '{job.name}' never started: it waited {human(waited, 'time')} for "
                                  f"{job.gpus} GPUs"))
    return out


def _envelope_warning(scenario: Scenario, record: RunRecord, facility_w: np.ndarray) -> list[RunWarning]:
    envelope = record.envelope_w
    over = facility_w > envelope * (1.0 + 1e-6)
    if not over.any():
        return []
    peak = float(facility_w.max())
    why = ("power capping is off (power.power_capping: false)" if not scenario.power.power_capping
           else "even the lowest power cap does not fit")
    return [RunWarning("envelope-exceeded", "site",
                       f"peak facility power {human(peak, 'power')} exceeds the {human(envelope, 'power')} envelope "
                       f"in {_pct(float(over.mean()))} of samples: {why}")]


def run_warnings(scenario: Scenario, record: RunRecord, facility_w: np.ndarray) -> tuple[RunWarning, ...]:
    """Every warning of a run, site first, then services and jobs in scenario order."""
    out = _envelope_warning(scenario, record, facility_w)
    configs = {s.name: s for s in scenario.workloads.inference}
    for svc in record.services:
        cfg = configs[svc.name]
        out += _service_warnings(svc, cfg.start, record.sample_interval_s, cfg.slo.ttft, svc.ttft_p99_s)
    out += _job_warnings(record)
    out += _deadline_warnings(scenario, record)
    out += _storage_warning(record)
    return tuple(out)


def _storage_warning(record: RunRecord) -> list[RunWarning]:
    """The storage tier cannot feed the training jobs' data loaders at full speed."""
    st = record.storage
    if st is None or st.dataset_read_bw_bytes_per_s <= st.read_bw_bytes_per_s:
        return []
    return [RunWarning("storage-read-short", "site",
                       f"the training jobs read {human(st.dataset_read_bw_bytes_per_s, 'bandwidth')} of dataset at "
                       f"full speed, more than the storage's {human(st.read_bw_bytes_per_s, 'bandwidth')} read "
                       "bandwidth: they would wait for data")]


def _deadline_warnings(scenario: Scenario, record: RunRecord) -> list[RunWarning]:
    deadlines = {j.name: j.deadline for j in scenario.workloads.training if j.deadline is not None}
    out: list[RunWarning] = []
    for job in record.jobs:
        due = deadlines.get(job.name)
        if due is None:
            continue
        finished = job.status == JobStatus.FINISHED
        if finished and job.end_s > due:
            out.append(RunWarning("job-missed-deadline", job.name,
                                  f"training job '{job.name}' finished at {human(job.end_s, 'time')}, "
                                  f"{human(job.end_s - due, 'time')} after its deadline ({human(due, 'time')})"))
        elif not finished and due <= record.horizon_s:
            out.append(RunWarning("job-missed-deadline", job.name,
                                  f"training job '{job.name}' had not finished by its deadline "
                                  f"({human(due, 'time')})"))
    return out
