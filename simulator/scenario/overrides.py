"""The catalog-override rule: a scenario's ``catalog:`` section may add entries, and replace a
shipped entry only on purpose, by naming it under ``catalog.replace``; what it did is reported
(summary.json ``catalog_overrides``, and a note from ``dcsim validate`` and ``dcsim run``).
"""

from __future__ import annotations

from simulator.domain.catalog import SCENARIO_KINDS, SINGULAR, normalise_name, shipped_catalog
from simulator.errors import Problem
from simulator.scenario.schema import Scenario


def override_problems(scenario: Scenario) -> list[Problem]:
    """The catalog-override rule: within a kind, each entry of the scenario's ``catalog:`` section
    has names (and aliases) of its own; one that shares a name or an alias with a shipped entry
    replaces it only when ``catalog.replace`` names that shipped entry; every name listed under
    ``replace`` is replaced by some entry."""
    shipped = shipped_catalog()
    section = scenario.catalog
    wanted = {normalise_name(name): i for i, name in enumerate(section.replace)}
    used: set[str] = set()
    problems: list[Problem] = []
    for kind in SCENARIO_KINDS:
        seen: dict[str, int] = {}
        for i, entry in enumerate(getattr(section, kind)):
            path = f"catalog.{kind}[{i}]"
            for key, name in [("name", entry.name), *(("aliases", a) for a in entry.aliases)]:
                norm = normalise_name(name)
                if seen.get(norm, i) != i:
                    problems.append(Problem(f"{path}.{key}", f"'{name}' also names catalog.{kind}[{seen[norm]}]; "
                                                             "each entry needs names of its own"))
                seen.setdefault(norm, i)
            for old in shipped.shadowed(kind, entry):
                if normalise_name(old.name) in wanted:
                    used.add(normalise_name(old.name))
                    continue
                problems.append(Problem(f"{path}.name", f"'{entry.name}' would replace the shipped "
                                        f"{SINGULAR[kind]} '{old.name}' (they share a name or alias); to replace "
                                        f"it on purpose, list '{old.name}' under catalog.replace, else rename it"))
    for name, i in wanted.items():
        if name not in used:
            problems.append(Problem(f"catalog.replace[{i}]", f"'{section.replace[i]}' is not a shipped entry that "
                                    "an entry of this catalog section shares a name or alias with"))
    return problems


def override_notes(scenario: Scenario) -> list[str]:
    """What the scenario's ``catalog:`` section did to the shipped catalog, one line per entry
    ("model my-llama: added", "accelerator h100-sxm: replaces the shipped h100-sxm"), for the
    report (summary.json ``catalog_overrides``) and the command line."""
    shipped = shipped_catalog()
    notes = []
    for kind in SCENARIO_KINDS:
        for entry in getattr(scenario.catalog, kind):
            old = [e.name for e in shipped.shadowed(kind, entry)]
            notes.append(f"{SINGULAR[kind]} {entry.name}: " + (f"replaces the shipped {', '.join(old)}" if old
                                                               else "added"))
    return notes
