"""Fit the NVLink tier of the collective model to NCCL measurements on an H100 DGX.

Data: benchmarks/reference/h100_dgx_nccl_all_reduce.csv (all-reduce on 2, 4 and 8 GPUs of one
node) and h100_dgx_nccl_send_recv.csv (send/recv between two GPUs of one node; the rows with
``devices_per_node`` 1 put the two GPUs in two nodes and are left for the accuracy check of
the network profile). ``size`` is bytes, times are the NCCL kernel times in ms (median of 3
runs), as recorded by microsoft/vidur's profiler.

Model: simulator/costmodel/collectives.py on one tier of 450 GB/s per direction (H100 SXM
NVLink 4, from the accelerator catalog). Six physical parameters, fitted together by least
squares on log time over every row of at least MIN_BYTES:
- efficiency: ring/tree bus bandwidth / link bandwidth (2 GPUs: NCCL runs a ring);
- innet_efficiency: NVLink SHARP (NVLS) all-reduce, S / time / link bandwidth (4 and 8 GPUs:
  the measured algorithm bandwidth is the same on both, ~220 GB/s, as in-switch reduction
  predicts and a ring cannot: a ring would move 1.75/1.5 times more per GPU on 8 than on 4);
- p2p_efficiency: send/recv bandwidth / link bandwidth;
- latency: per algorithm step; half_size: Hockney's n_1/2 ramp; call_floor: least kernel time
  of one all-reduce call (the profiler issues calls eagerly back to back, so each kernel also
  waits for the last rank to launch).

Run: ``.venv/bin/python benchmarks/calibrate_collectives.py``; copy the printed YAML into
simulator/scenario/catalog/collectives.yaml (profile ``nvlink-h100-measured``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from simulator.costmodel import collectives as coll
from simulator.scenario.catalog import shipped_catalog

REFERENCE = Path(__file__).resolve().parent / "reference"
ALL_REDUCE_CSV = REFERENCE / "h100_dgx_nccl_all_reduce.csv"
SEND_RECV_CSV = REFERENCE / "h100_dgx_nccl_send_recv.csv"
MIN_BYTES = 1e6  # fit and check from 1 MB (SI) up; below, the call floor is all there is
PARAMS = ("efficiency", "innet_efficiency", "p2p_efficiency", "latency_s", "half_bytes",
          "call_floor_s")
STARTS = (  # a few starting points: the fastest-algorithm choice makes the surface kinked
    (0.65, 0.50, 0.80, 2e-6, 1e6, 35e-6),
    (0.80, 0.40, 0.70, 5e-7, 4e6, 30e-6),
    (0.50, 0.60, 0.90, 5e-6, 2e5, 40e-6),
)


def load_measurements(path: Path, collective: str) -> dict[str, np.ndarray]:
    """Rows of a reference CSV: size (bytes), ranks, devices per node, median time (s)."""
    column = f"time_stats.{collective}.median"
    sizes, ranks, per_node, seconds = [], [], [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sizes.append(float(row["size"]))
            ranks.append(int(row["num_workers"]))
            per_node.append(int(row["devices_per_node"]))
            seconds.append(float(row[column]) * 1e-3)
    return {"nbytes": np.array(sizes), "ranks": np.array(ranks),
            "devices_per_node": np.array(per_node), "seconds": np.array(seconds)}


def nvlink_bw_bytes_per_s() -> float:
    """Per-direction NVLink bandwidth of the measured GPU, from the accelerator catalog."""
    return shipped_catalog().accelerators.get("h100-sxm").scaleup.bw


def fit_data(min_bytes: float = MIN_BYTES) -> dict[str, np.ndarray]:
    """All-reduce rows and intra-node send/recv rows of at least ``min_bytes``."""
    ar = load_measurements(ALL_REDUCE_CSV, "all_reduce")
    sr = load_measurements(SEND_RECV_CSV, "send_recv")
    a = ar["nbytes"] >= min_bytes
    s = (sr["nbytes"] >= min_bytes) & (sr["devices_per_node"] == 2)
    return {"ar_nbytes": ar["nbytes"][a], "ar_ranks": ar["ranks"][a], "ar_s": ar["seconds"][a],
            "sr_nbytes": sr["nbytes"][s], "sr_s": sr["seconds"][s]}


def one_tier(params: dict[str, float], bw_bytes_per_s: float) -> np.ndarray:
    """The NVLink tier as a one-tier topology."""
    row = coll.tier_row(bw_bytes_per_s, params["latency_s"], 8,
                        efficiency=params["efficiency"], half_bytes=params["half_bytes"],
                        innet_efficiency=params["innet_efficiency"],
                        p2p_efficiency=params["p2p_efficiency"],
                        call_floor_s=params["call_floor_s"])
    return row[None, :]


def predict(params: dict[str, float], data: dict[str, np.ndarray], bw_bytes_per_s: float):
    """Model times (s) for the all-reduce rows and the send/recv rows."""
    tiers = one_tier(params, bw_bytes_per_s)
    groups = data["ar_ranks"].astype(np.float64)[:, None]
    ar = coll.collective_times_groups(coll.ALL_REDUCE, data["ar_nbytes"], groups, tiers)
    sr = coll.collective_times(coll.SEND_RECV, data["sr_nbytes"], np.array([2.0]), tiers)
    return ar, sr


def fit(data: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """Least squares on log time over every row; the best of a few starting points."""
    data = fit_data() if data is None else data
    bw = nvlink_bw_bytes_per_s()
    measured = np.log(np.concatenate([data["ar_s"], data["sr_s"]]))

    def residuals(log_params: np.ndarray) -> np.ndarray:
        ar, sr = predict(dict(zip(PARAMS, np.exp(log_params), strict=True)), data, bw)
        return np.log(np.concatenate([ar, sr])) - measured

    upper = np.log([1.0, 1.0, 1.0, 1e-3, 1e9, 1e-3])
    best = None
    for start in STARTS:
        result = least_squares(residuals, np.log(start), bounds=(np.full(6, -np.inf), upper))
        if best is None or result.cost < best.cost:
            best = result
    return dict(zip(PARAMS, (float(v) for v in np.exp(best.x)), strict=True))


def yaml_snippet(params: dict[str, float]) -> str:
    """The fitted numbers as the fields of the catalog profile."""
    return "\n".join([
        f"  efficiency: {params['efficiency']:.4f}",
        f"  innet_efficiency: {params['innet_efficiency']:.4f}",
        f"  p2p_efficiency: {params['p2p_efficiency']:.4f}",
        f"  latency: {params['latency_s'] * 1e6:.3f}us",
        f"  half_size: {params['half_bytes'] / 1e6:.4f}MB",
        f"  call_floor: {params['call_floor_s'] * 1e6:.2f}us",
    ])


def main() -> None:
    data = fit_data()
    bw = nvlink_bw_bytes_per_s()
    params = fit(data)
    ar, sr = predict(params, data, bw)
    print(f"fitted to {data['ar_s'].size} all-reduce and {data['sr_s'].size} send/recv rows "
          f">= {MIN_BYTES:.0e} B, NVLink {bw / 1e9:.0f} GB/s per direction")
    for name in PARAMS:
        print(f"  {name:18s} {params[name]:.6g}")
    print(f"  ring/tree busbw  {params['efficiency'] * bw / 1e9:.1f} GB/s; NVLS algbw "
          f"{params['innet_efficiency'] * bw / 1e9:.1f} GB/s; send/recv "
          f"{params['p2p_efficiency'] * bw / 1e9:.1f} GB/s")
    for n in (2, 4, 8):
        m = data["ar_ranks"] == n
        err = np.abs(ar[m] / data["ar_s"][m] - 1.0)
        print(f"  all-reduce {n} GPUs: mean |err| {err.mean():.3f}, max {err.max():.3f}")
    err = np.abs(sr / data["sr_s"] - 1.0)
    print(f"  send/recv 2 GPUs: mean |err| {err.mean():.3f}, max {err.max():.3f}")
    print("\nYAML (profile nvlink-h100-measured):")
    print(yaml_snippet(params))


if __name__ == "__main__":
    main()
