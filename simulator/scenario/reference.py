"""The scenario reference (docs/scenario-reference.md), generated from the pydantic models so
the documentation cannot drift from what the loader accepts."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simulator.scenario.schema import Scenario

_UNIT_HINTS = {
    "parse_time": "duration ('30d', '5min')",
    "parse_power": "power ('700W', '20MW')",
    "parse_energy": "energy ('5kWh')",
    "parse_bytes": "bytes ('80GiB')",
    "parse_bandwidth": "bandwidth ('400Gb/s')",
    "parse_flops": "FLOP/s ('989TFLOP/s')",
    "parse_money": "money ('$30k')",
    "parse_price_energy": "energy price ('$0.08/kWh')",
    "parse_price_time": "price per time ('$2.5/h')",
    "parse_carbon_intensity": "carbon intensity ('350g/kWh')",
    "parse_rate": "rate ('10/s')",
    "parse_temperature": "temperature ('25C', '77F')",
    "parse_fraction": "fraction ('95%', 0.95)",
    "parse_count": "count ('300B', '1e6')",
}


def _type_name(annotation: Any) -> str:
    """A short human name for a field's type, with the unit a quantity takes."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        for m in meta:
            func = getattr(m, "func", None)
            if func is not None and getattr(func, "__name__", "") in _UNIT_HINTS:
                return _UNIT_HINTS[func.__name__]
        for m in meta:
            for inner in getattr(m, "metadata", []) or []:
                func = getattr(inner, "func", None)
                if func is not None and getattr(func, "__name__", "") in _UNIT_HINTS:
                    return _UNIT_HINTS[func.__name__]
        return _type_name(base)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"mapping of {_type_name(key)} to {_type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _field_type(field) -> str:
    """The type of a model field, reading unit parsers pydantic moved into ``field.metadata``."""
    for meta in field.metadata:
        func = getattr(meta, "func", None)
        if func is not None and getattr(func, "__name__", "") in _UNIT_HINTS:
            hint = _UNIT_HINTS[func.__name__]
            return hint if field.annotation is float else f"{hint} or {_type_name(field.annotation)}"
    return _type_name(field.annotation)


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "(section defaults)"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    return f"`{value}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from ``root``, in first-seen order."""
    seen: list[type[BaseModel]] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.append(tp)
            for f in tp.model_fields.values():
                visit(f.annotation)
            return
        for arg in typing.get_args(tp):
            visit(arg)

    visit(root)
    return seen


def scenario_reference() -> str:
    """Markdown: one table per model of the scenario (field, type/unit, default, meaning)."""
    lines = ["# Scenario reference", "",
             "Generated from `simulator/scenario/schema.py` by `dcsim schema --format md`; do not edit.",
             "Quantities accept a bare number in SI units or a string with a unit. Unknown keys are errors.", ""]
    for model in _models(Scenario):
        doc = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
        lines += [f"## {model.__name__}", "", doc, "",
                  "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{field.alias or name}` | {_field_type(field)} | {_default(field)} | {desc} |")
        lines.append("")
    return "\n".join(lines)
