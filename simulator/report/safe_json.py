"""Read a JSON file that dcsim did not necessarily write (a baseline in a pull request, a run
folder copied around) without trusting it: a size limit, a nesting limit checked before parsing
(no RecursionError), no NaN/Infinity, no number that overflows a float, no duplicate keys.
Every problem is a ``Problem`` naming the file; nothing here raises anything but ``InputError``.

Self-contained on purpose (the same limits as domain/yaml_io.py for scenarios), so it can be
folded into a shared JSON reader without dragging the report layer along.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from simulator.errors import InputError, Problem

MAX_DEPTH = 32
MAX_BYTES = 64 * 2**20
MAX_INT_DIGITS = 300
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


class _RejectedError(ValueError):
    """A value json.loads must not accept (raised from its hooks)."""


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting of JSON ``text`` (strings skipped), in linear time."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match[0] in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _constant(name: str):
    raise _RejectedError(f"{name} is not a number JSON allows (NaN and infinities are not accepted)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RejectedError(f"{text[:40]} overflows a 64-bit float")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _RejectedError(f"an integer of {len(text)} digits overflows a 64-bit float")
    return int(text)


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _RejectedError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_json(text: str, where: str, max_depth: int = MAX_DEPTH) -> object:
    """JSON text -> data, or InputError naming ``where`` (a file name)."""
    depth = nesting_depth(text)
    if depth > max_depth:
        raise InputError([Problem(where, f"nested {depth} levels deep; at most {max_depth}")])
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int,
                          object_pairs_hook=_pairs)
    except _RejectedError as err:
        raise InputError([Problem(where, str(err))]) from None
    except json.JSONDecodeError as err:
        raise InputError([Problem(where, f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})")]) \
            from None
    except (ValueError, RecursionError) as err:  # int digit limits and the like
        raise InputError([Problem(where, f"not valid JSON: {err}")]) from None


def read_json(path: Path, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """A JSON file's data through ``parse_json``, with the file's own problems (missing, a
    folder, too large, not UTF-8) as InputError."""
    where = str(path)
    try:
        if path.is_dir():
            raise InputError([Problem(where, "is a folder, not a JSON file")])
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError([Problem(where, f"is {size:,} bytes; at most {max_bytes:,}")])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(where, "file not found")]) from None
    except OSError as err:
        raise InputError([Problem(where, f"cannot read: {err.strerror or err}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(where, "not UTF-8 text")]) from None
    return parse_json(text, where, max_depth)


def is_number(value: object) -> bool:
    """A finite int or float (a JSON boolean is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
