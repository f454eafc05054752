"""Load a scenario: YAML (or a dict) -> validated, cross-checked, frozen ``LoadedScenario``.

Every problem is collected in one pass and raised together as ``ScenarioError``: schema errors
with any unknown catalog name (scenario/references.py) beside them; the other cross-reference
checks (sizes, layouts, files) run once the schema is clean.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from simulator.domain.catalog import SCENARIO_KINDS, Catalog, shipped_catalog
from simulator.domain.validation import validate_model
from simulator.domain.yaml_io import YamlDocument, load_yaml_file, parse_yaml
from simulator.errors import InputError, Problem, ScenarioError
from simulator.scenario.calendar import start_context
from simulator.scenario.check import check_scenario
from simulator.scenario.references import reference_problems
from simulator.scenario.schema import InferenceService, Scenario, TrainingJob


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the catalog it resolves against and the folder it came from."""

    scenario: Scenario
    catalog: Catalog
    base_dir: Path
    source: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Reach scenario sections directly: loaded.site, loaded.cluster, ...
        scenario = self.__dict__.get("scenario")
        if scenario is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(scenario, name)

    def with_changes(self, changes: dict[str, Any]) -> LoadedScenario:
        """A new scenario with values replaced at YAML paths, e.g. {"cluster.racks[0].count": 32}."""
        data = copy.deepcopy(self.raw)
        for path, value in changes.items():
            set_path(data, path, value)
        return load_scenario(data, base_dir=self.base_dir, source=self.source)

    def locate(self, err: InputError) -> InputError:
        """``err`` raised after loading (by the engine, say) with this scenario's file name and
        the line of each YAML path, like the errors the loader raises itself."""
        if err.source not in (None, self.source):
            return err  # about another file (a model spec, say): its own lines
        problems = [p if p.line is not None else Problem(p.path, p.message, p.value, line_of(self.lines, p.path))
                    for p in err.problems]
        return type(err)(problems, self.source)

    def to_dict(self) -> dict:
        """The scenario as plain data (as loaded, before unit conversion)."""
        return copy.deepcopy(self.raw)

    def training_jobs(self) -> list[TrainingJob]:
        """The training jobs (as LoadedSites gives every site's)."""
        return list(self.scenario.workloads.training)

    def services(self) -> dict[str, list[InferenceService]]:
        """Each service by its name, as a list of its parts (one here; LoadedSites: one per site)."""
        return {svc.name: [svc] for svc in self.scenario.workloads.inference}


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """'cluster.racks[0].count' -> ['cluster', 'racks', 0, 'count']."""
    parts: list[str | int] = []
    pos = 0
    for match in _TOKEN.finditer(path):
        if match.start() != pos and path[pos:match.start()] != ".":
            raise InputError([Problem(path, "not a valid path (use keys and [index], e.g. a.b[0].c)")])
        parts.append(match[1] if match[1] is not None else int(match[2]))
        pos = match.end()
    if not parts or pos != len(path):
        raise InputError([Problem(path, "not a valid path (use keys and [index], e.g. a.b[0].c)")])
    return parts


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``value`` at a YAML path inside nested dicts/lists, creating mappings as needed."""
    parts = split_path(path)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise InputError([Problem(path, f"index [{part}] is out of range")])
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise InputError([Problem(path, f"'{part}' is not inside a mapping")])
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise InputError([Problem(path, f"index [{last}] is out of range")])
        node[last] = value
    else:
        if not isinstance(node, dict):
            raise InputError([Problem(path, f"'{last}' is not inside a mapping")])
        node[last] = value


def read_document(src: str | Path | dict, base_dir: str | Path | None = None,
                  source: str | None = None) -> tuple[YamlDocument, Path, str | None]:
    """A scenario file, YAML text or dict parsed: (document, folder for relative paths, source)."""
    if isinstance(src, dict):
        doc = YamlDocument(copy.deepcopy(src), {}, source)
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
    elif isinstance(src, str) and "\n" in src:
        source = source or "<text>"
        doc = parse_yaml(src, source)
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(src)
        doc = load_yaml_file(path)
        folder = Path(base_dir) if base_dir is not None else path.resolve().parent
        source = source or str(path)
    if not isinstance(doc.data, dict):
        found = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__} {doc.data!r:.40}"
        raise ScenarioError([Problem("", f"a scenario is a mapping with keys site, cluster, workloads, ... "
                                         f"(got {found})", line=doc.lines.get(""))], source)
    return doc, folder, source


def load_scenario(src: str | Path | dict, base_dir: str | Path | None = None,
                  source: str | None = None) -> LoadedScenario:
    """Read a scenario file, YAML text or dict; validate and cross-check it (all problems at once)."""
    doc, folder, source = read_document(src, base_dir, source)
    return load_document(doc, folder, source)


def load_document(doc: YamlDocument, folder: Path, source: str | None) -> LoadedScenario:
    """A parsed single-site document validated and cross-checked (every problem at once)."""
    data = cast(dict, doc.data)       # read_document refuses anything else
    if "sites" in data and "site" not in data:
        raise ScenarioError([Problem("sites", "a scenario with several sites is loaded by "
                                     "simulator.scenario.sites_load.load_any (or api.load_scenario)",
                                     line=line_of(doc.lines, "sites"))], source)
    try:
        scenario = validate_model(Scenario, data, doc.lines, source, context=start_context(data))
    except ScenarioError as err:  # catalog names too, in the same pass (scenario/references.py)
        seen = {p.path for p in err.problems}
        extra = [Problem(p.path, p.message, p.value, line_of(doc.lines, p.path))
                 for p in reference_problems(data, shipped_catalog()) if p.path not in seen]
        if not extra:
            raise
        merged = sorted([*err.problems, *extra], key=lambda p: (p.line is None, p.line or 0))
        raise ScenarioError(merged, source) from None
    catalog = shipped_catalog().with_entries({kind: list(getattr(scenario.catalog, kind)) for kind in SCENARIO_KINDS})
    problems = check_scenario(scenario, catalog, folder)
    if problems:
        lines = doc.lines
        located = [p if p.line is not None else Problem(p.path, p.message, p.value, line_of(lines, p.path))
                   for p in problems]
        raise ScenarioError(located, source)
    return LoadedScenario(scenario, catalog, folder, source, data, doc.lines)


def line_of(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None

