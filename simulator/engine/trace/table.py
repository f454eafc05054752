"""A job trace as arrays (a job table): one entry per job, sorted by submit time.

The dcsim columns (docs/traces.md): ``submit_s`` and ``gpus`` (required), ``duration_s`` (run
time at full speed on ``gpus`` GPUs) or ``model``, ``tokens`` and ``global_batch`` (and
optionally ``seq``: a training job the cost model times, engine/planning.py), ``priority``
(higher first, default 0), ``tenant`` (default "default"), ``min_gpus`` (elastic jobs accept
down to this many; default ``gpus``: a rigid gang), ``gpu_util`` (0-1 activity of its GPUs,
default the scenario's), ``name``. Checking a table gives one problem per bad column (its
first bad row and how many), never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.errors import Problem

REQUIRED = ("submit_s", "gpus")
OPTIONAL = ("duration_s", "priority", "tenant", "min_gpus", "gpu_util", "name", "model", "tokens", "global_batch",
            "seq")
COSTED = ("model", "tokens", "global_batch")
MAX_JOB_GPUS = 10_000_000


@dataclass(frozen=True)
class TraceTable:
    """Jobs of a trace, sorted by (submit time, row); times in seconds from the trace's start."""

    submit_s: np.ndarray          # float64
    gpus: np.ndarray              # int64, >= 1
    duration_s: np.ndarray        # float64, > 0 (NaN: a model + tokens row until planning times it)
    priority: np.ndarray          # int64
    tenant: np.ndarray            # int32 index into tenants
    tenants: tuple[str, ...]
    min_gpus: np.ndarray          # int64, 1 <= min_gpus <= gpus
    gpu_util: np.ndarray          # float64 in [0, 1], NaN: the scenario's default
    names: np.ndarray | None = None
    notes: dict = field(default_factory=dict)
    costed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None   # model, tokens, batch, seq

    def __len__(self) -> int:
        return len(self.submit_s)


def _bad(where: str, column: str, mask: np.ndarray, values: np.ndarray, what: str) -> Problem | None:
    if not mask.any():
        return None
    first = int(np.flatnonzero(mask)[0])
    count = int(mask.sum())
    more = f" ({count:,} rows)" if count > 1 else ""
    return Problem(where, f"column {column}, row {first + 1}: {what}{more}", values[first].item()
                   if hasattr(values[first], "item") else values[first])


def _numbers(frame, column: str) -> np.ndarray:
    """A column as floats; text that is not a number reads as NaN (and is reported)."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _optional(frame, column: str, default: np.ndarray) -> np.ndarray:
    """An optional column: blank cells take ``default``; text that is not a number reads as NaN."""
    if column not in frame.columns:
        return default.copy()
    values = _numbers(frame, column)
    blank = frame[column].isna().to_numpy()
    return np.where(blank, default, values)


def from_frame(frame, where: str) -> tuple[TraceTable | None, list[Problem]]:
    """A table from a DataFrame in the dcsim columns, or the problems found."""
    columns = list(frame.columns)
    missing = [c for c in REQUIRED if c not in columns]
    if "duration_s" not in columns and not all(c in columns for c in COSTED):
        missing.append("duration_s (or model, tokens and global_batch)")
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    problems: list[Problem] = []
    if missing:
        problems.append(Problem(where, f"the trace has no column {', '.join(missing)} (dcsim columns: "
                                       f"{', '.join(REQUIRED)}, duration_s; optional {', '.join(OPTIONAL[1:])})"))
    if unknown:
        problems.append(Problem(where, f"unknown column {', '.join(map(str, unknown))} (dcsim columns: "
                                       f"{', '.join(REQUIRED + OPTIONAL)})"))
    if problems:
        return None, problems
    n = len(frame)
    submit = _numbers(frame, "submit_s")
    gpus_f = _numbers(frame, "gpus")
    duration = _optional(frame, "duration_s", np.full(n, np.nan))
    has_model = frame["model"].notna().to_numpy() if "model" in columns else np.zeros(n, dtype=bool)
    tokens = _optional(frame, "tokens", np.full(n, np.nan))
    batch = _optional(frame, "global_batch", np.full(n, np.nan))
    seq = _optional(frame, "seq", np.full(n, 2048.0))
    costed = np.isnan(duration) & has_model
    priority_f = _optional(frame, "priority", np.zeros(n))
    min_f = _optional(frame, "min_gpus", gpus_f)
    util = _numbers(frame, "gpu_util") if "gpu_util" in columns else np.full(n, np.nan)
    checks = [
        ("submit_s", ~np.isfinite(submit) | (submit < 0), submit, "submit time must be a number of seconds >= 0"),
        ("gpus", ~np.isfinite(gpus_f) | (gpus_f < 1) | (gpus_f != np.round(gpus_f)) | (gpus_f > MAX_JOB_GPUS),
         gpus_f, f"GPUs must be a whole number from 1 to {MAX_JOB_GPUS:,}"),
        ("duration_s", ~costed & (~np.isfinite(duration) | (duration <= 0)), duration,
         "run time must be a number of seconds > 0 (or give model, tokens and global_batch)"),
        ("tokens", costed & ~(tokens > 0), tokens, "a model row needs tokens > 0"),
        ("global_batch", costed & ~((batch >= 1) & (batch == np.round(batch))), batch,
         "a model row needs a whole global_batch >= 1"),
        ("seq", costed & ~((seq >= 1) & (seq == np.round(seq))), seq, "seq must be a whole number >= 1"),
        ("priority", ~np.isfinite(priority_f) | (priority_f != np.round(priority_f)), priority_f,
         "priority must be a whole number"),
        ("min_gpus", ~np.isfinite(min_f) | (min_f < 1) | (min_f != np.round(min_f)) | (min_f > gpus_f)
         if "min_gpus" in columns else np.zeros(n, dtype=bool), min_f,
         "min_gpus must be a whole number from 1 to the row's gpus"),
        ("gpu_util", ~np.isnan(util) & ((util < 0) | (util > 1)), util, "gpu_util must be a fraction from 0 to 1"),
    ]
    for column, mask, values, what in checks:
        bad = _bad(where, column, mask, values, what)
        if bad is not None:
            problems.append(bad)
    if problems:
        return None, problems
    tenant_raw = frame["tenant"].astype(str).to_numpy() if "tenant" in columns else np.full(n, "default")
    tenants, tenant = np.unique(tenant_raw, return_inverse=True)
    names = frame["name"].astype(str).to_numpy(dtype=object) if "name" in columns else None
    order = np.argsort(submit, kind="stable")
    table = TraceTable(submit[order], gpus_f[order].astype(np.int64), duration[order],
                       priority_f[order].astype(np.int64), tenant[order].astype(np.int32),
                       tuple(str(t) for t in tenants), min_f[order].astype(np.int64), util[order],
                       names[order] if names is not None else None, dict(getattr(frame, "attrs", {}).get("notes", {})),
                       (frame["model"].to_numpy(dtype=object)[order], tokens[order], batch[order], seq[order])
                       if costed.any() else None)
    return table, []


def window(table: TraceTable, start_s: float, max_jobs: int | None, time_limit_s: float | None) -> TraceTable:
    """The table shifted so its first submission is at ``start_s``, cut to ``max_jobs`` jobs and
    run times cut to ``time_limit_s``."""
    n = len(table) if max_jobs is None else min(max_jobs, len(table))
    first = float(table.submit_s[0]) if len(table) else 0.0
    duration = table.duration_s[:n]
    if time_limit_s is not None:
        duration = np.minimum(duration, time_limit_s)
    return TraceTable(table.submit_s[:n] - first + start_s, table.gpus[:n], duration, table.priority[:n],
                      table.tenant[:n], table.tenants, table.min_gpus[:n], table.gpu_util[:n],
                      table.names[:n] if table.names is not None else None, table.notes,
                      _cut(table.costed, n))


def _cut(costed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None, n: int):
    if costed is None:
        return None
    model, tokens, batch, seq = costed
    return model[:n], tokens[:n], batch[:n], seq[:n]
