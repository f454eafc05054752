"""The report's job-trace scheduling table, from summary.json's scheduling block."""

from __future__ import annotations

from simulator.report.markdown import render_markdown
from simulator.report.scheduling import scheduling_table


def _stats(jobs, p50):
    return {"jobs": jobs, "p50_s": p50, "p90_s": 2 * p50, "p99_s": 3 * p50, "mean_s": p50}


SCHED = {"policy": "fifo", "jobs_submitted": 10, "jobs_finished": 9, "utilization": 0.5, "fragmentation": 0.1,
         "preemptions": 0, "jct": _stats(9, 600.0), "queueing_delay": _stats(10, 60.0),
         "queueing_delay_by_size": {"1": _stats(8, 30.0), ">8": _stats(2, 3600.0)},
         "queueing_delay_by_tenant": {"a": _stats(10, 60.0)}}


def test_rows_by_size_and_tenant_and_a_note():
    table = scheduling_table({"scheduling": SCHED})
    assert table is not None
    assert [r[0] for r in table.rows] == ["all jobs", "1 GPU", ">8 GPUs", "tenant a"]
    assert table.rows[2][1] == "2"
    assert "policy fifo" in table.note and "9 of 10 jobs finished" in table.note


def test_no_table_without_a_trace():
    assert scheduling_table({}) is None
    assert "Job trace scheduling" not in render_markdown({"scenario": "x"}, {}, _empty_jobs())


def _empty_jobs():
    import pandas as pd
    return pd.DataFrame()
