"""One candidate plan, simulated in full: its headline numbers, objectives and the constraints it
breaks. A pure, picklable function of the candidate scenario, so any executor can map it."""

from __future__ import annotations

import math

from simulator import api
from simulator.errors import DcsimError
from simulator.report.sites import attainment_by_service
from simulator.scenario.plan import PLAN_METRICS, PlanSpec
from simulator.scenario.sites_load import LoadedSites, load_any


def simulate_candidate(raw: dict, base_dir: str, source: str | None = None) -> dict:
    """Run one candidate; its summary, costs, and each job's and service's outcome (picklable).
    A candidate that cannot run (no layout fits, say) comes back with its error."""
    try:
        loaded = load_any(raw, base_dir=base_dir, source=source)
        result = api.simulate(loaded)
    except DcsimError as err:
        return {"error": str(err)}
    jobs = result.jobs
    services = result.services
    deadlines = {j.name: j.deadline for j in loaded.training_jobs()}
    return {
        "summary": result.summary_dict,
        "costs": result.costs_dict,
        "jobs": {row["job"]: {"status": row["status"], "end_s": _number(row["end_s"]),
                              "deadline_s": deadlines.get(row["job"])}
                 for row in jobs[["job", "status", "end_s"]].to_dict("records")},
        # a service split over sites is judged as one: its parts' requests added up
        "services": _services_by_name(services, loaded) if isinstance(loaded, LoadedSites) else
        {row["service"]: {"slo_attainment": _number(row["slo_attainment"])}
         for row in services[["service", "slo_attainment"]].to_dict("records")},
    }


def _services_by_name(services, loaded: LoadedSites) -> dict[str, dict]:
    """Each service of a multi-site scenario by its name: SLO attainment weighted by the
    requests each of its site parts served."""
    names = {part: name for split in loaded.split for part, name in split.services.items()}
    return {name: {"slo_attainment": value} for name, value in attainment_by_service(services, names).items()}


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _finished_by(done: dict, deadline_s: float) -> bool:
    """A job's outcome finished at or before ``deadline_s``."""
    end = done.get("end_s")
    return done.get("status") == "finished" and end is not None and end <= deadline_s


def metric(outcome: dict, name: str) -> float | None:
    value = outcome[PLAN_METRICS[name]].get(name)
    return None if value is None else float(value)


def judge(outcome: dict, spec: PlanSpec) -> tuple[list[float | None], list[str]]:
    """(objective values, broken constraints as short labels) of one simulated candidate; a
    candidate that failed to run breaks 'runs'."""
    if "error" in outcome:
        return [None] * len(spec.objectives), ["runs"]
    objectives = [metric(outcome, o.metric) for o in spec.objectives]
    broken: list[str] = []
    c = spec.constraints
    summary = outcome["summary"]
    # Each site within its own envelope (one site: the summary's peak and envelope).
    sites = list((summary.get("sites") or {"": summary}).values())
    if c.within_envelope and any(s["peak_facility_power_w"] > s["power_envelope_w"] * (1 + 1e-9) for s in sites):
        broken.append("within_envelope")
    for job, deadline in c.finish_by.items():
        if not _finished_by(outcome["jobs"].get(job, {}), deadline):
            broken.append(f"finish_by.{job}")
    for job, done in outcome["jobs"].items():     # every training job's own deadline
        if done.get("deadline_s") is not None and not _finished_by(done, done["deadline_s"]):
            broken.append(f"deadline.{job}")
    monthly = summary.get("monthly") or []
    for name, least in c.min_slo_attainment.items():
        targets = outcome["services"] if name == "*" else {name: outcome["services"].get(name, {})}
        for service, result in targets.items():
            attained = result.get("slo_attainment")
            # A dated run must meet the target in every month, not only over the whole horizon.
            months = [m["slo_attainment"][service] for m in monthly
                      if m["slo_attainment"].get(service) is not None]
            if attained is not None and months:
                attained = min(attained, *months)
            if attained is None or attained < least:
                broken.append(f"min_slo_attainment.{service}")
    for bound in c.metrics:
        value = metric(outcome, bound.metric)
        if value is None or (bound.min is not None and value < bound.min) \
                or (bound.max is not None and value > bound.max):
            broken.append(f"metrics.{bound.metric}")
    if any(v is None for v in objectives):
        broken.append("objective_defined")
    return objectives, broken
