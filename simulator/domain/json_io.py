"""Safe JSON reading, the ONE JSON reader: bounded size, depth, item count and key length,
UTF-8 only, finite numbers.

Every JSON file dcsim reads back (a compare baseline, a run folder's ``summary.json`` and
``costs.json``, a sweep cache entry) goes through ``read_json``, which returns plain data or
raises ``InputError`` listing every problem by its JSON path (``rows[3].pue_mean``) and line:
NaN and Infinity (not JSON, though Python writes them), numbers too large for a float,
integers longer than 100 digits, duplicate keys, keys longer than 256 characters, nesting deeper
than 48 levels (measured by a linear scan before parsing, so no RecursionError), more than
200,000 values, and files over 8 MiB. The limits are the YAML reader's (domain/yaml_io.py), so
a scenario and a baseline are held to the same rules.

``flat_numbers`` checks the commonest shape, a mapping of names to numbers (a baseline);
``is_number`` is the one test of "a finite number" (a JSON boolean is not one); ``located``
folds a reader error's file name into each problem, for callers that gather problems from
several files into one error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from simulator.domain.yaml_io import MAX_DEPTH, MAX_DIGITS, MAX_KEY_CHARS, MAX_NODES, join_path, read_text, short_path
from simulator.errors import InputError, Problem

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_LISTED = 20  # problems listed one by one; the rest are counted
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


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


def is_number(value: object) -> bool:
    """A finite int or float (a JSON boolean is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def located(err: InputError) -> list[Problem]:
    """``err``'s problems with its source (the file, and line) folded into each path, so problems
    from several files can be raised as one error and still name their file."""
    if not err.source:
        return list(err.problems)
    out = []
    for p in err.problems:
        where = f"{err.source}:{p.line}" if p.line is not None else err.source
        out.append(Problem(f"{where}: {p.path}" if p.path else where, p.message, p.value))
    return out


@dataclass(frozen=True)
class _Bad:
    """A value the decoder met that JSON data may not hold; the walker reports it by path."""

    text: str
    why: str


class _Object(dict):
    """A decoded JSON object that remembers the keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object()
    duplicates = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    obj.duplicates = tuple(duplicates)
    return obj


def _constant(text: str) -> _Bad:
    return _Bad(text, f"{text} is not a finite number (JSON has no NaN or Infinity)")


def _float(text: str) -> float | _Bad:
    value = float(text)
    if not math.isfinite(value):
        return _Bad(text[:40], "too large for a number (overflows a 64-bit float, beyond 1.8e308)")
    return value


def _int(text: str) -> int | _Bad:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        return _Bad(text[:40], f"a number with {digits} digits; at most {MAX_DIGITS} digits are accepted "
                               "(it overflows a 64-bit float)")
    return int(text)


class _Walker:
    """Walks decoded data without recursion: counts values, checks depth and keys, turns the
    decoder's markers into problems and the data back into plain dicts and lists."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.more = 0
        self.count = 0

    def add(self, path: str, message: str, value: object = None) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(short_path(path), message, value))
        else:
            self.more += 1

    def walk(self, data: object) -> object:
        root: list[object] = [None]
        stack: list[tuple[object, str, int, list | dict, object]] = [(data, "", 0, root, 0)]
        while stack:
            value, path, depth, parent, slot = stack.pop()
            self.count += 1
            if self.count > MAX_NODES:
                self.add("", f"more than {MAX_NODES:,} values; a JSON input may hold at most {MAX_NODES:,}")
                break
            if depth > MAX_DEPTH:
                self.add(path, f"nested more than {MAX_DEPTH} levels deep")
                continue
            if isinstance(value, _Bad):
                self.add(path, value.why, value.text if value.why.startswith("too large") else None)
                continue
            if isinstance(value, dict):
                for key in getattr(value, "duplicates", ()):
                    self.add(join_path(path, key), "duplicate key")
                plain: dict[str, object] = {}
                parent[slot] = plain  # type: ignore[call-overload]
                children = []
                for key, child in value.items():
                    if len(key) > MAX_KEY_CHARS:
                        self.add(path, f"a key of {len(key):,} characters; keys may have at most "
                                       f"{MAX_KEY_CHARS}", key[:40])
                        continue
                    plain[key] = None
                    children.append((child, join_path(path, key), depth + 1, plain, key))
                stack.extend(reversed(children))  # popped in document order: problems listed so
            elif isinstance(value, list):
                items: list[object] = [None] * len(value)
                parent[slot] = items  # type: ignore[call-overload]
                stack.extend((child, join_path(path, i), depth + 1, items, i)
                             for i, child in reversed(list(enumerate(value))))
            else:
                parent[slot] = value  # type: ignore[call-overload]
        return root[0]

    def raise_if_any(self, source: str | None) -> None:
        if not self.problems:
            return
        problems = list(self.problems)
        if self.more:
            problems.append(Problem("", f"{self.more} more problems not listed"))
        raise InputError(problems, source)


def parse_json(text: str, source: str | None = None) -> object:
    """Plain data from JSON text, within the limits above; every problem at once."""
    if len(text) > MAX_JSON_BYTES:
        raise InputError(f"JSON text is larger than {MAX_JSON_BYTES:,} bytes", source)
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:  # before parsing: the decoder recurses once per level
        raise InputError([Problem("", f"nested {depth} levels deep; at most {MAX_DEPTH} levels are accepted")],
                         source)
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant,
                          parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as err:
        raise InputError([Problem("", f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
                                  line=err.lineno)], source) from None
    except RecursionError:
        raise InputError([Problem("", f"nested more than {MAX_DEPTH} levels deep")], source) from None
    except ValueError as err:  # an integer Python refuses to convert (> 4300 digits)
        raise InputError([Problem("", f"not valid JSON: {err}")], source) from None
    walker = _Walker()
    plain = walker.walk(data)
    walker.raise_if_any(source)
    return plain


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> object:
    """Read and parse a JSON file safely (see ``parse_json``); errors name the file."""
    path = Path(path)
    return parse_json(read_text(path, max_bytes), str(path))


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def flat_numbers(data: object, known: tuple[str, ...] | None = None, *, what: str = "a mapping of "
                 "metric names to numbers", allow_null: bool = True, source: str | None = None,
                 path: str = "") -> dict[str, float | None]:
    """``data`` checked as a flat mapping of names to numbers (null allowed when ``allow_null``):
    booleans, strings and containers are refused, names outside ``known`` (when given) are
    refused with the known ones listed, and a mapping with none of the ``known`` names is
    refused. Raises ``InputError`` with every problem by path."""
    if not isinstance(data, dict):
        raise InputError([Problem(path, f"expected {what}, got {_describe(data)}")], source)
    problems: list[Problem] = []
    out: dict[str, float | None] = {}
    for key, value in data.items():
        where = join_path(path, key)
        if known is not None and key not in known:
            problems.append(Problem(where, f"unknown metric (known: {', '.join(known)})"))
            continue
        if value is None and allow_null:
            out[key] = None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
        else:
            problems.append(Problem(where, f"expected a number{' or null' if allow_null else ''}, "
                                           f"got {_describe(value)}", value if isinstance(value, str) else None))
    if known is not None and not problems and not out:
        problems.append(Problem(path, f"none of the known metrics ({', '.join(known)})"))
    if problems:
        raise InputError(problems[:MAX_LISTED] + ([Problem(path, f"{len(problems) - MAX_LISTED} more "
                                                                 "problems not listed")]
                                                  if len(problems) > MAX_LISTED else []), source)
    return out
