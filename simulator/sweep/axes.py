"""The sweep's own input, checked in full before the first variant runs, in time linear in the
number of axis values (never in the size of the grid).

Each axis path must exist in the scenario's schema (keys and list indices that the base scenario
has); each distinct value is checked alone against the field's own type (its unit, its bounds, a
catalog name that exists): a pydantic ``TypeAdapter`` of that field when the path leads to one
field, otherwise the base scenario with that one value set, loaded in full. These are the sweep's
input errors (exit 2, nothing runs). What depends on other axes (more GPUs than this rack count
holds, a model that fits no layout) is left to the variant, which then fails on its own and is
recorded with its error while the others finish.
"""

from __future__ import annotations

import copy
import typing
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from simulator.domain.validation import _union_members, _unwrap, validate_model
from simulator.errors import InputError, Problem, ScenarioError
from simulator.scenario.load import LoadedScenario, set_path, split_path
from simulator.scenario.schema import Scenario
from simulator.scenario.sites import is_multi_site, split_sites, structure_problems
from simulator.scenario.sites_load import LoadedSites, load_any

MAX_PROBLEMS = 50  # a sweep with thousands of bad values lists the first ones, then stops


def _field_annotation(model: type[BaseModel], key: str) -> Any:
    """The annotation of ``key`` in ``model`` with its validators (``Annotated`` metadata)."""
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return None


def _model_of(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    members = _union_members(tp)
    if members is not None:
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        others = [m for m in members if m not in models]
        return models[0] if len(models) == 1 and not others else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def field_type(parts: tuple[str | int, ...]) -> Any:
    """The type at a YAML path of the scenario schema, or None when the path crosses a union of
    several models (or anything else a single field type cannot describe)."""
    current: Any = Scenario
    for i, part in enumerate(parts):
        if isinstance(part, int):
            tp = _unwrap(current)
            members = _union_members(tp)
            if members is not None and len(members) == 1:
                tp = members[0]
            if typing.get_origin(tp) not in (list, tuple):
                return None
            args = typing.get_args(tp)
            current = args[0] if args else None
        else:
            model = _model_of(current)
            if model is None:
                return None
            current = _field_annotation(model, part)
        if current is None:
            return None
        if i < len(parts) - 1 and _union_members(_unwrap(current)) is not None \
                and _model_of(current) is None and typing.get_origin(_unwrap(current)) not in (list, tuple):
            members = _union_members(_unwrap(current)) or []
            lists = [m for m in members if typing.get_origin(m) in (list, tuple)]
            if len(lists) != 1:
                return None
            current = lists[0]
    return current


@cache
def _adapter(parts: tuple[str | int, ...]) -> TypeAdapter | None:
    tp = field_type(parts)
    if tp is None or _model_of(tp) is not None:
        return None  # a whole section: the full scenario check below says more
    try:
        return TypeAdapter(tp)
    except Exception:
        return None


def _key(value: object) -> str:
    return f"{type(value).__name__}:{value!r}"


def _value_problem(base: dict, loaded: LoadedScenario | LoadedSites, path: str, parts: tuple,
                   value: object) -> str | None:
    """What is wrong with ``value`` at ``path`` on its own (None when nothing)."""
    adapter = _adapter(parts)
    if adapter is not None:
        try:
            parsed = adapter.validate_python(value)
        except ValidationError as err:
            return _schema_message(base, path, value) or _first_message(err)
        if isinstance(parsed, int | float | bool):
            return None  # a quantity, a number, a flag: the field's own type was the whole check
    raw = copy.deepcopy(base)
    set_path(raw, path, value)
    try:
        load_any(raw, base_dir=loaded.base_dir, source=loaded.source)
    except ScenarioError as err:
        own = [p for p in err.problems if not p.path or p.path == path or p.path.startswith((path + ".", path + "["))]
        if adapter is not None or _schema_clean(raw):
            # cross-checks (sizes, layouts) may depend on the other axes: left to the variant
            own = [p for p in own if p.message.startswith("unknown ")]
        if own:
            return "; ".join(p.message for p in own[:3])
    return None


def _first_message(err: ValidationError) -> str:
    text = str(err.errors()[0].get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return text


def _schema_message(base: dict, path: str, value: object) -> str | None:
    """The schema's own words for a bad value (as `dcsim validate` would say it): only for values
    already known to be bad, so at most MAX_PROBLEMS whole-scenario validations per sweep."""
    raw = copy.deepcopy(base)
    set_path(raw, path, value)
    try:
        validate_model(Scenario, raw)
    except InputError as err:
        own = [p for p in err.problems if p.path == path or p.path.startswith((path + ".", path + "["))]
        if own:
            return "; ".join((f"{p.path[len(path) + 1:]}: " if p.path != path else "") + p.message
                             for p in own[:3])
    return None


def _schema_clean(raw: dict) -> bool:
    """Whether ``raw`` (one site, or each site of several) passes the schema."""
    if is_multi_site(raw):
        return not structure_problems(raw) and all(_schema_clean(part.raw) for part in split_sites(raw))
    try:
        validate_model(Scenario, raw)
    except InputError:
        return False
    return True


def check_axes(loaded: LoadedScenario | LoadedSites, axes: dict[str, list]) -> list[Problem]:
    """Every problem of the axes (paths, indices, values), each at ``sweep.axes.<path>[i]``."""
    base = copy.deepcopy(loaded.raw)
    base.pop("sweep", None)
    base.pop("plan", None)
    problems: list[Problem] = []
    for path, values in axes.items():
        where = f"sweep.axes.{path}"
        if not isinstance(values, list) or not values:
            problems.append(Problem(where, "needs a list of one or more values"))
            continue
        try:
            parts = tuple(split_path(path))
        except InputError as err:
            problems += [Problem(where, p.message) for p in err.problems]
            continue
        if not _path_in_schema(parts):
            problems.append(Problem(where, "no such key in the scenario schema (docs/scenario-reference.md)"))
            continue
        try:
            set_path(copy.deepcopy(base), path, values[0])
        except InputError as err:
            problems += [Problem(where, p.message) for p in err.problems]
            continue
        seen: dict[str, str | None] = {}
        for i, value in enumerate(values):
            key = _key(value)
            if key not in seen:
                seen[key] = _value_problem(base, loaded, path, parts, value)
            if seen[key] is not None:
                problems.append(Problem(f"{where}[{i}]", f"{value!r}: {seen[key]}"))
                if len(problems) >= MAX_PROBLEMS:
                    problems.append(Problem("sweep.axes", f"checking stopped after {MAX_PROBLEMS} problems; "
                                                          "fix these and run again"))
                    return problems
    return problems


def _path_in_schema(parts: tuple[str | int, ...]) -> bool:
    """Whether every key of the path is a field of the model it is in (unions: of any member)."""
    current: list[Any] = [Scenario]
    for part in parts:
        following: list[Any] = []
        for tp in current:
            tp = _unwrap(tp)
            for member in _union_members(tp) or [tp]:
                member = _unwrap(member)
                if isinstance(part, int):
                    if typing.get_origin(member) in (list, tuple):
                        following += list(typing.get_args(member)[:1])
                elif isinstance(member, type) and issubclass(member, BaseModel):
                    found = _field_annotation(member, part)
                    if found is not None:
                        following.append(found)
                elif typing.get_origin(member) is dict:
                    following.append(typing.get_args(member)[1])
                elif member is Any:
                    following.append(Any)
        if not following:
            return False
        current = following
    return True


def check_seeds(axes: dict[str, list], seeds: int) -> list[Problem]:
    """Replications vary simulation.seed themselves: it cannot also be an axis."""
    if seeds > 1 and "simulation.seed" in axes:
        return [Problem("--seeds", "simulation.seed is already a sweep axis; drop the axis or use --seeds 1")]
    return []
