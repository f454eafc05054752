"""Turn pydantic validation errors into ``Problem`` lines: YAML path, value found, what is allowed.

Unknown keys get a "did you mean" suggestion from the fields that model does have; union tags
that pydantic adds to error locations are dropped so paths match what the planner wrote.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections import Counter
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from simulator.domain.yaml_io import join_path
from simulator.errors import Problem, ScenarioError

M = TypeVar("M", bound=BaseModel)


def require_unique(names: Iterable[str], what: str) -> None:
    """ValueError '<what>; repeated: a, b' (sorted) if any name appears more than once; one pass,
    so a 10,000-job list costs 10,000 steps, not 10,000 squared."""
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise ValueError(f"{what}; repeated: {', '.join(dupes)}")

_MISSING = object()


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _union_members(tp: Any) -> list[Any] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return [_unwrap(a) for a in typing.get_args(tp) if a is not type(None)]
    return None


def _model_fields(tp: Any) -> dict[str, Any] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.model_fields
    return None


def _field_type(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return _unwrap(info.annotation)
    return _MISSING


def _tag_member(members: list[Any], tag: str) -> Any:
    """Pick the union member that a pydantic location tag (a discriminator value) names."""
    for member in members:
        fields = _model_fields(member)
        if not fields:
            continue
        for info in fields.values():
            args = typing.get_args(_unwrap(info.annotation))
            if typing.get_origin(_unwrap(info.annotation)) is typing.Literal and tag in args:
                return member
    return _MISSING


_SCALAR_TAGS = ("str", "int", "float", "bool", "none", "bytes")


def _is_scalar_tag(tag: str) -> bool:
    """Pydantic's location tag of a non-model union member (e.g. "literal['auto']", "str")."""
    return tag in _SCALAR_TAGS or tag.startswith(("literal[", "constrained-", "function-", "json-or-python"))


def _model_member_for_tag(members: list[Any], tag: str) -> Any:
    """The model member a tag such as 'Layout' or 'function-after[_check(), ModelSpec]' names."""
    for member in members:
        if _model_fields(member) is not None and (tag == member.__name__ or f"{member.__name__}]" in tag):
            return member
    return _MISSING


def _child(data: Any, key: Any) -> Any:
    if isinstance(data, dict):
        return data.get(key, _MISSING)
    if isinstance(data, list | tuple) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return _MISSING


def resolve_location(root: type[BaseModel], loc: tuple, data: Any = _MISSING):
    """Walk a pydantic error location through the model types (and the input ``data``).

    Returns (yaml_path, type_at_parent, type_at_location, branches): tags that are not YAML keys
    are dropped; ``branches`` lists (is_model_branch, input_at_union, model) for every union member
    the location went through, so callers can keep only errors of the branch the input meant.
    """
    path = ""
    current: Any = root
    parent: Any = None
    branches: list[tuple[bool, Any, Any]] = []
    value = data
    for elem in loc:
        current = _unwrap(current)
        members = _union_members(current)
        if members is not None:
            if len(members) == 1:
                current = members[0]
            elif isinstance(elem, str):
                chosen = _tag_member(members, elem)
                if chosen is not _MISSING:          # discriminated union: one branch validated
                    current = chosen
                    continue
                chosen = _model_member_for_tag(members, elem)
                if chosen is not _MISSING:
                    branches.append((True, value, chosen))
                    current = chosen
                    continue
                if _is_scalar_tag(elem):
                    branches.append((False, value, None))
                    current = Any
                    continue
                model_members = [m for m in members if _model_fields(m)]
                if len(model_members) == 1:
                    current = model_members[0]
            current = _unwrap(current)
        origin = typing.get_origin(current)
        parent = current
        value = _child(value, elem)
        if isinstance(elem, int) and origin in (list, tuple):
            args = typing.get_args(current)
            current = args[0] if args else Any
            path = join_path(path, elem)
        elif origin is dict and isinstance(elem, str):
            current = typing.get_args(current)[1]
            path = join_path(path, elem)
        elif _model_fields(current) is not None and isinstance(elem, str):
            field = _field_type(current, elem)
            path = join_path(path, elem)
            current = Any if field is _MISSING else field
        else:
            path = join_path(path, elem)
            current = Any
    return path, parent, current, branches


def _meant(branches: list[tuple[bool, Any, Any]]) -> bool:
    """False when the error comes from a union branch the input clearly did not mean: a model
    branch for a non-mapping input, or a scalar branch for a mapping."""
    return all(is_model == isinstance(value, dict) for is_model, value, _ in branches
               if value is not _MISSING)


def _unmeant_model(branches: list[tuple[bool, Any, Any]]) -> Any:
    """The model of a union branch the input was not a mapping for (it was a scalar or a list)."""
    for is_model, value, model in branches:
        if is_model and value is not _MISSING and not isinstance(value, dict):
            return model
    return None


def _allowed_keys(model: Any) -> list[str]:
    fields = _model_fields(model)
    if not fields:
        members = _union_members(model) or []
        return sorted({k for m in members for k in (_model_fields(m) or {})})
    return [info.alias or name for name, info in fields.items()]


def _message(err: dict, root: type[BaseModel], data: Any = _MISSING):
    """(yaml_path, message, value shown, meant, model of an unmeant mapping branch or None)."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    value = err.get("input")
    path, parent, target, branches = resolve_location(root, loc, data)
    meant = _meant(branches)
    text, shown = _describe(kind, ctx, value, err, loc, parent, target)
    return path, text, shown, meant, None if meant else _unmeant_model(branches)


def _describe(kind, ctx, value, err, loc, parent, target) -> tuple[str, object]:
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = _allowed_keys(parent)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        listing = ", ".join(allowed) if len(allowed) <= 12 else ", ".join(allowed[:12]) + ", ..."
        return f"unknown key '{key}'{hint} (allowed: {listing})", None
    if kind == "missing":
        return "missing required key", None
    if kind in ("value_error", "assertion_error"):
        text = str(err.get("msg", ""))
        for prefix in ("Value error, ", "Assertion failed, "):
            if text.startswith(prefix):
                text = text[len(prefix):]
        return text, _value_for(value)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        several = " or " in expected or "," in expected
        return f"must be {'one of ' if several else ''}{expected}", _value_for(value)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = ctx.get("discriminator", "type").strip("'")
        expected = ctx.get("expected_tags", "")
        if kind == "union_tag_not_found":
            return (f"missing '{tag}' (one of {expected})" if expected else f"missing '{tag}'"), None
        return f"unknown {tag} {ctx.get('tag')!r}; expected one of {expected}", None
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "expected a whole number", _value_for(value)
    if kind in ("float_type", "float_parsing"):
        return "expected a number", _value_for(value)
    if kind in ("finite_number",):
        return "expected a finite number (not NaN or infinity)", _value_for(value)
    if kind in ("bool_type", "bool_parsing"):
        return "expected true or false", _value_for(value)
    if kind in ("string_type",):
        return "expected a string", _value_for(value)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        keys = _allowed_keys(target)
        hint = f" with keys {', '.join(keys[:10])}" if keys else ""
        return f"expected a mapping{hint}{_got_container(value)}", _value_for(value)
    if kind in ("list_type", "tuple_type"):
        return f"expected a list{_got_container(value)}", _value_for(value)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "?")
        return f"must be {op} {bound}", _value_for(value)
    if kind in ("string_too_short", "too_short"):
        return "must not be empty", _value_for(value)
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length", "?")
        return f"too long (at most {limit})", None
    return str(err.get("msg", kind)), _value_for(value)


def _got_container(value: object) -> str:
    """', got a list' / ', got a mapping with keys a, b' for a container where a scalar or the
    other container belongs (scalars are shown as '(got ...)' by the caller)."""
    if isinstance(value, dict):
        keys = ", ".join(str(k) for k in list(value)[:5]) + (", ..." if len(value) > 5 else "")
        return f", got a mapping with keys {keys}" if value else ", got an empty mapping"
    if isinstance(value, list | tuple):
        return f", got a list of {len(value)}"
    return ""


def _value_for(value: object) -> object:
    if isinstance(value, dict | list):
        return None
    return value


def problems_from(error: ValidationError, root: type[BaseModel], lines: dict[str, int] | None = None,
                  prefix: str = "", data: Any = _MISSING) -> list[Problem]:
    """Every pydantic error as one Problem, deduplicated, in input order; of a union's members,
    only the errors of the member the input meant (a mapping means the model) are kept."""
    described = [_message(dict(err), root, data) for err in error.errors(include_url=False)]
    meant = [d for d in described if d[3]] or described
    # A scalar where a union also takes a mapping: say so ("'auto', or a mapping with keys ...").
    mapping_too = {d[0]: d[4] for d in described if d[4] is not None}
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for path, message, value, _, _ in meant:
        model = mapping_too.get(path)
        if model is not None and "mapping" not in message:
            keys = _allowed_keys(model)
            listing = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
            message = f"{message}, or a mapping with keys {listing}"
        if value is not None and repr(value) in message:
            value = None  # the message already shows it
        full = join_path(prefix, path) if prefix and path else (prefix or path)
        if (full, message) in seen:
            continue
        seen.add((full, message))
        out.append(Problem(full, message, value, _line_for(full, lines or {})))
    return out


def _line_for(path: str, lines: dict[str, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("")


def validate_model(model: type[M], data: object, lines: dict[str, int] | None = None,
                   source: str | None = None, prefix: str = "", context: dict | None = None) -> M:
    """Validate ``data`` as ``model`` (``context`` reaches its validators); raise ScenarioError
    listing every problem at once."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise ScenarioError(problems_from(err, model, lines, prefix, data), source) from None
    except RecursionError:
        raise ScenarioError([Problem(prefix, "input nested too deeply")], source) from None
