"""Scenario section for the storage tier that checkpoints and datasets share (engine/storage.py).

Reference points for the values (each scenario states its own): Meta's Tectonic for Llama 3,
240 PB on 7,500 SSD servers, 2 TB/s sustained and 7 TB/s peak (Dubey et al. 2024, section
3.3.1; benchmarks/reference/training_scale/failures.csv); a DGX H100 has 8 x 3.84 TB U.2 NVMe
data drives (NVIDIA DGX H100 datasheet), about 30 TB of local scratch per node.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.domain.quantities import Frozen, NonNegUsd, NonNegWatts, PositiveBytes, PositiveBytesPerS


class LocalTier(Frozen):
    """Local NVMe on every node: absorbs a checkpoint write, then drains it to the shared tier in
    the background."""

    write_bw_per_node: PositiveBytesPerS = Field(
        2.0e10, description="NVMe write bandwidth of one node (default: 8 PCIe Gen4 U.2 drives at ~2.5 GB/s "
                            "sustained write each, DGX H100 datasheet drive count).")
    capacity_per_node: PositiveBytes = Field(3.072e13, description="Local NVMe per node (DGX H100: 8 x 3.84 TB).")


class Storage(Frozen):
    """The shared storage system: a parallel file system or an object store. Checkpoint writes and
    restores and dataset reads share its bandwidth; its power is part of the IT load and its
    capex part of the costs."""

    kind: Literal["parallel-fs", "object-store"] = Field("parallel-fs", description="Parallel file system "
                                                                                   "(Lustre, GPFS, VAST, DDN) or "
                                                                                   "object store (Tectonic, S3).")
    capacity: PositiveBytes = Field(description="Usable capacity, e.g. 240PB.")
    write_bw: PositiveBytesPerS = Field(description="Aggregate sustained write bandwidth, e.g. 2TB/s.")
    read_bw: PositiveBytesPerS = Field(description="Aggregate sustained read bandwidth.")
    power: NonNegWatts = Field(0.0, description="Electrical power of the storage system (counted as IT load).")
    capex: NonNegUsd = Field(0.0, description="Purchase price of the storage system.")
    source: str = Field("", max_length=2000, description="Where the numbers come from (datasheet, paper).")
    checkpoint_mode: Literal["sync", "async"] = Field(
        "sync", description="sync: the job stalls for the whole write; async: it stalls only for the copy to host "
                            "memory (or local NVMe), then the copy drains while it trains.")
    copy_bw_per_node: PositiveBytesPerS = Field(
        5.0e10, description="Device-to-host copy bandwidth of one node for async checkpoints without local NVMe "
                            "(host memory bandwidth bound; ~50 GB/s).")
    local: LocalTier | None = Field(None, description="Local NVMe tier that takes async checkpoint writes.")
    dataset_bytes_per_token: float = Field(
        4.0, gt=0, le=1e6, description="Bytes read from storage per training token (4: int32 token ids of a "
                                       "pre-tokenised dataset).")


__all__ = ["LocalTier", "Storage"]
