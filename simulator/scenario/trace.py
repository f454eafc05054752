"""The ``workloads.trace`` section: jobs replayed from a trace file (docs/traces.md).

A trace is a table of jobs (one row each: submit time, GPUs, run time, tenant, priority, ...)
in dcsim's own columns or in one of the public GPU-cluster traces' layouts. Trace jobs run as
GPU-time on the rack groups named here, scheduled by the scenario's ``scheduler:`` policy.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from simulator.domain.quantities import Frozen, NonNegSeconds, PositiveSeconds, UnitFraction

TRACE_FORMATS = ("dcsim", "philly", "helios", "alibaba-pai")
# Mean activity of the GPUs a Philly job holds: "the hardware utilization of GPUs in use is only
# around 52% on average" (Jeon et al., ATC'19, sec. 1; benchmarks/reference/traces/stats.yaml
# philly.utilisation, a secondary quote of the paper).
PHILLY_GPU_UTILIZATION = 0.52


class Trace(Frozen):
    """Jobs replayed from a trace file (docs/traces.md: the dcsim columns and each adapter).

    Each row runs as GPU-time: it holds its GPUs for its run time, its boards drawing
    idle + utilisation x (TDP - idle). Rows are cut to the horizon by submit time.
    """

    path: str = Field(min_length=1, max_length=4096,
                      description="Trace file relative to the scenario file: .csv, .csv.gz or .parquet "
                                  "(Philly: the cluster_job_log JSON array).")
    format: Literal["dcsim", "philly", "helios", "alibaba-pai"] = Field(
        "dcsim", description="Column layout: dcsim (docs/traces.md) or a public trace's own.")
    start: NonNegSeconds = Field(0.0, description="Submit times are shifted so the trace's first "
                                                  "submission lands here.")
    max_jobs: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] | None = Field(
        None, description="Replay only the first N jobs (by submit time).")
    gpu_utilization: UnitFraction = Field(
        PHILLY_GPU_UTILIZATION, description="Mean activity of a job's GPUs where the trace has no gpu_util "
                                            "column (board power = idle + utilisation x (TDP - idle)).")
    rack_groups: list[str] = Field(default_factory=list, max_length=1000,
                                   description="Rack groups the trace runs on (their nodes are the trace's "
                                               "alone); default: every group.")
    time_limit: PositiveSeconds | None = Field(
        None, description="Cut longer run times to this (a cluster's wall-time limit); default: none.")


__all__ = ["PHILLY_GPU_UTILIZATION", "TRACE_FORMATS", "Trace"]
