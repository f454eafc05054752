"""What every estimate needs before the cost model runs: the model, the accelerator's device
model, and the node and fabric it sits in (from a fabric file, or the accelerator's first
catalog node). One owner for reading and checking fabric files, for the CLI and the API alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.domain.catalog import Catalog
from simulator.domain.specs import NodeSpec
from simulator.domain.validation import validate_model
from simulator.domain.yaml_io import load_yaml_file
from simulator.errors import InputError, Problem
from simulator.scenario.fabric import FabricFile


def device_model(accelerator: str, catalog: Catalog) -> DeviceModel:
    return DeviceModel.from_name(accelerator, catalog, path="accelerator")


def fabric_problems(spec: FabricFile, lines: dict[str, int], accelerator: str | None,
                    catalog: Catalog) -> list[Problem]:
    """Catalog names in a fabric file that do not exist, and a node that holds another accelerator
    (not checked when ``accelerator`` is None: the accelerator itself was bad)."""
    problems: list[Problem] = []
    for key, table in (("node", catalog.nodes), ("switch", catalog.switches), ("optic", catalog.optics)):
        name = getattr(spec, key)
        if name is None:
            continue
        try:
            entry = table.get(name, key)
        except InputError as err:
            problems += [replace(p, line=lines.get(key)) for p in err.problems]
            continue
        if not isinstance(entry, NodeSpec) or accelerator is None:
            continue
        if catalog.accelerators.get(entry.accelerator).name != accelerator:
            problems.append(Problem("node", f"node {entry.name} holds {entry.accelerator}, not {accelerator}",
                                    line=lines.get(key)))
    return sorted(problems, key=lambda p: p.line or 0)


def read_fabric(fabric: str | Path | dict | None, accelerator: str | None, catalog: Catalog,
                base_dir: Path | None = None) -> FabricFile:
    """A fabric description (a file, a dict, or None for the defaults), its keys and the catalog
    names it gives checked; problems are raised with the file and line."""
    if fabric is None:
        return FabricFile()
    if isinstance(fabric, dict):
        spec = validate_model(FabricFile, fabric, None, "fabric")
        lines: dict[str, int] = {}
        source = "fabric"
    else:
        path = Path(fabric)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        doc = load_yaml_file(path)
        spec = validate_model(FabricFile, doc.data if doc.data is not None else {}, doc.lines, str(path))
        lines, source = doc.lines, str(path)
    problems = fabric_problems(spec, lines, accelerator, catalog)
    if problems:
        raise InputError(problems, source)
    return spec


def node_for(accelerator: str, catalog: Catalog, fabric: FabricFile | None = None) -> NodeSpec:
    """The node an estimate runs on: the fabric file's, else the first catalog node that holds
    the accelerator."""
    if fabric is not None and fabric.node is not None:
        return catalog.nodes.get(fabric.node, "node")
    for node in catalog.nodes.entries:
        if catalog.accelerators.get(node.accelerator).name == accelerator:
            return node
    raise InputError([Problem("accelerator", f"no catalog node holds {accelerator}; name one in a fabric file")])


def comm_for(device: DeviceModel, catalog: Catalog, fabric: FabricFile) -> tuple[CommModel, NodeSpec]:
    """The topology a job sees: its node's scale-up domain, then the fabric's NICs with their
    oversubscription."""
    node = node_for(device.name, catalog, fabric)
    return CommModel.for_node(node, device.spec, fabric.oversubscription), node
