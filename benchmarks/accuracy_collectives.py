"""Accuracy of the collective model against NCCL measurements on H100 DGX nodes.

Every all-reduce row (2, 4, 8 GPUs in one node) and every send/recv row (two GPUs in one node,
or one GPU in each of two nodes) of benchmarks/reference/ from 1 MB (SI) up, predicted with
the shipped profiles (simulator/scenario/catalog/collectives.yaml) on a DGX H100 topology
from the catalog: 8 GPUs at 450 GB/s NVLink per direction, one 400 Gb/s NIC per GPU.

The NVLink profile was fitted to these same intra-node rows (benchmarks/calibrate_collectives.py),
so for them this is a goodness-of-fit; the two-node send/recv rows were not fitted to (the
network profile holds public numbers) and are the out-of-sample check.

Run: ``.venv/bin/python benchmarks/accuracy_collectives.py`` (``--summary`` skips the rows).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.calibrate_collectives import (
    ALL_REDUCE_CSV,
    MIN_BYTES,
    SEND_RECV_CSV,
    load_measurements,
)
from simulator.costmodel import collectives as coll
from simulator.scenario.catalog import shipped_catalog

TARGET = 0.15  # all-reduce rows from 1 MB up should be within 15%
LARGE_BYTES = 8e6  # above the launch-floor region: reported separately
NODE = "dgx-h100"


def topology() -> np.ndarray:
    """Two tiers for the measured machine: NVLink domain of 8, then one NIC per GPU."""
    catalog = shipped_catalog()
    node = catalog.nodes.get(NODE)
    accel = catalog.accelerators.get(node.accelerator)
    nic_per_gpu = node.nic_bw * node.nics / node.accelerators_per_node
    return coll.make_tiers(accel.scaleup.bw, None, node.accelerators_per_node, nic_per_gpu, None)


def _rows_for(collective: str, data: dict[str, np.ndarray], tiers: np.ndarray) -> list[dict]:
    """Predicted vs measured for every row of at least MIN_BYTES."""
    rows = []
    keep = data["nbytes"] >= MIN_BYTES
    for nbytes, ranks, per_node, seconds in zip(data["nbytes"][keep], data["ranks"][keep],
                                                data["devices_per_node"][keep],
                                                data["seconds"][keep], strict=True):
        nodes = int(ranks // per_node)
        group = np.array([float(per_node), float(nodes)])
        predicted = float(coll.times(collective, nbytes, group, tiers)[0])
        rows.append({
            "case": f"{collective} {int(ranks)} GPUs on {nodes} node(s), {int(nbytes)} B",
            "collective": collective, "ranks": int(ranks), "nodes": nodes, "nbytes": float(nbytes),
            "predicted_s": predicted, "measured_s": float(seconds),
            "error": predicted / float(seconds) - 1.0,
        })
    return rows


def rows() -> list[dict]:
    """Every all-reduce and send/recv row from 1 MB up: case, predicted_s, measured_s, error.

    ``error`` is the signed relative error, predicted / measured - 1.
    """
    tiers = topology()
    return (_rows_for("all_reduce", load_measurements(ALL_REDUCE_CSV, "all_reduce"), tiers)
            + _rows_for("send_recv", load_measurements(SEND_RECV_CSV, "send_recv"), tiers))


def summary(table: list[dict]) -> list[dict]:
    """Mean and max |error|, share within TARGET, max |error| from LARGE_BYTES up, per case."""
    out = []
    keys = sorted({(r["collective"], r["ranks"], r["nodes"]) for r in table})
    for collective, ranks, nodes in keys:
        mine = [r for r in table
                if (r["collective"], r["ranks"], r["nodes"]) == (collective, ranks, nodes)]
        err = np.array([abs(r["error"]) for r in mine])
        large = np.array([r["nbytes"] >= LARGE_BYTES for r in mine])
        out.append({"collective": collective, "ranks": ranks, "nodes": nodes, "rows": err.size,
                    "mean_abs_error": float(err.mean()), "max_abs_error": float(err.max()),
                    "within_target": float(np.mean(err <= TARGET)),
                    "max_abs_error_large": float(err[large].max())})
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    table = rows()
    if "--summary" not in argv:
        print(f"{'case':55s} {'predicted':>12s} {'measured':>12s} {'error':>8s}")
        for r in table:
            predicted_us, measured_us = r["predicted_s"] * 1e6, r["measured_s"] * 1e6
            err = r["error"]
            print(f"{r['case']:55s} {predicted_us:10.1f}us {measured_us:10.1f}us {err:+8.3f}")
        print()
    print(f"{'collective':12s} {'GPUs':>4s} {'nodes':>5s} {'rows':>5s} {'mean|err|':>9s} "
          f"{'max|err|':>9s} {'<=15%':>7s} {'max|err| >=8MB':>15s}")
    for s in summary(table):
        print(f"{s['collective']:12s} {s['ranks']:4d} {s['nodes']:5d} {s['rows']:5d} "
              f"{s['mean_abs_error']:9.3f} {s['max_abs_error']:9.3f} {s['within_target']:7.1%} "
              f"{s['max_abs_error_large']:15.3f}")


if __name__ == "__main__":
    main()
