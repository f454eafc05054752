"""Error types: one picklable root, ``DcsimError``, so errors survive worker processes.

The CLI prints these as messages (never tracebacks) and maps them to exit codes:
``InputError`` and its children exit 2 (bad input), ``DoesNotFitError`` exits 1. Each also
inherits the matching builtin (as Pint's errors do): ``InputError`` and ``UnitError`` are
``ValueError``s, ``CatalogError`` a ``LookupError``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class DcsimError(Exception):
    """Root of every error dcsim raises on purpose."""

    exit_code = 1

    def __reduce__(self):
        return (type(self), self.args)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (YAML path), what was found, what is allowed."""

    path: str
    message: str
    value: object = None
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        parts = []
        if source:
            parts.append(f"{source}:{self.line}" if self.line is not None else source)
        if self.path:
            parts.append(self.path)
        text = ": ".join([*parts, self.message])
        if self.value is not None and "got" not in self.message:
            text += f" (got {_short_repr(self.value)})"
        return text


def _short_repr(value: object, limit: int = 60) -> str:
    text = repr(value.isoformat()) if isinstance(value, dt.date) else repr(value)   # YAML dates as written
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(DcsimError, ValueError):
    """Bad input (scenario, model spec, CLI flag, trace file): exit code 2. A ``ValueError`` too,
    so code that knows nothing of dcsim can still catch it."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...] | str, source: str | None = None):
        if isinstance(problems, str):
            problems = (Problem(path="", message=problems),)
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self.problems, source)

    def __reduce__(self):
        return (type(self), (self.problems, self.source))

    def lines(self) -> list[str]:
        return [p.format(self.source) for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class ScenarioError(InputError):
    """A scenario (or model spec) failed validation; holds every problem found in one pass."""


class UnitError(DcsimError, ValueError):
    """A quantity string could not be read in the expected unit."""

    exit_code = 2


class CatalogError(InputError, LookupError):
    """A catalog name was not found, or a catalog file is malformed (also a ``LookupError``)."""


class DoesNotFitError(DcsimError, ValueError):
    """A model/layout does not fit in device memory: says needed vs available bytes (also a
    ``ValueError``: the configuration asked for cannot be)."""

    exit_code = 1

    def __init__(self, message: str, needed_bytes: float = 0.0, available_bytes: float = 0.0):
        self.needed_bytes = float(needed_bytes)
        self.available_bytes = float(available_bytes)
        super().__init__(message, needed_bytes, available_bytes)

    def __reduce__(self):
        return (type(self), (self.args[0], self.needed_bytes, self.available_bytes))

    def __str__(self) -> str:
        return str(self.args[0])
