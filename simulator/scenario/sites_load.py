"""Load a scenario that may have several sites: ``load_any`` gives a ``LoadedScenario`` for a
``site:`` document (exactly as ``load_scenario``) and a ``LoadedSites`` for a ``sites:`` one.

A ``sites:`` document is checked as written (scenario/sites.py), split into one single-site
document per site, and each part validated and cross-checked as any scenario; every problem of
every part comes back at once, named by its path in the document as written
(``sites[1].power_envelope``, ``workloads.training[2].gpus``) with its line, and prefixed with
the site it concerns where the document has several.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from simulator.domain.yaml_io import YamlDocument
from simulator.errors import InputError, Problem, ScenarioError
from simulator.scenario.load import LoadedScenario, line_of, load_document, read_document, set_path
from simulator.scenario.schema import InferenceService, Scenario, TrainingJob
from simulator.scenario.sites import SITE_LOCAL, SitePart, is_multi_site, split_sites, structure_problems


@dataclass(frozen=True)
class LoadedSites:
    """A validated multi-site scenario: one ``LoadedScenario`` per site (``parts``, in the order
    of ``sites``) and the document as written."""

    parts: tuple[LoadedScenario, ...]
    split: tuple[SitePart, ...]
    base_dir: Path
    source: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.split]

    @property
    def scenario(self) -> Scenario:
        """The first site's scenario: its shared sections (name, simulation, costs, plan, ...) are
        the document's; its site, racks and workloads are that site's only."""
        return self.parts[0].scenario

    @property
    def root_seed(self) -> int:
        """The document's simulation.seed (each site runs on a child of it)."""
        sim = self.raw.get("simulation")
        seed = sim.get("seed", 0) if isinstance(sim, dict) else 0
        return seed if isinstance(seed, int) else 0

    @property
    def catalog(self):
        return self.parts[0].catalog

    def training_jobs(self) -> list[TrainingJob]:
        """Every site's training jobs."""
        return [j for part in self.parts for j in part.scenario.workloads.training]

    def services(self) -> dict[str, list[InferenceService]]:
        """Each service of the document by its name, with its part at every site it runs at."""
        out: dict[str, list[InferenceService]] = {}
        for part, split in zip(self.parts, self.split, strict=True):
            for svc in part.scenario.workloads.inference:
                out.setdefault(split.services.get(svc.name, svc.name), []).append(svc)
        return out

    def with_changes(self, changes: dict[str, Any]) -> LoadedScenario | LoadedSites:
        """A new scenario with values replaced at YAML paths of the document, e.g.
        {"sites[1].power_envelope": "30MW"}."""
        data = copy.deepcopy(self.raw)
        for path, value in changes.items():
            set_path(data, path, value)
        return load_any(data, base_dir=self.base_dir, source=self.source)

    def locate(self, err: InputError, part: int | None = None) -> InputError:
        """``err`` raised while planning or running site ``part`` with the document's paths,
        lines and file name."""
        if err.source not in (None, self.source):
            return err
        problems = [_in_document(p, self.split[part], len(self.split), self.lines) if part is not None
                    else p for p in err.problems]
        return type(err)(problems, self.source)

    def to_dict(self) -> dict:
        return copy.deepcopy(self.raw)

    def dump(self) -> dict:
        """scenario.json of a multi-site run: the name, and each site's scenario as validated."""
        return {"name": self.scenario.name, "sites": {
            split.name: part.scenario.model_dump(mode="json") for part, split in zip(self.parts, self.split,
                                                                                   strict=True)}}


def _in_document(problem: Problem, part: SitePart, n_sites: int, lines: dict[str, int]) -> Problem:
    """A part's problem with its path as written in the document (and the site named)."""
    path = part.document_path(problem.path)
    local = path.split(".", 1)[0].split("[", 1)[0] in SITE_LOCAL
    message = f"at site '{part.name}': {problem.message}" if n_sites > 1 and local and not \
        path.startswith("sites[") else problem.message
    return Problem(path, message, problem.value, line_of(lines, path) if path else problem.line)


def load_sites(doc: YamlDocument, folder: Path, source: str | None) -> LoadedSites:
    """A parsed ``sites:`` document, checked, split and validated (every problem at once)."""
    data = cast(dict, doc.data)       # read_document refuses anything else
    problems = structure_problems(data)
    if problems:
        raise ScenarioError([Problem(p.path, p.message, p.value, line_of(doc.lines, p.path)) for p in problems],
                            source)
    split = split_sites(data)
    parts: list[LoadedScenario] = []
    found: list[Problem] = []
    for part in split:
        try:
            parts.append(load_document(YamlDocument(part.raw, {}, source), folder, source))
        except ScenarioError as err:
            for p in err.problems:
                moved = _in_document(p, part, len(split), doc.lines)
                if all((q.path, q.message) != (moved.path, moved.message) for q in found):
                    found.append(moved)
    if found:
        raise ScenarioError(sorted(found, key=lambda p: (p.line is None, p.line or 0)), source)
    return LoadedSites(tuple(parts), tuple(split), folder, source, data, doc.lines)


def load_any(src: str | Path | dict, base_dir: str | Path | None = None,
             source: str | None = None) -> LoadedScenario | LoadedSites:
    """A scenario with one site (``site:``) or several (``sites:``), validated and cross-checked."""
    doc, folder, source = read_document(src, base_dir, source)
    if is_multi_site(doc.data):
        return load_sites(doc, folder, source)
    return load_document(doc, folder, source)
