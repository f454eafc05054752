"""Accuracy of the collective model against NCCL measurements on H100 DGX nodes.

Every all-reduce row (2, 4, 8 GPUs in one node) and every send/recv row (two GPUs in one node,
or one GPU in each of two nodes) of benchmarks/reference/ from 1 MB (SI) up, predicted with
the shipped profiles (simulator/domain/catalog/collectives.yaml) on a DGX H100 topology
from the catalog: 8 GPUs at 450 GB/s NVLink per direction, one 400 Gb/s NIC per GPU.

The NVLink profile was fitted to these same intra-node rows (benchmarks/calibrate_collectives.py),
so for them this is a goodness-of-fit; the two-node send/recv rows were not fitted to (the
network profile holds public numbers) and are the out-of-sample check.

Besides the per-case summary it reports each case by size band (1-8 MB, from 8 MB up): rows,
mean and max |error| and how many rows lie within 15%; and how much the measurements
themselves jitter, which bounds what any smooth model can reach: the share of rows whose
measured time differs by more than 30% from the median of the 5 rows nearest in size, and the
share whose 3 runs spread (max - min) by more than 30% of their median.

Run: ``.venv/bin/python benchmarks/accuracy_collectives.py`` (``--summary`` skips the rows).
"""

from __future__ import annotations

import csv
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
from simulator.costmodel import collective_tiers as ct
from simulator.domain.catalog import shipped_catalog

TARGET = 0.15  # all-reduce rows from 1 MB up should be within 15%
LARGE_BYTES = 8e6  # above the launch-floor region: reported separately
BANDS = (("1-8 MB", MIN_BYTES, LARGE_BYTES), (">=8 MB", LARGE_BYTES, np.inf))
JITTER = 0.30  # a row jitters when it is this far from the median of its neighbours
NEIGHBOURS = 5
NODE = "dgx-h100"


def topology() -> np.ndarray:
    """Two tiers for the measured machine: NVLink domain of 8, then one NIC per GPU."""
    catalog = shipped_catalog()
    node = catalog.nodes.get(NODE)
    accel = catalog.accelerators.get(node.accelerator)
    nic_per_gpu = node.nic_bw * node.nics / node.accelerators_per_node
    return ct.make_tiers(accel.scaleup.bw, None, node.accelerators_per_node, nic_per_gpu, None)


def _run_spread(path: Path, collective: str) -> np.ndarray:
    """(max - min) / median of the 3 runs behind every row of a reference CSV."""
    with open(path, newline="", encoding="utf-8") as fh:
        return np.array([(float(r[f"time_stats.{collective}.max"])
                          - float(r[f"time_stats.{collective}.min"]))
                         / float(r[f"time_stats.{collective}.median"])
                         for r in csv.DictReader(fh)])


def _rows_for(collective: str, data: dict[str, np.ndarray], tiers: np.ndarray) -> list[dict]:
    """Predicted vs measured for every row of at least MIN_BYTES."""
    rows = []
    keep = data["nbytes"] >= MIN_BYTES
    for nbytes, ranks, per_node, seconds, spread in zip(
            data["nbytes"][keep], data["ranks"][keep], data["devices_per_node"][keep],
            data["seconds"][keep], data["spread"][keep], strict=True):
        nodes = int(ranks // per_node)
        group = np.array([float(per_node), float(nodes)])
        predicted = float(ct.times(collective, nbytes, group, tiers)[0])
        rows.append({
            "case": f"{collective} {int(ranks)} GPUs on {nodes} node(s), {int(nbytes)} B",
            "collective": collective, "ranks": int(ranks), "nodes": nodes, "nbytes": float(nbytes),
            "predicted_s": predicted, "measured_s": float(seconds),
            "error": predicted / float(seconds) - 1.0, "run_spread": float(spread),
        })
    return rows


def rows() -> list[dict]:
    """Every all-reduce and send/recv row from 1 MB up: case, predicted_s, measured_s, error.

    ``error`` is the signed relative error, predicted / measured - 1; ``run_spread`` is
    (max - min) / median of the measurement's 3 runs.
    """
    tiers = topology()
    out = []
    for collective, path in (("all_reduce", ALL_REDUCE_CSV), ("send_recv", SEND_RECV_CSV)):
        data = load_measurements(path, collective)
        data["spread"] = _run_spread(path, collective)
        out += _rows_for(collective, data, tiers)
    return out


def _cases(table: list[dict]) -> list[tuple[tuple[str, int, int], list[dict]]]:
    """Rows grouped by (collective, GPUs, nodes), each group sorted by size."""
    keys = sorted({(r["collective"], r["ranks"], r["nodes"]) for r in table})
    return [(key, sorted((r for r in table
                          if (r["collective"], r["ranks"], r["nodes"]) == key),
                         key=lambda r: r["nbytes"]))
            for key in keys]


def neighbour_jitter(measured: np.ndarray, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """|measured / median of the ``neighbours`` rows nearest in size - 1| for rows sorted by size.

    The nearest rows are those closest in position (sizes are near evenly spaced within a
    band); a row at either end takes its neighbours from one side.
    """
    n = measured.shape[0]
    out = np.empty(n)
    for i in range(n):
        order = np.argsort(np.abs(np.arange(n) - i), kind="stable")
        near = order[1:neighbours + 1]
        out[i] = abs(measured[i] / np.median(measured[near]) - 1.0)
    return out


def bands(table: list[dict]) -> list[dict]:
    """Per case and size band (BANDS): rows, mean and max |error|, rows within TARGET, and
    the measurements' own jitter (share of rows more than JITTER from the median of their
    NEIGHBOURS nearest rows; share whose runs spread by more than JITTER)."""
    out = []
    for (collective, ranks, nodes), mine in _cases(table):
        nbytes = np.array([r["nbytes"] for r in mine])
        err = np.abs([r["error"] for r in mine])
        jitter = neighbour_jitter(np.array([r["measured_s"] for r in mine]))
        spread = np.array([r["run_spread"] for r in mine])
        for band, lo, hi in BANDS:
            k = (nbytes >= lo) & (nbytes < hi)
            if not k.any():
                continue
            out.append({"collective": collective, "ranks": ranks, "nodes": nodes, "band": band,
                        "rows": int(k.sum()), "mean_abs_error": float(err[k].mean()),
                        "max_abs_error": float(err[k].max()),
                        "within_target": int(np.sum(err[k] <= TARGET)),
                        "jittery": float(np.mean(jitter[k] > JITTER)),
                        "spread": float(np.mean(spread[k] > JITTER))})
    return out


def summary(table: list[dict]) -> list[dict]:
    """Mean and max |error|, share within TARGET, max |error| from LARGE_BYTES up, per case."""
    out = []
    for (collective, ranks, nodes), mine in _cases(table):
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
    print(f"\nBy size band; 'jittery': measured > {JITTER:.0%} from the median of the "
          f"{NEIGHBOURS} nearest sizes; 'runs spread': (max - min) of the 3 runs > "
          f"{JITTER:.0%} of their median")
    print(f"{'collective':12s} {'GPUs':>4s} {'nodes':>5s} {'band':>7s} {'rows':>5s} "
          f"{'mean|err|':>9s} {'max|err|':>9s} {'<=15%':>11s} {'jittery':>8s} "
          f"{'runs spread':>11s}")
    for b in bands(table):
        within = f"{b['within_target']}/{b['rows']}"
        print(f"{b['collective']:12s} {b['ranks']:4d} {b['nodes']:5d} {b['band']:>7s} "
              f"{b['rows']:5d} {b['mean_abs_error']:9.3f} {b['max_abs_error']:9.3f} "
              f"{within:>11s} {b['jittery']:8.1%} {b['spread']:11.1%}")


if __name__ == "__main__":
    main()
