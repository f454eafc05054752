"""Reading a trace file into a ``TraceTable``: dcsim's columns (CSV or Parquet) and adapters for
the public GPU-cluster traces, each mapped as its authors define the quantities
(benchmarks/reference/traces/formats.md holds the exact columns, read from the repositories):

- ``philly`` (Microsoft Philly, Jeon et al. ATC'19; msr-fiddle/philly-traces@29a1b87
  ``cluster_job_log``, a JSON array of jobs with ``jobid``, ``vc``, ``user``, ``status``,
  ``submitted_time``, ``attempts[].{start_time, end_time, detail[].{ip, gpus}}``): GPUs = the
  GPUs of the first attempt's servers, run time = last attempt end - first attempt start,
  submit = ``submitted_time``, tenant = ``vc`` (the authors' notebook, ``Job.__init__``).
- ``helios`` (SenseTime Helios, Hu et al. SC'21; S-Lab-System-Group/HeliosData@159f0ca
  ``cluster_log.csv``: ``job_id, user, vc, gpu_num, cpu_num, node_num, state, submit_time,
  start_time, end_time, duration, queue``): GPU jobs (``gpu_num`` > 0), run time =
  ``duration``, submit = ``submit_time``, tenant = ``vc``.
- ``alibaba-pai`` (Alibaba PAI, Weng et al. NSDI'22; alibaba/clusterdata@7a6c496
  cluster-trace-gpu-v2020 ``pai_task_table``: ``job_name, task_name, inst_num, status,
  start_time, end_time, plan_cpu, plan_mem, plan_gpu, gpu_type``, no header row in the
  release): GPUs = ceil(``plan_gpu`` / 100 x ``inst_num``) (``plan_gpu`` is per instance, in
  percent of one GPU), run time = ``end_time - start_time``, submit = ``start_time``, tenant =
  ``user`` where the task table was joined with ``pai_job_table`` (``job_name, inst_id, user,
  status, start_time, end_time``) on ``job_name``, else ``gpu_type``. Times of 0 are missing.

Rows the adapters cannot use (CPU-only jobs, missing times, zero run time) are dropped and
counted in the table's notes. Time stamps without a zone are read as given: only differences
matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.engine.trace.table import TraceTable, from_frame, window
from simulator.errors import InputError, Problem

PAI_TASK_COLUMNS = ("job_name", "task_name", "inst_num", "status", "start_time", "end_time", "plan_cpu",
                    "plan_mem", "plan_gpu", "gpu_type")
HELIOS_COLUMNS = ("job_id", "user", "vc", "gpu_num", "cpu_num", "node_num", "state", "submit_time", "start_time",
                  "end_time", "duration", "queue")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SUFFIXES = (".csv", ".gz", ".parquet", ".json")


def _read_table(path: Path, where: str, header: bool = True) -> pd.DataFrame:
    if not path.is_file():
        raise InputError([Problem(where, f"no trace file {path}")])
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, header=0 if header else None, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError, ImportError) as err:
        raise InputError([Problem(where, f"cannot read {path.name}: {err}")]) from None


def _frame(columns: dict, notes: dict) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.attrs["notes"] = notes
    return frame


def _seconds(values) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' strings (None, '' or 'None' when missing) as seconds (NaN missing)."""
    text = pd.Series(values, dtype="object")
    text = text.where(~text.isin(["None", ""]), None)
    stamps = pd.to_datetime(text, format=TIME_FORMAT, errors="coerce")
    return (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(dtype=float)


def _need(raw: pd.DataFrame, columns: tuple[str, ...], what: str, where: str, expected: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise InputError([Problem(where, f"not a {what}: no column {', '.join(missing)} "
                                         f"(expected {', '.join(expected)})")])


def philly_frame(path: Path, where: str) -> pd.DataFrame:
    """Philly's ``cluster_job_log`` (JSON array) in the dcsim columns."""
    try:
        jobs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError([Problem(where, f"cannot read {path.name} as Philly's JSON job log: {err}")]) from None
    if not isinstance(jobs, list):
        raise InputError([Problem(where, "a Philly job log is a JSON array of job objects")])
    submit: list = []
    first: list = []
    last: list = []
    gpus: list[int] = []
    vcs: list[str] = []
    names: list[str] = []
    no_attempt = 0
    for job in jobs:
        attempts = job.get("attempts") if isinstance(job, dict) else None
        if not attempts:
            no_attempt += 1
            continue
        detail = attempts[0].get("detail") or []
        submit.append(job.get("submitted_time"))
        first.append(attempts[0].get("start_time"))
        last.append(attempts[-1].get("end_time"))
        gpus.append(sum(len(d.get("gpus") or []) for d in detail))
        vcs.append(str(job.get("vc", "default")))
        names.append(str(job.get("jobid", f"philly-{len(names)}")))
    sub, start, end = _seconds(submit), _seconds(first), _seconds(last)
    duration = end - start
    ok = ~np.isnan(sub) & ~np.isnan(duration) & (duration > 0) & (np.array(gpus, dtype=float) > 0)
    notes = {"rows_read": len(jobs), "dropped_no_attempt": no_attempt,
             "dropped_missing_time_or_gpus": int(np.sum(~ok))}
    return _frame({"submit_s": sub[ok], "gpus": np.array(gpus, dtype=np.int64)[ok], "duration_s": duration[ok],
                   "tenant": np.array(vcs, dtype=object)[ok], "name": np.array(names, dtype=object)[ok]}, notes)


def helios_frame(path: Path, where: str) -> pd.DataFrame:
    """Helios' ``cluster_log.csv`` (GPU jobs) in the dcsim columns."""
    raw = _read_table(path, where)
    _need(raw, ("gpu_num", "submit_time", "duration"), "Helios cluster_log.csv", where, HELIOS_COLUMNS)
    gpus = pd.to_numeric(raw["gpu_num"], errors="coerce").to_numpy(dtype=float)
    duration = pd.to_numeric(raw["duration"], errors="coerce").to_numpy(dtype=float)
    sub = _seconds(raw["submit_time"].to_numpy(dtype=object))
    gpu_job = gpus > 0
    ok = gpu_job & ~np.isnan(sub) & (duration > 0)
    notes = {"rows_read": len(raw), "dropped_cpu_jobs": int(np.sum(~gpu_job)),
             "dropped_missing_or_zero_duration": int(np.sum(gpu_job & ~ok))}
    cols = {"submit_s": sub[ok], "gpus": gpus[ok].astype(np.int64), "duration_s": duration[ok]}
    if "vc" in raw.columns:
        cols["tenant"] = raw["vc"].astype(str).to_numpy(dtype=object)[ok]
    if "job_id" in raw.columns:
        cols["name"] = raw["job_id"].astype(str).to_numpy(dtype=object)[ok]
    return _frame(cols, notes)


def pai_frame(path: Path, where: str) -> pd.DataFrame:
    """Alibaba PAI's ``pai_task_table`` (header row or none; optionally joined with
    ``pai_job_table`` for ``user``) in the dcsim columns."""
    raw = _read_table(path, where, header=True)
    if "plan_gpu" not in raw.columns and path.suffix != ".parquet":      # the release's header-less CSV
        raw = _read_table(path, where, header=False)
        if raw.shape[1] != len(PAI_TASK_COLUMNS):
            raise InputError([Problem(where, f"not a PAI task table: {raw.shape[1]} columns, expected "
                                             f"{len(PAI_TASK_COLUMNS)} ({', '.join(PAI_TASK_COLUMNS)})")])
        raw.columns = list(PAI_TASK_COLUMNS)
    _need(raw, ("inst_num", "start_time", "end_time", "plan_gpu"), "PAI task table", where, PAI_TASK_COLUMNS)
    plan_gpu = pd.to_numeric(raw["plan_gpu"], errors="coerce").to_numpy(dtype=float)
    inst = pd.to_numeric(raw["inst_num"], errors="coerce").to_numpy(dtype=float)
    start = pd.to_numeric(raw["start_time"], errors="coerce").to_numpy(dtype=float)
    end = pd.to_numeric(raw["end_time"], errors="coerce").to_numpy(dtype=float)
    gpu_task = plan_gpu > 0
    ok = gpu_task & (inst > 0) & (start > 0) & (end > start)
    gpus = np.ceil(np.where(ok, plan_gpu * inst, 100.0) / 100.0 - 1e-9)
    notes = {"rows_read": len(raw), "dropped_cpu_tasks": int(np.sum(~gpu_task)),
             "dropped_missing_times": int(np.sum(gpu_task & ~ok))}
    tenant_col = "user" if "user" in raw.columns else "gpu_type" if "gpu_type" in raw.columns else None
    cols = {"submit_s": start[ok], "gpus": np.maximum(gpus[ok], 1).astype(np.int64), "duration_s": (end - start)[ok]}
    if tenant_col is not None:
        cols["tenant"] = raw[tenant_col].astype(str).to_numpy(dtype=object)[ok]
    if "job_name" in raw.columns and "task_name" in raw.columns:
        cols["name"] = (raw["job_name"].astype(str) + "/" + raw["task_name"].astype(str)).to_numpy(dtype=object)[ok]
    return _frame(cols, notes)


ADAPTERS = {"philly": philly_frame, "helios": helios_frame, "alibaba-pai": pai_frame}


def read_trace(path: Path, fmt: str, where: str = "workloads.trace.path") -> TraceTable:
    """The trace at ``path`` in format ``fmt`` as a table sorted by submit time."""
    if not path.is_file():
        raise InputError([Problem(where, f"no trace file {path}")])
    frame = _read_table(path, where) if fmt == "dcsim" else ADAPTERS[fmt](path, where)
    table, problems = from_frame(frame, where)
    if problems or table is None:
        raise InputError(problems)
    if not len(table):
        raise InputError([Problem(where, f"the trace {path.name} has no usable job")])
    table.notes["format"] = fmt
    return table


def load_trace(trace, base_dir: Path | str | None) -> TraceTable:
    """A scenario's ``workloads.trace`` read, shifted to its start and cut to its window."""
    path = Path(trace.path)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return window(read_trace(path, trace.format), trace.start, trace.max_jobs, trace.time_limit)
