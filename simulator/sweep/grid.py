"""Axes -> variants: the cartesian product of values at YAML paths, each a full scenario.

Axes come from the scenario's ``sweep.axes`` section or the command line (``--axis
site.power_envelope=1MW,1.5MW``). The axes themselves (paths, indices, units, values) are checked
before anything runs, in time linear in the number of values (sweep/axes.py); a variant that is
infeasible as a whole (the combination of its values) fails when it runs and is recorded with its
error. ``--seeds N`` replicates every variant with seeds seed, seed+1, ..., seed+N-1.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

from simulator.errors import InputError, Problem
from simulator.scenario.load import LoadedScenario, set_path
from simulator.scenario.sites_load import LoadedSites
from simulator.sweep.axes import check_axes, check_seeds


@dataclass(frozen=True)
class Variant:
    """One point of the grid (one replication of it): its axis values, its raw scenario
    (picklable) and which replication it is (0 ... seeds - 1)."""

    index: int
    values: dict
    raw: dict
    replicate: int = 0


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_axis(text: str) -> tuple[str, list]:
    """'site.power_envelope=1MW,1.5MW' -> ('site.power_envelope', ['1MW', '1.5MW']); numbers
    stay numbers so counts can vary ('cluster.racks[0].count=8,16'); true/false are flags."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip() or not values.strip():
        raise InputError([Problem("--axis", f"expected PATH=V1,V2,..., got {text!r}")])
    out: list = []
    for v in values.split(","):
        v = v.strip()
        if not v:
            raise InputError([Problem("--axis", f"an empty value in {text!r}")])
        out.append({"true": True, "false": False}.get(v.lower(), _number(v)))
    return path.strip(), out


def grid_size(axes: dict[str, list]) -> int:
    size = 1
    for values in axes.values():
        size *= len(values)
    return size


def expand(loaded: LoadedScenario | LoadedSites, axes: dict[str, list], seeds: int = 1) -> list[Variant]:
    """Every combination of axis values (times ``seeds`` replications) as a variant; the axes are
    checked first and every problem raised at once (InputError, exit 2, nothing run)."""
    problems = check_seeds(axes, seeds) + check_axes(loaded, axes)
    if problems:
        raise InputError(problems, loaded.source)
    base = copy.deepcopy(loaded.raw)
    base.pop("sweep", None)
    base.pop("plan", None)
    seed0 = loaded.root_seed if isinstance(loaded, LoadedSites) else int(loaded.scenario.simulation.seed)
    names = list(axes)
    variants: list[Variant] = []
    for index, combo in enumerate(itertools.product(*(axes[n] for n in names))):
        values = dict(zip(names, combo, strict=True))
        raw = copy.deepcopy(base)
        for path, value in values.items():
            set_path(raw, path, value)
        for replicate in range(seeds):
            one = raw if seeds == 1 else copy.deepcopy(raw)
            if seeds > 1:
                set_path(one, "simulation.seed", seed0 + replicate)
            variants.append(Variant(index, values, one, replicate))
    return variants
