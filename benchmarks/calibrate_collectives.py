"""Fit the NVLink tier of the collective model to NCCL measurements on an H100 DGX.

Data: benchmarks/reference/h100_dgx_nccl_all_reduce.csv (all-reduce on 2, 4 and 8 GPUs of one
node) and h100_dgx_nccl_send_recv.csv (send/recv between two GPUs of one node; the rows with
``devices_per_node`` 1 put the two GPUs in two nodes and are left for the accuracy check of
the network profile). ``size`` is bytes, times are the NCCL kernel times in ms (median of 3
runs), as recorded by microsoft/vidur's profiler.

Model: simulator/costmodel/collectives.py on one tier of 450 GB/s per direction (H100 SXM
NVLink 4, from the accelerator catalog), priced like NCCL's tuner (src/graph/tuning.cc): every
(algorithm, protocol) pair costs ``latency + bytes / bandwidth`` and the fastest one runs.
Seven physical parameters are fitted together by least squares on log time over every
all-reduce row of at least MIN_BYTES:
- efficiency, base_latency, latency: the Simple protocol's bus bandwidth / link bandwidth,
  per-call latency and per-step latency (ring: 2(n-1) steps; tree: 2 ceil(log2 n));
- innet_efficiency, innet_base_latency, innet_latency: NVLink SHARP (NVLS), S / time / link
  bandwidth, per-call latency and latency per rank-step (4 and 8 GPUs: the measured algorithm
  bandwidth is near the same on both, as in-switch reduction predicts and a ring cannot);
- call_floor: least kernel time of one all-reduce call (the profiler issues calls eagerly back
  to back, so each kernel also waits for the last rank to launch).
LL128 and LL cannot be told apart in these rows (from 1 MB up they lose to Simple and NVLS, or
hide under the call floor), so they are not fitted: their bandwidth and latencies are the
fitted Simple ones scaled by the ratios of NCCL's own constants (NCCL_RATIOS below). Send/recv
has its own two parameters (p2p_efficiency, p2p_latency), fitted the same way to the
intra-node send/recv rows. No Hockney ramp (half_size 0): NCCL's model has none, and per-call
latencies play its part.

Run: ``.venv/bin/python benchmarks/calibrate_collectives.py``; copy the printed YAML into
simulator/domain/catalog/collectives.yaml (profile ``nvlink-h100-measured``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from simulator.costmodel import collective_tiers as ct
from simulator.costmodel import collectives as coll
from simulator.domain.catalog import shipped_catalog

REFERENCE = Path(__file__).resolve().parent / "reference"
ALL_REDUCE_CSV = REFERENCE / "h100_dgx_nccl_all_reduce.csv"
SEND_RECV_CSV = REFERENCE / "h100_dgx_nccl_send_recv.csv"
MIN_BYTES = 1e6  # fit and check from 1 MB (SI) up; below, the call floor is all there is

# All-reduce parameters (fitted), in SI units, with a scale for the optimiser and bounds.
PARAMS = ("efficiency", "base_latency_s", "latency_s", "innet_efficiency",
          "innet_base_latency_s", "innet_latency_s", "call_floor_s")
SCALE = np.array([1.0, 1e-6, 1e-6, 1.0, 1e-6, 1e-6, 1e-6])
LOWER = np.array([0.2, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0])
UPPER = np.array([1.0, 100.0, 20.0, 1.0, 100.0, 20.0, 100.0])
STARTS = (  # a few starting points: the fastest-pair choice and the floor make the surface kinked
    (0.65, 15.0, 1.3, 0.51, 9.0, 2.7, 37.0),
    (0.74, 22.0, 0.7, 0.49, 46.0, 0.0, 36.0),
    (0.60, 5.0, 3.0, 0.50, 20.0, 1.0, 38.0),
    (0.70, 29.0, 0.1, 0.53, 2.5, 4.0, 37.5),
)
# Send/recv parameters (fitted separately on the intra-node rows).
P2P_PARAMS = ("p2p_efficiency", "p2p_latency_s")

# LL128 and LL relative to Simple, from NCCL's tuning model (src/graph/tuning.cc, NCCL 2.19+,
# ring on NVLink): bus bandwidth x0.92 for LL128 (120 of 128 bytes are data) and x0.5 for LL
# (8 of 16); per-call latency baseLat = 14.0 / 6.6 us against Simple's 8.4; per-step latency
# hwLat[NVLINK] = 1.9 / 0.6 us against Simple's 3.4.
NCCL_RATIOS = {
    "ll128": {"efficiency": 0.92, "base_latency_s": 14.0 / 8.4, "latency_s": 1.9 / 3.4},
    "ll": {"efficiency": 0.5, "base_latency_s": 6.6 / 8.4, "latency_s": 0.6 / 3.4},
}


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


def derived(params: dict[str, float]) -> dict[str, float]:
    """LL128 and LL parameters: the Simple ones scaled by NCCL's ratios (NCCL_RATIOS)."""
    out = {}
    for proto, ratio in NCCL_RATIOS.items():
        for key, r in ratio.items():
            out[f"{proto}_{key}"] = params[key] * r
    return out


def one_tier(params: dict[str, float], bw_bytes_per_s: float) -> np.ndarray:
    """The NVLink tier as a one-tier topology (p2p parameters optional: default Simple's)."""
    p = {**params, **derived(params)}
    return ct.tier_from_params(p, bw_bytes_per_s, 8, p["latency_s"])[None, :]


def predict(params: dict[str, float], data: dict[str, np.ndarray], bw_bytes_per_s: float):
    """Model times (s) for the all-reduce rows and the send/recv rows."""
    tiers = one_tier(params, bw_bytes_per_s)
    groups = data["ar_ranks"].astype(np.float64)[:, None]
    ar = coll.collective_times_groups(coll.Collective.ALL_REDUCE, data["ar_nbytes"], groups, tiers)
    sr = coll.collective_times(coll.Collective.SEND_RECV, data["sr_nbytes"], np.array([2.0]), tiers)
    return ar, sr


def fit_all_reduce(data: dict[str, np.ndarray], bw: float) -> dict[str, float]:
    """Least squares on log time over the all-reduce rows; the best of a few starting points."""
    measured = np.log(data["ar_s"])

    def residuals(x: np.ndarray) -> np.ndarray:
        params = dict(zip(PARAMS, x * SCALE, strict=True))
        ar, _ = predict(params, {**data, "sr_nbytes": np.zeros(0)}, bw)
        return np.log(ar) - measured

    best = None
    for start in STARTS:
        x0 = np.clip(np.array(start, dtype=float), LOWER, UPPER)  # in units of SCALE
        result = least_squares(residuals, x0, bounds=(LOWER, UPPER),
                               x_scale=np.array([0.1, 5.0, 1.0, 0.1, 5.0, 1.0, 5.0]))
        if best is None or result.cost < best.cost:
            best = result
    return dict(zip(PARAMS, (float(v) for v in best.x * SCALE), strict=True))


def fit_send_recv(data: dict[str, np.ndarray], bw: float) -> dict[str, float]:
    """``lat + S / (eff * bw)`` by least squares on log time over the intra-node send/recv rows."""
    def residuals(x: np.ndarray) -> np.ndarray:
        return np.log(x[1] * 1e-6 + data["sr_nbytes"] / (x[0] * bw)) - np.log(data["sr_s"])

    result = least_squares(residuals, np.array([0.8, 5.0]), bounds=([0.1, 0.0], [1.0, 100.0]))
    return {"p2p_efficiency": float(result.x[0]), "p2p_latency_s": float(result.x[1] * 1e-6)}


def fit(data: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """Every parameter of the NVLink profile: fitted all-reduce and send/recv ones, and the
    LL128 / LL ones derived from them."""
    data = fit_data() if data is None else data
    bw = nvlink_bw_bytes_per_s()
    params = {**fit_all_reduce(data, bw), **fit_send_recv(data, bw)}
    return {**params, **derived(params)}


def yaml_snippet(params: dict[str, float]) -> str:
    """The fitted numbers as the fields of the catalog profile."""
    def us(key: str) -> str:
        return f"{params[key] * 1e6:.3f}us"

    return "\n".join([
        f"  efficiency: {params['efficiency']:.4f}",
        f"  base_latency: {us('base_latency_s')}",
        f"  latency: {us('latency_s')}",
        f"  ll128_efficiency: {params['ll128_efficiency']:.4f}",
        f"  ll128_base_latency: {us('ll128_base_latency_s')}",
        f"  ll128_latency: {us('ll128_latency_s')}",
        f"  ll_efficiency: {params['ll_efficiency']:.4f}",
        f"  ll_base_latency: {us('ll_base_latency_s')}",
        f"  ll_latency: {us('ll_latency_s')}",
        f"  innet_efficiency: {params['innet_efficiency']:.4f}",
        f"  innet_base_latency: {us('innet_base_latency_s')}",
        f"  innet_latency: {us('innet_latency_s')}",
        f"  p2p_efficiency: {params['p2p_efficiency']:.4f}",
        f"  p2p_latency: {us('p2p_latency_s')}",
        "  half_size: 0MB",
        f"  call_floor: {params['call_floor_s'] * 1e6:.2f}us",
    ])


def main() -> None:
    data = fit_data()
    bw = nvlink_bw_bytes_per_s()
    params = fit(data)
    ar, sr = predict(params, data, bw)
    print(f"fitted to {data['ar_s'].size} all-reduce and {data['sr_s'].size} send/recv rows "
          f">= {MIN_BYTES:.0e} B, NVLink {bw / 1e9:.0f} GB/s per direction")
    for name in (*PARAMS, *P2P_PARAMS):
        print(f"  {name:22s} {params[name]:.6g}")
    print(f"  Simple busbw {params['efficiency'] * bw / 1e9:.1f} GB/s; NVLS algbw "
          f"{params['innet_efficiency'] * bw / 1e9:.1f} GB/s; send/recv "
          f"{params['p2p_efficiency'] * bw / 1e9:.1f} GB/s")
    for n in (2, 4, 8):
        m = data["ar_ranks"] == n
        err = np.abs(ar[m] / data["ar_s"][m] - 1.0)
        large = data["ar_nbytes"][m] >= 8e6
        print(f"  all-reduce {n} GPUs: mean |err| {err.mean():.3f}, max {err.max():.3f}; "
              f"1-8 MB within 15% {np.mean(err[~large] <= 0.15):.1%}, "
              f">= 8 MB max {err[large].max():.3f}")
    err = np.abs(sr / data["sr_s"] - 1.0)
    print(f"  send/recv 2 GPUs: mean |err| {err.mean():.3f}, max {err.max():.3f}")
    print("\nYAML (profile nvlink-h100-measured):")
    print(yaml_snippet(params))


if __name__ == "__main__":
    main()
