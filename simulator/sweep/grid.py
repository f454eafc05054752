"""Axes -> variants: the cartesian product of values at YAML paths, each a full scenario.

Axes come from the scenario's ``sweep.axes`` section or the command line (``--axis
site.power_envelope=1MW,1.5MW``). Every variant is validated before anything runs; a bad
value is reported at ``sweep.axes.<path>[i]``.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

from simulator.errors import InputError, Problem
from simulator.scenario.load import LoadedScenario, load_scenario, set_path


@dataclass(frozen=True)
class Variant:
    """One point of the grid: its axis values and its raw scenario (picklable)."""

    index: int
    values: dict
    raw: dict


def parse_axis(text: str) -> tuple[str, list]:
    """'site.power_envelope=1MW,1.5MW' -> ('site.power_envelope', ['1MW', '1.5MW']); numbers
    stay numbers so counts can vary ('cluster.racks[0].count=8,16')."""
    path, sep, values = text.partition("=")
    if not sep or not path or not values:
        raise InputError([Problem("--axis", f"expected PATH=V1,V2,..., got {text!r}")])
    out: list = []
    for v in values.split(","):
        v = v.strip()
        try:
            out.append(int(v))
        except ValueError:
            try:
                out.append(float(v))
            except ValueError:
                out.append(v)
    return path.strip(), out


def expand(loaded: LoadedScenario, axes: dict[str, list]) -> list[Variant]:
    """Every combination of axis values as a validated variant (all problems at once)."""
    if not axes:
        return [Variant(0, {}, loaded.to_dict())]
    names = list(axes)
    problems: list[Problem] = []
    variants: list[Variant] = []
    for index, combo in enumerate(itertools.product(*(axes[n] for n in names))):
        raw = copy.deepcopy(loaded.raw)
        raw.pop("sweep", None)
        values = dict(zip(names, combo, strict=True))
        try:
            for path, value in values.items():
                set_path(raw, path, value)
            load_scenario(raw, base_dir=loaded.base_dir, source=loaded.source)
        except InputError as err:
            where = ", ".join(f"{k}={v}" for k, v in values.items())
            problems += [Problem(f"sweep.axes ({where})", p.format() if p.path else p.message) for p in err.problems]
            continue
        variants.append(Variant(index, values, raw))
    if problems:
        raise InputError(problems[:50], loaded.source)
    return variants
