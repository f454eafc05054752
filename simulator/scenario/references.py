"""Catalog names in a scenario that failed its schema: so ``dcsim validate`` (and every loader)
reports an unknown node, model, climate, switch, optic or engine in the same pass as the schema
errors, instead of only after they are fixed.

Works on the raw mapping (the schema did not produce a Scenario): only plain catalog names at
their known places are looked up; a name a scenario's own ``catalog:`` section adds is known; a
model given as a file or an inline spec is left to the full check, which runs once the schema is
clean.
"""

from __future__ import annotations

from typing import Any

from simulator.domain.catalog import Catalog
from simulator.errors import InputError, Problem


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _names(raw: dict) -> list[tuple[str, str, object]]:
    """(catalog kind, YAML path, name) of every plain catalog name in the raw scenario."""
    out: list[tuple[str, str, object]] = []
    cluster = _dict(raw.get("cluster"))
    for i, rack in enumerate(_list(cluster.get("racks"))):
        if isinstance(_dict(rack).get("node"), str):
            out.append(("nodes", f"cluster.racks[{i}].node", rack["node"]))
    fabric = _dict(cluster.get("fabric"))
    for key, kind in (("switch", "switches"), ("optic", "optics")):
        if isinstance(fabric.get(key), str):
            out.append((kind, f"cluster.fabric.{key}", fabric[key]))
    climate = _dict(raw.get("site")).get("climate")
    if isinstance(climate, str):
        out.append(("climates", "site.climate.name", climate))
    elif isinstance(climate, dict) and climate.get("type", "builtin") == "builtin" \
            and isinstance(climate.get("name"), str):
        out.append(("climates", "site.climate.name", climate["name"]))
    workloads = _dict(raw.get("workloads"))
    for section in ("training", "inference"):
        for i, work in enumerate(_list(workloads.get(section))):
            work = _dict(work)
            model = work.get("model")
            if isinstance(model, str) and "/" not in model and not model.endswith((".yaml", ".yml")):
                out.append(("models", f"workloads.{section}[{i}].model", model))
            if section == "inference" and isinstance(work.get("engine"), str):
                out.append(("engines", f"workloads.{section}[{i}].engine", work["engine"]))
    return out


def reference_problems(raw: dict, catalog: Catalog) -> list[Problem]:
    """Unknown catalog names in a raw scenario (the scenario's own ``catalog:`` entries count)."""
    own = _dict(raw.get("catalog"))
    problems: list[Problem] = []
    for kind, path, name in _names(raw):
        added = {str(_dict(e).get("name")) for e in _list(own.get(kind))}
        if name in added:
            continue
        try:
            getattr(catalog, kind).get(str(name), path)
        except InputError as err:
            problems += err.problems
    return problems
