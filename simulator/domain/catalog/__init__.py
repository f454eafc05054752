"""The catalog: shipped YAML entries (accelerators, models, nodes, switches, optics, climates,
calibration profiles, training software stacks), looked up by name or alias, case- and punctuation-insensitively.

A scenario may add entries (its ``catalog:`` section), and replace a shipped entry only when it
names that entry under ``catalog.replace`` (scenario/check.py); ``Catalog.with_entries`` returns
a new catalog and never changes the shipped one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from simulator.domain.calibration_spec import CalibrationSpec
from simulator.domain.fleet_spec import FleetSpec
from simulator.domain.specs import (
    AcceleratorSpec,
    ChillerSpec,
    ClimateSpec,
    CollectiveProfileSpec,
    EngineSpec,
    FacilityCostSpec,
    ModelSpec,
    NicSpec,
    NodeSpec,
    OpticSpec,
    ServerSpec,
    SwitchSpec,
)
from simulator.domain.stack_spec import StackSpec
from simulator.domain.validation import validate_model
from simulator.domain.yaml_io import load_yaml_file
from simulator.errors import CatalogError, Problem

CATALOG_DIR = Path(__file__).parent

KINDS: dict[str, type[BaseModel]] = {
    "accelerators": AcceleratorSpec,
    "models": ModelSpec,
    "nodes": NodeSpec,
    "switches": SwitchSpec,
    "optics": OpticSpec,
    "climates": ClimateSpec,
    "chillers": ChillerSpec,
    "nics": NicSpec,
    "servers": ServerSpec,
    "facility_costs": FacilityCostSpec,
    "calibration": CalibrationSpec,
    "collectives": CollectiveProfileSpec,
    "stacks": StackSpec,
    "fleets": FleetSpec,
    "engines": EngineSpec,
}
# Kinds a scenario may not override and `dcsim catalog` does not list: the cost model's own
# calibration data.
INTERNAL_KINDS = ("calibration", "collectives")
# Kinds a scenario's ``catalog:`` section may add to.
SCENARIO_KINDS = tuple(k for k in KINDS if k not in INTERNAL_KINDS)

SINGULAR = {"accelerators": "accelerator", "models": "model", "nodes": "node", "switches": "switch",
            "optics": "optic", "climates": "climate", "chillers": "chiller", "nics": "NIC",
            "servers": "support server", "facility_costs": "facility cost item",
            "calibration": "calibration profile", "collectives": "collectives profile",
            "engines": "serving engine", "stacks": "software stack",
            "fleets": "failure fleet"}

T = TypeVar("T", bound="Entry")


class Entry(Protocol):
    """What every catalog entry has: a name and its aliases."""

    @property
    def name(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


def normalise_name(name: str) -> str:
    """Lower-case and drop everything but letters, digits and dots: 'Llama-2 7B' -> 'llama27b'."""
    return re.sub(r"[^a-z0-9.]", "", name.lower())


@dataclass(frozen=True)
class Table(Generic[T]):
    """Entries of one kind, with a name/alias index."""

    kind: str
    entries: tuple[T, ...]
    index: dict[str, T] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, kind: str, entries: list[T] | tuple[T, ...]) -> Table[T]:
        index: dict[str, T] = {}
        for entry in entries:
            for name in (entry.name, *entry.aliases):
                index[normalise_name(name)] = entry
        return cls(kind, tuple(entries), index)

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str, path: str = "") -> T:
        entry = self.index.get(normalise_name(str(name)))
        if entry is not None:
            return entry
        choices = self.names()
        close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.5)
        if not close:
            by_norm = {normalise_name(n): n for n in choices}
            hit = difflib.get_close_matches(normalise_name(str(name)), list(by_norm), n=1, cutoff=0.5)
            close = [by_norm[hit[0]]] if hit else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        singular = SINGULAR.get(self.kind, self.kind)
        raise CatalogError([Problem(path, f"unknown {singular} '{name}'{hint} "
                                          f"(known: {', '.join(choices)})")])

    def __contains__(self, name: str) -> bool:
        return normalise_name(str(name)) in self.index


@dataclass(frozen=True)
class Catalog:
    """All catalog tables; immutable."""

    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def accelerators(self) -> Table[AcceleratorSpec]:
        return self.tables["accelerators"]

    @property
    def models(self) -> Table[ModelSpec]:
        return self.tables["models"]

    @property
    def nodes(self) -> Table[NodeSpec]:
        return self.tables["nodes"]

    @property
    def switches(self) -> Table[SwitchSpec]:
        return self.tables["switches"]

    @property
    def optics(self) -> Table[OpticSpec]:
        return self.tables["optics"]

    @property
    def climates(self) -> Table[ClimateSpec]:
        return self.tables["climates"]

    @property
    def calibration(self) -> Table[CalibrationSpec]:
        return self.tables["calibration"]

    @property
    def collectives(self) -> Table[CollectiveProfileSpec]:
        return self.tables["collectives"]

    @property
    def engines(self) -> Table[EngineSpec]:
        return self.tables["engines"]

    @property
    def stacks(self) -> Table[StackSpec]:
        return self.tables["stacks"]

    @property
    def fleets(self) -> Table[FleetSpec]:
        return self.tables["fleets"]

    @property
    def chillers(self) -> Table[ChillerSpec]:
        return self.tables["chillers"]

    @property
    def nics(self) -> Table[NicSpec]:
        return self.tables["nics"]

    @property
    def servers(self) -> Table[ServerSpec]:
        return self.tables["servers"]

    @property
    def facility_costs(self) -> Table[FacilityCostSpec]:
        return self.tables["facility_costs"]

    def with_entries(self, extra: dict[str, list[Any]]) -> Catalog:
        """A new catalog where ``extra`` entries (already validated) replace every entry they
        share a name or alias with (a scenario may do so only on purpose: see ``shadowed``)."""
        tables = dict(self.tables)
        for kind, entries in extra.items():
            if not entries:
                continue
            added = {normalise_name(n) for e in entries for n in (e.name, *e.aliases)}
            kept = [e for e in tables[kind].entries
                    if not added & {normalise_name(n) for n in (e.name, *e.aliases)}]
            tables[kind] = Table.build(kind, [*kept, *entries])
        return Catalog(tables)

    def shadowed(self, kind: str, entry: Entry) -> list[Entry]:
        """The entries of ``kind`` here that ``entry`` would replace: every one sharing a name or
        an alias with it (names compared as ``normalise_name`` does), in catalog order."""
        names = {normalise_name(n) for n in (entry.name, *entry.aliases)}
        return [e for e in self.tables[kind].entries if names & {normalise_name(n) for n in (e.name, *e.aliases)}]

    def calibration_for(self, name: str, path: str = "") -> dict[str, Any]:
        """A calibration profile with its ``base`` chain resolved into one flat dict."""
        chain: list[CalibrationSpec] = []
        seen: set[str] = set()
        current = self.calibration.get(name, path)
        while True:
            if current.name in seen:
                raise CatalogError([Problem(path, f"calibration '{name}' has a cyclic base chain")])
            seen.add(current.name)
            chain.append(current)
            if current.base is None:
                break
            current = self.calibration.get(current.base, path)
        merged: dict[str, Any] = {}
        for spec in reversed(chain):
            for key, value in spec:
                if value is not None:
                    merged[key] = value
        merged["name"] = chain[0].name
        merged["source"] = chain[0].source
        return merged


def load_entries(kind: str, path: Path) -> list[Any]:
    """Read and validate one catalog YAML file (a list of entries)."""
    doc = load_yaml_file(path)
    data = doc.data if doc.data is not None else []
    if not isinstance(data, list):
        raise CatalogError([Problem("", "a catalog file holds a list of entries")], str(path))
    model = KINDS[kind]
    entries = []
    problems: list[Problem] = []
    for i, item in enumerate(data):
        try:
            entries.append(validate_model(model, item, doc.lines, str(path), prefix=f"[{i}]"))
        except CatalogError as err:
            problems.extend(err.problems)
        except Exception as err:  # ScenarioError from validate_model
            problems.extend(getattr(err, "problems", [Problem(f"[{i}]", str(err))]))
    if problems:
        raise CatalogError(problems, str(path))
    return entries


@cache
def shipped_catalog() -> Catalog:
    """The catalog that ships with dcsim (read once per process; immutable)."""
    tables = {kind: Table.build(kind, load_entries(kind, CATALOG_DIR / f"{kind}.yaml")) for kind in KINDS}
    return Catalog(tables)
