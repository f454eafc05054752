"""Cross-reference checks that a schema cannot express: catalog names exist, files are inside
the scenario folder, work fits the cluster's rack groups, explicit layouts obey the one layout
rule (domain/layout.py) and rack limits cover their idle racks.

Pure Python (no Numba): what needs the cost model (memory fit, a GPU count with no valid
layout, the idle site against the envelope) is the planner's (engine/planning.py), which
``dcsim validate`` runs after these. Returns every problem found.
"""

from __future__ import annotations

from pathlib import Path

from simulator.domain.catalog import Catalog, T, Table
from simulator.domain.csvfile import profile_problems
from simulator.domain.layout import layout_problems
from simulator.domain.model_ref import resolve_model
from simulator.domain.serving_checks import engine_for, precision_for, speculation_problems, tp_problems
from simulator.domain.specs import ModelSpec, scaleup_domain
from simulator.domain.units import human
from simulator.domain.yaml_io import join_path
from simulator.errors import CatalogError, DcsimError, InputError, Problem
from simulator.scenario.limits import size_problems
from simulator.scenario.overrides import override_problems
from simulator.scenario.phased import phase_problems
from simulator.scenario.schema import BuiltinClimate, CsvProfile, InferenceService, Layout, Scenario, TrainingJob
from simulator.scenario.sites import pin_problems


def inside(folder: Path, candidate: Path) -> bool:
    """True when ``candidate`` (resolved, symlinks followed) lies inside ``folder``."""
    try:
        candidate.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_file(folder: Path, rel: str, path: str) -> list[Problem]:
    """A data file named in a scenario must exist and stay inside the scenario's folder."""
    candidate = Path(rel)
    if candidate.is_absolute():
        return [Problem(path, "must be a path relative to the scenario file", rel)]
    full = folder / candidate
    if not inside(folder, full):
        return [Problem(path, "points outside the scenario's folder", rel)]
    if not full.is_file():
        return [Problem(path, f"file not found: {rel} (in {folder})", None)]
    return []


def _lookup(table: Table[T], name: str, path: str) -> tuple[T | None, list[Problem]]:
    try:
        return table.get(name, path), []
    except InputError as err:
        return None, list(err.problems)


def _check_overrides(scenario: Scenario, catalog: Catalog) -> list[Problem]:
    """Catalog entries the scenario adds must name things that exist: a node's accelerator, an
    accelerator's calibration profile (else they would fail only once a run uses them)."""
    problems: list[Problem] = []
    for i, node in enumerate(scenario.catalog.nodes):
        problems += _lookup(catalog.accelerators, node.accelerator, f"catalog.nodes[{i}].accelerator")[1]
    for i, accel in enumerate(scenario.catalog.accelerators):
        try:
            catalog.calibration_for(accel.calibration, f"catalog.accelerators[{i}].calibration")
        except InputError as err:
            problems += err.problems
    return problems


def check_scenario(scenario: Scenario, catalog: Catalog, folder: Path) -> list[Problem]:
    """Every cross-reference problem of ``scenario``, in document order."""
    problems: list[Problem] = size_problems(scenario) + override_problems(scenario) + _check_overrides(scenario,
                                                                                                      catalog)
    problems += pin_problems(scenario)
    overridden_nodes = {n.name for n in scenario.catalog.nodes}
    group_gpus: dict[str, int] = {}
    group_domain: dict[str, int] = {}
    for i, group in enumerate(scenario.cluster.racks):
        path = f"cluster.racks[{i}]"
        node, found = _lookup(catalog.nodes, group.node, f"{path}.node")
        problems += found
        if node is None:
            continue
        accel, found = _lookup(catalog.accelerators, node.accelerator, f"{path}.node")
        if node.name not in overridden_nodes:  # else reported at catalog.nodes[i].accelerator
            problems += found
        if accel is None:
            continue
        n_nodes = group.count * group.nodes_per_rack
        group_gpus[group.name] = (n_nodes - group.spare_nodes) * node.accelerators_per_node
        group_domain[group.name] = scaleup_domain(node, accel)
        node_idle = node.host_idle_power + node.accelerators_per_node * accel.idle_power
        if group.power_limit is not None and group.power_limit < group.nodes_per_rack * node_idle:
            problems.append(Problem(
                f"{path}.power_limit",
                f"rack power limit {human(group.power_limit, 'power')} is below the rack's idle power "
                f"{human(group.nodes_per_rack * node_idle, 'power')}", None))

    fabric = scenario.cluster.fabric
    problems += _lookup(catalog.switches, fabric.switch, "cluster.fabric.switch")[1]
    problems += _lookup(catalog.optics, fabric.optic, "cluster.fabric.optic")[1]
    tables: dict[str, Table] = {"switch": catalog.switches, "optic": catalog.optics, "core_optic": catalog.optics,
                                "cable": catalog.optics, "nic": catalog.nics}
    for key in ("core_optic", "cable", "nic"):
        if getattr(fabric, key) is not None:
            problems += _lookup(tables[key], getattr(fabric, key), f"cluster.fabric.{key}")[1]
    for name in ("storage", "frontend", "oob"):
        net = getattr(scenario.cluster.networks, name)
        if net is None:
            continue
        for key in ("switch", "optic", "cable", "nic"):
            if getattr(net, key) is not None:
                problems += _lookup(tables[key], getattr(net, key), f"cluster.networks.{name}.{key}")[1]

    climate = scenario.site.climate
    if isinstance(climate, BuiltinClimate):
        problems += _lookup(catalog.climates, climate.name, "site.climate.name")[1]
    for path, profile in (("site.climate", climate),
                          ("site.electricity.price_profile", scenario.site.electricity.price_profile),
                          ("site.electricity.carbon_profile", scenario.site.electricity.carbon_profile)):
        if isinstance(profile, CsvProfile):
            found = check_file(folder, profile.path, f"{path}.path")
            kind = "temperature" if path == "site.climate" else path.rsplit(".", 1)[1].split("_")[0]
            problems += found or profile_problems(folder, profile.path, profile.column,
                                                  f"{path}.path", kind)
            for extra, extra_kind in (("wet_bulb_column", "temperature"), ("humidity_column", "humidity")):
                column = getattr(profile, extra, None)
                if column is not None and not found:
                    problems += profile_problems(folder, profile.path, column, f"{path}.{extra}", extra_kind)

    known_items = {e.name for kind in ("accelerators", "nodes", "switches", "optics", "nics", "servers",
                                       "facility_costs")
                   for e in getattr(catalog, kind).entries}
    for name in scenario.costs.price_overrides:
        if name not in known_items:
            problems.append(Problem(f"costs.price_overrides.{name}", "not a catalog accelerator, node, "
                                    "switch, optic, NIC, support server or facility cost item", None))

    problems += _check_operation(scenario, catalog, folder)
    trace = scenario.workloads.trace
    if trace is not None:
        names = [r.name for r in scenario.cluster.racks]
        problems += [Problem("workloads.trace.rack_groups", f"no rack group named '{n}' (known: {', '.join(names)})")
                     for n in trace.rack_groups if n not in names]
    if scenario.failures is not None and scenario.failures.fleet is not None:
        problems += _lookup(catalog.fleets, scenario.failures.fleet, "failures.fleet")[1]
    problems += phase_problems(scenario, folder, check_file)
    outages = scenario.site.grid_outages
    if outages is not None and outages.path is not None:
        found = check_file(folder, outages.path, "site.grid_outages.path")
        problems += found or profile_problems(folder, outages.path, outages.column, "site.grid_outages.path", "outage")
    total_gpus = sum(group_gpus.values())
    for i, job in enumerate(scenario.workloads.training):
        problems += _check_job(job, f"workloads.training[{i}]", scenario, catalog, folder,
                               group_gpus, group_domain, total_gpus)
    for i, svc in enumerate(scenario.workloads.inference):
        problems += _check_service(svc, f"workloads.inference[{i}]", scenario, catalog, folder,
                                   group_gpus, group_domain, total_gpus)

    return problems


def _check_operation(scenario: Scenario, catalog: Catalog, folder: Path) -> list[Problem]:
    """Operation policies: flexible jobs exist, data files are readable, demand response is
    recorded hour by hour; plus the catalog names of the cooling plant and support servers."""
    problems: list[Problem] = []
    for name in ("air_plant", "liquid_plant"):
        plant = getattr(scenario.cooling, name)
        key = "trim_chiller" if plant.type == "dry-cooler" else "chiller"
        if getattr(plant, key) is not None:
            problems += _lookup(catalog.chillers, getattr(plant, key), f"cooling.{name}.{key}")[1]
    for i, group in enumerate(scenario.cluster.support):
        problems += _lookup(catalog.servers, group.server, f"cluster.support[{i}].server")[1]
    op = scenario.operation
    if op is None:
        return problems
    names = {j.name for j in scenario.workloads.training}
    if op.flexible is not None and op.flexible.jobs != "all":
        for i, name in enumerate(op.flexible.jobs):
            if name not in names:
                problems.append(Problem(f"operation.flexible.jobs[{i}]", f"no training job named '{name}' "
                                        f"(known: {', '.join(sorted(names)) or 'none'})"))
    files = []
    if op.demand_response is not None:
        files.append(("operation.demand_response", op.demand_response.path, op.demand_response.column, "power_kw"))
        interval = scenario.simulation.sample_interval
        if interval > 3600 or 3600 % interval > 1e-9:
            problems.append(Problem("simulation.sample_interval", "demand response needs samples that divide the "
                                    "hour (e.g. 5min, 15min, 1h)"))
    profiles = [(f"operation.onsite[{i}].profile", g.profile) for i, g in enumerate(op.onsite)]
    if op.ppa is not None:
        profiles.append(("operation.ppa.profile", op.ppa.profile))
    files += [(path, p.path, p.column, "share") for path, p in profiles if isinstance(p, CsvProfile)]
    for path, rel, column, kind in files:
        found = check_file(folder, rel, f"{path}.path")
        problems += found or profile_problems(folder, rel, column, f"{path}.path", kind)
    return problems


def _check_model(ref, path: str, catalog: Catalog, folder: Path) -> tuple[ModelSpec | None, list[Problem]]:
    """The workload's model (catalog name, spec file inside the folder, or inline spec)."""
    if isinstance(ref, str) and ("/" in ref or ref.endswith((".yaml", ".yml"))):
        found = check_file(folder, ref, f"{path}.model")
        if found:
            return None, found
    try:
        return resolve_model(ref, catalog, folder, f"{path}.model"), []
    except InputError as err:
        # Problems inside a spec file read "spec.yaml:LINE: key: message", the file named as written.
        shown = ref if isinstance(ref, str) and err.source else err.source
        return None, [Problem(p.path if p.path.startswith(path) else f"{path}.model",
                              p.message if not err.source else p.format(shown), p.value)
                      for p in err.problems]
    except DcsimError as err:
        return None, [Problem(f"{path}.model", str(err))]


def _check_placement(work, path: str, scenario: Scenario, group_gpus: dict[str, int],
                     total_gpus: int) -> tuple[str | None, list[Problem]]:
    """Start within the horizon, rack group known, GPU count within the group; returns the
    group the work will be sized against."""
    problems: list[Problem] = []
    if work.start >= scenario.simulation.horizon:
        problems.append(Problem(f"{path}.start", "starts after the simulation horizon ends", None))
    if work.rack_group is not None and work.rack_group not in group_gpus:
        known = ", ".join(r.name for r in scenario.cluster.racks)
        problems.append(Problem(f"{path}.rack_group", f"no rack group named '{work.rack_group}' (known: {known})"))
        return None, problems
    capacity = group_gpus.get(work.rack_group, total_gpus) if work.rack_group else max(group_gpus.values(), default=0)
    if capacity and work.gpus > capacity:
        where = f"rack group '{work.rack_group}'" if work.rack_group else "the largest rack group"
        problems.append(Problem(f"{path}.gpus" if isinstance(work, TrainingJob) else f"{path}.replicas",
                                f"{work.gpus} GPUs requested but {where} has {capacity}"))
    return work.rack_group or (max(group_gpus, key=lambda g: group_gpus[g]) if group_gpus else None), problems


def _check_workload(work, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
                    group_gpus: dict[str, int], group_domain: dict[str, int],
                    total_gpus: int) -> tuple[ModelSpec | None, list[Problem], int | None]:
    """What training jobs and services share: the model, the placement, and the scale-up domain of
    the group the work is sized against (None: unknown rack group)."""
    model, problems = _check_model(work.model, path, catalog, folder)
    group, found = _check_placement(work, path, scenario, group_gpus, total_gpus)
    problems += found
    if group is None and work.rack_group is not None:
        return model, problems, None
    return model, problems, group_domain.get(group, 8) if group else 8


def _check_service(svc: InferenceService, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
                   *groups) -> list[Problem]:
    """An inference service: model, placement, tensor parallelism within the scale-up domain, and
    its serving choices on the group's accelerator (engine, precisions, draft model, lengths file;
    whether a request fits in memory is the planner's to say)."""
    model, problems, domain = _check_workload(svc, path, scenario, catalog, folder, *groups)
    if domain is None:
        return problems
    tps = [("gpus_per_replica", svc.gpus_per_replica)]
    if svc.disaggregation is not None:
        tps = [("disaggregation.prefill.gpus_per_replica", svc.disaggregation.prefill.gpus_per_replica),
               ("disaggregation.decode.gpus_per_replica", svc.disaggregation.decode.gpus_per_replica)]
    for key, tp in tps:
        if model is not None:
            problems += tp_problems(model, tp, domain, f"{path}.{key}")
        elif tp > domain:
            problems += [Problem(f"{path}.{key}", f"{tp} accelerators per replica but the scale-up domain holds "
                                                  f"{domain} (tensor parallelism stays within it)")]
    problems += engine_for(svc.engine, catalog, f"{path}.engine")[1]
    accel = _service_accelerator(svc, scenario, catalog)
    if accel is not None:
        paths = {"weights": f"{path}.precision", "activations": f"{path}.activations",
                 "kv": f"{path}.kv_precision"}
        problems += precision_for(svc.precision, svc.activations, svc.kv_precision, accel, paths)[1]
    if svc.speculative is not None and model is not None:
        sp = svc.speculative
        draft = None
        if sp.draft is not None:
            draft, found = _check_model(sp.draft, f"{path}.speculative.draft", catalog, folder)
            problems += [Problem(p.path.replace(".draft.model", ".draft"), p.message, p.value) for p in found]
        problems += speculation_problems(model, draft, sp.draft_tokens, sp.acceptance,
                                         {"acceptance": f"{path}.speculative.acceptance",
                                          "draft_tokens": f"{path}.speculative.draft_tokens",
                                          "draft": f"{path}.speculative.draft"})
    if svc.lengths_csv is not None:
        problems += check_file(folder, svc.lengths_csv, f"{path}.lengths_csv")
    return problems


def _service_accelerator(svc: InferenceService, scenario: Scenario, catalog: Catalog):
    """The accelerator of the rack group a service is sized against (None when unknown)."""
    racks = scenario.cluster.racks
    chosen = [r for r in racks if r.name == svc.rack_group] if svc.rack_group else list(racks)
    for rack in chosen:
        try:
            return catalog.accelerators.get(catalog.nodes.get(rack.node).accelerator)
        except InputError:
            continue
    return None


def _check_job(job: TrainingJob, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
               *groups) -> list[Problem]:
    """A training job: model, placement and its explicit layout (whether it fits in memory is
    the planner's to say: engine/planning.py, which `dcsim validate` runs too)."""
    model, problems, domain = _check_workload(job, path, scenario, catalog, folder, *groups)
    stack = None
    if job.stack is not None:
        try:
            stack = catalog.stacks.get(job.stack, f"{path}.stack")
        except CatalogError as err:
            problems += err.problems
    if domain is None:
        return problems

    overlap = stack.tp_comm_overlap if stack is not None else False
    if isinstance(job.layout, Layout):
        problems += _check_layout(job, job.layout, path, model, domain, overlap)
    elif job.micro_batch is not None and job.global_batch % job.micro_batch:
        problems.append(Problem(f"{path}.global_batch", f"global_batch {job.global_batch} is not a "
                                f"multiple of micro_batch {job.micro_batch}"))
    for i, phase in enumerate(job.phases):
        if isinstance(phase.layout, Layout):
            seq, batch = phase.seq or job.seq, phase.global_batch or job.global_batch
            staged = job.model_copy(update={"seq": seq, "global_batch": batch,
                                            "micro_batch": phase.micro_batch or job.micro_batch})
            problems += _check_layout(staged, phase.layout, f"{path}.phases[{i}]", model, domain, overlap)

    return problems


def _check_layout(job: TrainingJob, layout: Layout, path: str, model: ModelSpec | None,
                  domain: int, tp_comm_overlap: bool = False) -> list[Problem]:
    """The job's explicit layout against the one layout rule (domain/layout.py), each problem at
    the key that holds it."""
    resolved = layout.resolve(job.gpus, job.micro_batch, tp_comm_overlap)
    found = layout_problems(resolved, gpus=job.gpus, global_batch=job.global_batch, domain=domain,
                            heads=model.heads if model else None, layers=model.layers if model else None,
                            experts=model.experts if model else None, seq=job.seq)
    lp = f"{path}.layout"
    return [Problem(f"{path}.{field}" if field in ("global_batch", "seq") else join_path(lp, field) if field else lp,
                    message) for field, message in found]
