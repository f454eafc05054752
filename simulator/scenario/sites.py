"""Several sites in one scenario (``sites:``, docs/sites.md): the document checked as written, then
split into one ordinary single-site scenario per site.

Sites share nothing physical (each has its own grid connection, climate, prices, plant and
racks), so a multi-site scenario is N single-site scenarios run side by side and added up. The
split works on the raw document, before the schema: each part gets its site as ``site:``, the
rack groups standing there, the training jobs and services pinned or placed there, its share of
every service given ``replicas_by_site`` (renamed ``NAME@SITE``, its arrival rate and demand
file scaled by its share of the replicas), the shared sections (simulation, costs, power,
cooling, failures, storage, operation, catalog, plan) unchanged, and its own seed.

Placement of work without a pin (decided here, before the run; no queueing across sites): a
job or service naming a ``rack_group`` runs at that group's site; otherwise at the site whose
rack groups in service at the work's start (delivered, not retired) hold the most accelerators
(all its groups when no site has one in service yet), ties to the first in the list.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import TypeAdapter

from simulator.domain.catalog import shipped_catalog
from simulator.domain.quantities import PerS
from simulator.errors import Problem
from simulator.scenario.calendar import offset_s, parse_when

SITE_LOCAL = ("site", "sites", "cluster", "workloads")     # what the split rewrites; the rest is shared
_RATE = TypeAdapter(PerS)


@dataclass(frozen=True)
class SitePart:
    """One site's single-site document and how its YAML paths map back to the whole document."""

    name: str
    index: int                                   # in ``sites``
    raw: dict
    paths: dict[str, str] = field(default_factory=dict)     # path prefix in ``raw`` -> in the document
    services: dict[str, str] = field(default_factory=dict)  # service name in ``raw`` -> in the document
    seed: int = 0

    def document_path(self, path: str) -> str:
        """A YAML path of this part as written in the multi-site document."""
        for prefix in sorted(self.paths, key=len, reverse=True):
            if path == prefix or path.startswith((prefix + ".", prefix + "[")):
                return self.paths[prefix] + path[len(prefix):]
        return path


def is_multi_site(data: object) -> bool:
    """Whether a raw scenario document uses ``sites:``."""
    return isinstance(data, dict) and "sites" in data


def site_seeds(seed: object, n: int) -> list[int]:
    """Each site's root seed: the scenario's own with one site (so ``sites: [one]`` runs as
    ``site: one``), else 63 bits of ``SeedSequence(seed).spawn(n)[i]``: independent streams,
    a site's randomness untouched by how many events another site has."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        return [seed] * n  # type: ignore[list-item]  # the schema reports the bad seed
    if n == 1:
        return [seed]
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
            for child in np.random.SeedSequence(seed).spawn(n)]


def _list(data: dict, *keys: str) -> list:
    node: object = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) else []


def _known(names: list[str]) -> str:
    return ", ".join(names) or "none"


def _accelerators(data: dict) -> dict[str, int]:
    """Accelerators per server of the nodes the document can name (its catalog overrides first)."""
    nodes = shipped_catalog().nodes
    counts = {name: nodes.get(name).accelerators_per_node for name in nodes.names()}
    for node in _list(data, "catalog", "nodes"):
        if isinstance(node, dict) and isinstance(node.get("accelerators_per_node"), int):
            counts[str(node.get("name"))] = node["accelerators_per_node"]
    return counts


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def structure_problems(data: dict) -> list[Problem]:
    """Problems of the ``sites:`` document as written: both ``site`` and ``sites``, a site list
    that is not one, names missing or repeated, racks without a site, pins to unknown sites."""
    sites = data.get("sites")
    if "site" in data:
        return [Problem("sites", "give either site (one site) or sites (a list of sites), not both")]
    if not isinstance(sites, list) or not sites:
        return [Problem("sites", "expected a list of at least one site, each a mapping with a name, "
                                 "power_envelope, climate and electricity")]
    problems: list[Problem] = []
    names: list[str] = []
    for i, site in enumerate(sites):
        if not isinstance(site, dict):
            problems.append(Problem(f"sites[{i}]", "a site is a mapping (name, power_envelope, climate, ...)"))
            continue
        name = site.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem(f"sites[{i}].name", "each of several sites needs a name (a word such as 'east')"))
        elif name in names:
            problems.append(Problem(f"sites[{i}].name", f"site names must be unique; '{name}' is also sites"
                                                        f"[{names.index(name)}]"))
        elif "@" in name:
            problems.append(Problem(f"sites[{i}].name", f"'{name}': a site name may not hold '@' (it joins "
                                                        "service and site names)"))
        names.append(name if isinstance(name, str) else "")
    if problems:
        return problems
    several = len(names) > 1
    racks = _list(data, "cluster", "racks")
    for j, rack in enumerate(racks):
        if not isinstance(rack, dict):
            continue
        where = rack.get("site")
        if where is None and several:
            problems.append(Problem(f"cluster.racks[{j}].site", f"with several sites each rack group names its "
                                                                f"site (one of: {_known(names)})"))
        elif where is not None and where not in names:
            problems.append(Problem(f"cluster.racks[{j}].site", f"no site named '{where}' (known: {_known(names)})"))
    held = {r.get("site", names[0]) for r in racks if isinstance(r, dict)}
    for i, name in enumerate(names):
        if racks and name not in held and not problems:     # not when a rack's site is already wrong
            problems.append(Problem(f"sites[{i}]", f"no rack group stands at site '{name}' (give it racks: "
                                                   "cluster.racks[].site)"))
    for kind in ("training", "inference"):
        for k, work in enumerate(_list(data, "workloads", kind)):
            if not isinstance(work, dict):
                continue
            path = f"workloads.{kind}[{k}]"
            pin = work.get("site")
            if pin is not None and pin not in names:
                problems.append(Problem(f"{path}.site", f"no site named '{pin}' (known: {_known(names)})"))
            shares = work.get("replicas_by_site") if kind == "inference" else None
            if shares is None:
                continue
            if not isinstance(shares, dict) or not shares:
                problems.append(Problem(f"{path}.replicas_by_site", "expected a mapping of site name to replicas, "
                                                                    "e.g. {east: 24, west: 12}"))
                continue
            problems += [Problem(f"{path}.replicas_by_site.{s}", f"no site named '{s}' (known: {_known(names)})")
                         for s in shares if s not in names]
            problems += [Problem(f"{path}.replicas_by_site.{s}", f"expected a whole number of replicas, at least 1 "
                                                                 f"(got {n!r})")
                         for s, n in shares.items() if s in names and (_int(n) < 1)]
            if work.get("replicas") is not None:
                problems.append(Problem(f"{path}.replicas", "give replicas or replicas_by_site (replicas per site), "
                                                            "not both"))
            for key, why in (("site", "pins the service to one site"), ("rack_group", "places it at one site"),
                             ("disaggregation", "is not split across sites yet")):
                if work.get(key) is not None:
                    problems.append(Problem(f"{path}.{key}", f"{key} {why}; with replicas_by_site leave it out"))
    problems += _trace_problems(data, names)
    return problems


def _rack_sites(data: dict, names: list[str]) -> dict[str, str]:
    """Each rack group's site by the group's name (a group without one stands at the first site)."""
    return {str(r.get("name", "racks")): r.get("site", names[0]) for r in _list(data, "cluster", "racks")
            if isinstance(r, dict)}


def _trace_groups(data: dict) -> object:
    """``workloads.trace.rack_groups`` as written (None: no trace, or no such key)."""
    trace = data.get("workloads", {}).get("trace") if isinstance(data.get("workloads"), dict) else None
    return trace.get("rack_groups") if isinstance(trace, dict) else None


def _trace_site(data: dict, names: list[str], rack_site: dict[str, str]) -> str | None:
    """The site of a multi-site scenario's trace: the one its rack groups stand at (the first site
    when it names none of them, whose checks then report the names once; None: no trace)."""
    groups = _trace_groups(data)
    if not isinstance(groups, list):
        return None
    return next((rack_site[g] for g in groups if g in rack_site), names[0])


def _trace_problems(data: dict, names: list[str]) -> list[Problem]:
    """A trace replays on one site, the one its rack groups stand at: it must name them, all at
    one site."""
    trace = data.get("workloads", {}).get("trace") if isinstance(data.get("workloads"), dict) else None
    if not isinstance(trace, dict):
        return []
    groups = _trace_groups(data)
    if not isinstance(groups, list) or not groups:
        return [Problem("workloads.trace.rack_groups", "with sites:, name the trace's rack groups: they place "
                                                       "it at their site (docs/sites.md)")]
    at = _rack_sites(data, names)
    where = sorted({str(at[g]) for g in groups if g in at})
    if len(where) > 1:
        return [Problem("workloads.trace.rack_groups", f"a trace replays on one site, but its rack groups stand "
                                                       f"at {', '.join(where)}")]
    return []


def _seconds(value: object, start: object, default: float) -> float:
    """A moment as written (date or offset) in seconds after t=0; ``default`` when absent or
    unreadable (the schema then reports it)."""
    if value is None:
        return default
    try:
        when = parse_when(value)
        begin = parse_when(start) if start is not None else None      # a date: datetime
        seconds = offset_s(when, begin if isinstance(begin, dt.datetime) else None)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return default
    return default if seconds is None else seconds


def _in_service(racks: list, data: dict, t_s: float) -> list[bool]:
    """Which rack groups are delivered and not yet retired at ``t_s``."""
    sim = data.get("simulation")
    start = sim.get("start") if isinstance(sim, dict) else None
    return [isinstance(r, dict) and _seconds(r.get("available_from"), start, 0.0) <= t_s
            < _seconds(r.get("retire_at"), start, math.inf) for r in racks]


def _placed(work: dict, names: list[str], rack_site: dict[str, str], capacity: list[tuple[str, int]],
            racks: list, data: dict) -> str:
    """The site of unpinned work: its rack group's, else the one whose rack groups in service at
    the work's start hold the most accelerators (all of them when none is in service yet)."""
    if work.get("site") is not None:
        return str(work["site"])
    if work.get("rack_group") in rack_site:
        return rack_site[work["rack_group"]]
    sim = data.get("simulation")
    begin = sim.get("start") if isinstance(sim, dict) else None
    start = _seconds(work.get("start", work.get("submit_at")), begin, 0.0)
    serving = _in_service(racks, data, start)
    held = dict.fromkeys(names, 0)
    for (site, gpus), up in zip(capacity, serving, strict=True):
        held[site] += gpus if up else 0
    if not any(held.values()):
        for site, gpus in capacity:
            held[site] += gpus
    return max(names, key=lambda n: (held[n], -names.index(n)))


def _scaled(value: object, share: float) -> object:
    """A rate as written (a number or '20/s') times ``share``; as written when it does not parse
    (the schema then reports it)."""
    try:
        return float(_RATE.validate_python(value)) * share
    except Exception:  # the per-site schema names the problem
        return value


def split_sites(data: dict) -> list[SitePart]:
    """One single-site document per site (``structure_problems`` must be empty)."""
    sites = data["sites"]
    names = [s["name"] for s in sites]
    racks = _list(data, "cluster", "racks")
    rack_site = _rack_sites(data, names)
    trace_site = _trace_site(data, names, rack_site)
    per_node = _accelerators(data)
    capacity = [(rack.get("site", names[0]), _int(rack.get("count")) * _int(rack.get("nodes_per_rack"), 4)
                 * per_node.get(str(rack.get("node")), 0)) if isinstance(rack, dict) else (names[0], 0)
                for rack in racks]
    seeds = site_seeds(data.get("simulation", {}).get("seed", 0) if isinstance(data.get("simulation"), dict)
                       else 0, len(names))
    parts = []
    for i, name in enumerate(names):
        raw = {k: copy.deepcopy(v) for k, v in data.items() if k not in SITE_LOCAL}
        raw["site"] = copy.deepcopy(sites[i])
        paths = {"site": f"sites[{i}]"}
        if len(names) > 1:
            raw["simulation"] = {**(raw.get("simulation") or {}), "seed": seeds[i]}
        cluster = {k: copy.deepcopy(v) for k, v in data.get("cluster", {}).items() if k != "racks"} \
            if isinstance(data.get("cluster"), dict) else data.get("cluster")
        if isinstance(cluster, dict) and not isinstance(cluster.get("racks", []), list):
            cluster["racks"] = copy.deepcopy(data["cluster"]["racks"])    # as written: the schema names it
        elif isinstance(cluster, dict):
            cluster["racks"] = []
            for j, rack in enumerate(racks):      # a rack that is not a mapping: the first site reports it
                if (rack.get("site", names[0]) if isinstance(rack, dict) else names[0]) == name:
                    paths[f"cluster.racks[{len(cluster['racks'])}]"] = f"cluster.racks[{j}]"
                    cluster["racks"].append({k: copy.deepcopy(v) for k, v in rack.items() if k != "site"}
                                            if isinstance(rack, dict) else copy.deepcopy(rack))
        raw["cluster"] = cluster
        workloads = data.get("workloads")
        services: dict[str, str] = {}
        if isinstance(workloads, dict):
            # only lists are split; anything else stays as written for the schema to name
            mine: dict[str, list] = {kind: [] for kind in ("training", "inference")
                                     if isinstance(workloads.get(kind, []), list)}
            for kind, placed in mine.items():
                for k, work in enumerate(_list(data, "workloads", kind)):
                    if not isinstance(work, dict):        # not a mapping: the first site reports it
                        if i == 0:
                            paths[f"workloads.{kind}[{len(placed)}]"] = f"workloads.{kind}[{k}]"
                            placed.append(copy.deepcopy(work))
                        continue
                    shares = work.get("replicas_by_site") if kind == "inference" else None
                    if shares is not None:
                        if not shares.get(name):
                            continue
                        total = sum(v for v in shares.values() if isinstance(v, int))
                        share = shares[name] / total if total else 0.0
                        part = {k2: copy.deepcopy(v) for k2, v in work.items() if k2 != "replicas_by_site"}
                        part["name"] = f"{work.get('name')}@{name}"
                        part["replicas"] = shares[name]
                        if part.get("arrival_rate") is not None:
                            part["arrival_rate"] = _scaled(part["arrival_rate"], share)
                        if part.get("demand_csv") is not None:       # the file's rates, times its own scale
                            part["demand_scale"] = _scaled(part.get("demand_scale", 1.0), share)
                    elif _placed(work, names, rack_site, capacity, racks, data) == name:
                        part = {k2: copy.deepcopy(v) for k2, v in work.items() if k2 != "site"}
                    else:
                        continue
                    paths[f"workloads.{kind}[{len(placed)}]"] = f"workloads.{kind}[{k}]"
                    if kind == "inference":
                        services[str(part.get("name"))] = str(work.get("name"))
                    placed.append(part)
            raw["workloads"] = {**{k: copy.deepcopy(v) for k, v in workloads.items()
                                   if k != "trace" or trace_site == name}, **mine}
        elif workloads is not None:
            raw["workloads"] = workloads
        parts.append(SitePart(name, i, raw, paths, services, seeds[i] if isinstance(seeds[i], int) else 0))
    return parts


def pin_problems(scenario) -> list[Problem]:
    """A single-site scenario (``site:``) whose rack groups, jobs or services name another site."""
    name = scenario.site.name
    problems: list[Problem] = []

    def check(where: str | None, path: str) -> None:
        if where is not None and where != name:
            problems.append(Problem(path, f"no site named '{where}': the scenario has one site, '{name}' "
                                          "(several go in a sites: list)"))

    for j, rack in enumerate(scenario.cluster.racks):
        check(rack.site, f"cluster.racks[{j}].site")
    for k, job in enumerate(scenario.workloads.training):
        check(job.site, f"workloads.training[{k}].site")
    for k, svc in enumerate(scenario.workloads.inference):
        check(svc.site, f"workloads.inference[{k}].site")
        for s in svc.replicas_by_site or {}:
            check(s, f"workloads.inference[{k}].replicas_by_site.{s}")
    if scenario.sites is not None:
        problems.append(Problem("sites", "give either site (one site) or sites (a list of sites), not both"))
    return problems
