"""Cross-reference checks that a schema cannot express: catalog names exist, files are inside
the scenario folder, jobs fit the cluster and their layouts divide evenly, models fit in
memory at all, and the power envelope covers at least the idle load.

Pure Python (no Numba), so ``dcsim validate`` stays fast. Returns every problem found.
"""

from __future__ import annotations

from pathlib import Path

from simulator.domain.catalog import Catalog
from simulator.domain.csvfile import profile_problems
from simulator.domain.model_ref import resolve_model
from simulator.domain.precision import precision
from simulator.domain.specs import ModelSpec
from simulator.domain.units import human
from simulator.errors import DcsimError, InputError, Problem
from simulator.scenario.schema import CsvProfile, InferenceService, Layout, Scenario, TrainingJob


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


def _lookup(table, name: str, path: str) -> tuple[object | None, list[Problem]]:
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
    problems: list[Problem] = _check_overrides(scenario, catalog)
    overridden_nodes = {n.name for n in scenario.catalog.nodes}
    group_gpus: dict[str, int] = {}
    group_domain: dict[str, int] = {}
    group_memory: dict[str, float] = {}
    idle_it_w = 0.0
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
        group_domain[group.name] = min(node.accelerators_per_node, accel.scaleup.domain) \
            if accel.scaleup.topology == "switched" else accel.scaleup.domain
        group_memory[group.name] = accel.hbm
        node_idle = node.host_idle_power + node.accelerators_per_node * accel.idle_power
        idle_it_w += n_nodes * node_idle
        if group.power_limit is not None and group.power_limit < group.nodes_per_rack * node_idle:
            problems.append(Problem(
                f"{path}.power_limit",
                f"rack power limit {human(group.power_limit, 'power')} is below the rack's idle power "
                f"{human(group.nodes_per_rack * node_idle, 'power')}", None))

    fabric = scenario.cluster.fabric
    problems += _lookup(catalog.switches, fabric.switch, "cluster.fabric.switch")[1]
    problems += _lookup(catalog.optics, fabric.optic, "cluster.fabric.optic")[1]

    climate = scenario.site.climate
    if getattr(climate, "type", None) == "builtin":
        problems += _lookup(catalog.climates, climate.name, "site.climate.name")[1]
    for path, profile in (("site.climate", climate),
                          ("site.electricity.price_profile", scenario.site.electricity.price_profile),
                          ("site.electricity.carbon_profile", scenario.site.electricity.carbon_profile)):
        if isinstance(profile, CsvProfile):
            found = check_file(folder, profile.path, f"{path}.path")
            kind = "temperature" if path == "site.climate" else path.rsplit(".", 1)[1].split("_")[0]
            problems += found or profile_problems(folder, profile.path, profile.column,
                                                  f"{path}.path", kind)

    known_items = {e.name for kind in ("accelerators", "nodes", "switches", "optics")
                   for e in getattr(catalog, kind).entries}
    for name in scenario.costs.price_overrides:
        if name not in known_items:
            problems.append(Problem(f"costs.price_overrides.{name}", "not a catalog accelerator, node, "
                                    "switch or optic", None))

    total_gpus = sum(group_gpus.values())
    for i, job in enumerate(scenario.workloads.training):
        problems += _check_job(job, f"workloads.training[{i}]", scenario, catalog, folder,
                               group_gpus, group_domain, group_memory, total_gpus)
    for i, svc in enumerate(scenario.workloads.inference):
        problems += _check_service(svc, f"workloads.inference[{i}]", scenario, catalog, folder,
                                   group_gpus, group_domain, group_memory, total_gpus)

    envelope = scenario.site.power_envelope
    if idle_it_w > 0:
        # A lower bound of the idle facility load: every efficiency at its best, no cooling.
        power = scenario.power
        best_ups = max(e for _, e in power.ups_efficiency.points)
        chain = power.pdu_efficiency * best_ups * power.transformer_efficiency
        idle_facility_w = idle_it_w / chain + scenario.cooling.other_overhead
        if envelope < idle_facility_w:
            problems.append(Problem(
                "site.power_envelope",
                f"{human(envelope, 'power')} is below the cluster's idle load of "
                f"{human(idle_facility_w, 'power')} (IT at idle through the power chain, before "
                "cooling)", None))
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
    return work.rack_group or (max(group_gpus, key=group_gpus.get) if group_gpus else None), problems


def _check_workload(work, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
                    group_gpus: dict[str, int], group_domain: dict[str, int], group_memory: dict[str, float],
                    total_gpus: int) -> tuple[ModelSpec | None, list[Problem], tuple[int, float] | None]:
    """What training jobs and services share: the model, the placement, and the (scale-up domain,
    accelerator memory) of the group the work is sized against (None: unknown rack group)."""
    model, problems = _check_model(work.model, path, catalog, folder)
    group, found = _check_placement(work, path, scenario, group_gpus, total_gpus)
    problems += found
    if group is None and work.rack_group is not None:
        return model, problems, None
    return model, problems, (group_domain.get(group, 8) if group else 8,
                             group_memory.get(group, 0.0) if group else 0.0)


def _check_service(svc: InferenceService, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
                   *groups) -> list[Problem]:
    """An inference service: model, placement, tensor parallelism within the scale-up domain,
    and weights plus a full batch's KV cache within the replica's memory."""
    model, problems, sizing = _check_workload(svc, path, scenario, catalog, folder, *groups)
    if sizing is None:
        return problems
    domain, memory = sizing
    tp = svc.gpus_per_replica
    if tp > domain:
        problems.append(Problem(f"{path}.gpus_per_replica", f"{tp} accelerators per replica but the scale-up "
                                f"domain holds {domain} (tensor parallelism stays within it)"))
    if model is not None:
        if model.heads % tp:
            problems.append(Problem(f"{path}.gpus_per_replica",
                                    f"{tp} does not divide the {model.heads} attention heads"))
        elif memory > 0:
            from simulator.costmodel.memory import usable_bytes
            from simulator.costmodel.serving_plan import replica_memory_bytes

            context = svc.prompt_tokens + svc.output_tokens
            need = replica_memory_bytes(model, tp, svc.max_batch, context, svc.precision)
            if need > usable_bytes(memory):
                problems.append(Problem(
                    f"{path}.max_batch",
                    f"{model.name} with {svc.max_batch} requests of {context} tokens needs {human(need, 'bytes')} "
                    f"per accelerator with {tp} per replica; {human(usable_bytes(memory), 'bytes')} usable "
                    "(lower max_batch or raise gpus_per_replica)"))
    return problems


def _check_job(job: TrainingJob, path: str, scenario: Scenario, catalog: Catalog, folder: Path,
               *groups) -> list[Problem]:
    """A training job: model, placement, its explicit layout, and its state fitting when sharded."""
    model, problems, sizing = _check_workload(job, path, scenario, catalog, folder, *groups)
    if sizing is None:
        return problems
    domain, memory = sizing

    if isinstance(job.layout, Layout):
        problems += _check_layout(job, job.layout, path, model, domain)
    elif job.micro_batch is not None and job.global_batch % job.micro_batch:
        problems.append(Problem(f"{path}.global_batch", f"global_batch {job.global_batch} is not a "
                                f"multiple of micro_batch {job.micro_batch}"))

    if model is not None and memory > 0:
        from simulator.costmodel.transformer import param_count

        need = param_count(model) * precision(job.precision).training_state_bytes / job.gpus
        if need > memory:
            problems.append(Problem(
                f"{path}.model",
                f"{model.name} does not fit on {job.gpus} GPUs even fully sharded: needs "
                f"{human(need, 'bytes')} per GPU for weights, gradients and optimizer states, "
                f"the accelerator has {human(memory, 'bytes')}"))
    return problems


def _check_layout(job: TrainingJob, layout: Layout, path: str, model: ModelSpec | None,
                  domain: int) -> list[Problem]:
    problems: list[Problem] = []
    lp = f"{path}.layout"
    tp_pp = layout.tp * layout.pp
    if job.gpus % tp_pp:
        problems.append(Problem(lp, f"tp*pp = {tp_pp} does not divide gpus = {job.gpus}"))
        return problems
    dp = layout.dp if layout.dp is not None else job.gpus // tp_pp
    if layout.tp * layout.pp * dp != job.gpus:
        problems.append(Problem(lp, f"tp*pp*dp = {layout.tp * layout.pp * dp} but gpus = {job.gpus}"))
    if layout.tp > domain:
        problems.append(Problem(f"{lp}.tp", f"tensor parallelism {layout.tp} is larger than the "
                                            f"scale-up domain ({domain} accelerators)"))
    micro_batch = job.micro_batch or 1
    if job.global_batch % (micro_batch * dp):
        problems.append(Problem(f"{path}.global_batch",
                                f"global_batch {job.global_batch} is not a multiple of micro_batch*dp = "
                                f"{micro_batch * dp}"))
    if model is not None:
        if layout.pp > model.layers:
            problems.append(Problem(f"{lp}.pp", f"{layout.pp} pipeline stages but the model has {model.layers} layers"))
        elif model.layers % (layout.pp * layout.interleave):
            problems.append(Problem(f"{lp}.pp", f"{model.layers} layers do not split into pp*interleave = "
                                                f"{layout.pp * layout.interleave} equal chunks"))
        if model.heads % layout.tp:
            problems.append(Problem(f"{lp}.tp", f"tp {layout.tp} does not divide the {model.heads} attention heads"))
        if layout.ep > 1 and model.experts % layout.ep:
            problems.append(Problem(f"{lp}.ep", f"ep {layout.ep} does not divide the {model.experts} experts"))
        if layout.ep > dp * layout.tp:
            problems.append(Problem(f"{lp}.ep", f"ep {layout.ep} is larger than dp*tp = {dp * layout.tp}"))
    return problems
