"""Predicted vs measured for every reference case, with mean and max error per group.

    python benchmarks/accuracy.py

Groups: H100 GEMMs (bf16, fp32) and copies (benchmarks/reference/h100_microbench.json), H100
board power (idle, copy, sustained GEMM at the 700 W limit), single-GPU decode at batch 1 (the
small-kernel floor's calibration), NCCL collectives on an H100 DGX
(h100_dgx_nccl_*.csv), the Megatron-LM paper's Table 1 (Narayanan et al., SC21), Korthikanti et
al. 2022 Table 5 and Figure 1, and at-scale training runs (Llama 3, Megatron-Core, NeMo, MLPerf;
benchmarks/accuracy_scale.py). The model is calibrated on the microbenchmarks and the NCCL
rows; four software stacks on one published run each; everything else is an independent check.
Then the facility targets (benchmarks/accuracy_facility.py): annual PUE, server and IT power,
network capex share and water, against published ranges.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REFERENCE = Path(__file__).parent / "reference"


def _device():
    from simulator.costmodel.device import DeviceModel

    return DeviceModel.from_name("h100-sxm")


def microbench_cases() -> Iterator[dict]:
    """GEMM and copy times as measured per call (dispatch + kernel), and board power."""
    from simulator.costmodel.device import DeviceCol
    from simulator.costmodel.ops import PH_FWD, new_table, put_gemm
    from simulator.costmodel.timeline import ResultCol, gemm_efficiency, play_parts

    data = json.loads((REFERENCE / "h100_microbench.json").read_text())
    device = _device()
    for row in data["gemm"]:
        dtype = "bf16" if row["dtype"] == "bfloat16" else "fp32"
        dv = device.vector(dtype)
        m, n, k = float(row["m"]), float(row["n"]), float(row["k"])
        elem = 2.0 if dtype == "bf16" else 4.0
        compute = 2 * m * n * k / (dv[0] * gemm_efficiency(m, n, k, dv))
        memory = elem * (m * k + k * n + m * n) / dv[DeviceCol.MEM_BW]
        predicted = dv[DeviceCol.HOST_GEMM] + max(compute, memory)
        yield {"group": f"gemm-{dtype}", "case": f"{row['m']}x{row['n']}x{row['k']}",
               "predicted": predicted, "measured": row["seconds"], "unit": "s"}
    dv = device.vector("bf16")
    for row in data["membw"]:
        nbytes = 2 * row["mib"] * 2**20
        yield {"group": "copy", "case": f"{row['mib']} MiB", "unit": "s",
               "predicted": dv[DeviceCol.HOST_OP] + (nbytes + dv[DeviceCol.MEM_HALF]) / dv[DeviceCol.MEM_BW],
               "measured": row["seconds"]}
    for p in data["power"]:
        what = p["what"]
        if what == "idle":
            predicted = dv[DeviceCol.IDLE_W]
        elif what.startswith("copy"):
            predicted = dv[DeviceCol.MEM_W]
        else:
            # A sustained stream of 8192^3 bf16 GEMMs played at the highest clock within TDP.
            ops = new_table(1)
            n = put_gemm(ops, 0, 8192.0, 8192.0, 8192.0, 2.0, PH_FWD, 0.0, 1000.0)
            _, (res,), predicted = play_parts([(ops, n, 1.0)], dv, device.spec.tdp)
            yield {"group": "power", "case": "gemm 8192^3 sustained TFLOP/s", "unit": "TFLOP/s",
                   "predicted": 1000 * 2 * 8192**3 / res[ResultCol.TIME] / 1e12, "measured": p["tflops"]}
        yield {"group": "power", "case": f"{what} board power", "unit": "W",
               "predicted": predicted, "measured": p["power_w_from_energy"]}


def single_gpu_cases() -> Iterator[dict]:
    """One H100 running the bare model (`dcsim estimate decode`, its default ``pytorch`` engine:
    decode in a CUDA graph, no serving engine). The one published single-GPU figure, GPT-3 1.3B
    bf16 decode at batch 1 taking 2.3x its weight-read time at the datasheet bandwidth, is the
    calibration of the small-kernel bandwidth ramp (benchmarks/calibrate.py), so this row shows
    the fit holds; no other single-GPU measurement is in benchmarks/reference/."""
    from benchmarks.calibrate import DECODE_BATCH1_OVER_WEIGHT_READ, DECODE_CONTEXT
    from simulator import api
    from simulator.costmodel.transformer import param_count
    from simulator.domain.catalog import shipped_catalog

    model = shipped_catalog().models.get("gpt3-1.3b")
    step = api.estimate_decode("gpt3-1.3b", "h100-sxm", 1, DECODE_CONTEXT)["step_time_s"]
    read = param_count(model) * 2.0 / _device().spec.hbm_bw
    yield {"group": "single-gpu decode (calibration)", "case": f"gpt3-1.3b bf16 batch 1, context {DECODE_CONTEXT}",
           "unit": "x weight read", "predicted": step / read, "measured": DECODE_BATCH1_OVER_WEIGHT_READ}


def collective_cases() -> Iterator[dict]:
    try:
        from benchmarks.accuracy_collectives import rows
    except ImportError:
        return
    for r in rows():
        where = f"{r['nodes']} node" + ("s" if r["nodes"] > 1 else "")
        yield {"group": f"nccl {r['collective']} {r['ranks']} GPUs, {where}", "case": r["case"], "unit": "s",
               "predicted": r["predicted_s"], "measured": r["measured_s"]}


def megatron_cases() -> Iterator[dict]:
    try:
        from benchmarks.accuracy_megatron import rows
    except ImportError:
        return
    for r in rows():
        yield {"group": "megatron-table1", "case": r["case"], "unit": "TFLOP/s/GPU",
               "predicted": r["predicted"], "measured": r["published"]}


def korthikanti_cases() -> Iterator[dict]:
    from benchmarks.accuracy_korthikanti import memory_rows, step_rows

    for r in step_rows():
        yield {"group": "korthikanti-table5", "case": r["case"], "unit": "s",
               "predicted": r["predicted"], "measured": r["published"]}
    for r in memory_rows():
        yield {"group": "korthikanti-fig1-activations", "case": r["case"], "unit": "GiB",
               "predicted": r["predicted"], "measured": r["published"]}


def scale_cases() -> Iterator[dict]:
    """At-scale training (benchmarks/accuracy_scale.py), the calibration rows left out, as
    throughput: steps per hour (runs per day for time to train)."""
    from benchmarks.accuracy_scale import rows

    for r in rows():
        if r["calibrated"]:
            continue
        ttt = r["id"].endswith(".ttt")
        per = 1440.0 if ttt else 3600.0
        yield {"group": "at-scale training", "case": r["id"], "unit": "runs/day" if ttt else "steps/h",
               "predicted": per / r["predicted"], "measured": per / r["published"]}


def all_cases() -> list[dict]:
    cases = [*microbench_cases(), *single_gpu_cases(), *collective_cases(), *megatron_cases(),
             *korthikanti_cases(), *scale_cases()]
    for c in cases:
        c["error"] = c["predicted"] / c["measured"] - 1.0
    return cases


def summarise(cases: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for c in cases:
        out.setdefault(c["group"], []).append(abs(c["error"]))
    return {g: {"n": len(e), "mean": float(np.mean(e)), "max": float(np.max(e))} for g, e in out.items()}


def main() -> int:
    cases = all_cases()
    width = max(len(c["case"]) for c in cases)
    group = None
    for c in cases:
        if c["group"] != group:
            group = c["group"]
            print(f"\n== {group}")
            print(f"{'case':<{width}}  {'predicted':>12}  {'measured':>12}  {'error':>7}  unit")
        print(f"{c['case']:<{width}}  {c['predicted']:12.5g}  {c['measured']:12.5g}  "
              f"{100 * c['error']:+6.1f}%  {c['unit']}")
    print("\n== summary (absolute relative error)")
    for g, s in summarise(cases).items():
        print(f"{g:<38} n={s['n']:<4} mean {100 * s['mean']:5.1f}%  max {100 * s['max']:5.1f}%")
    from benchmarks.accuracy_facility import main as facility

    facility()
    return 0


if __name__ == "__main__":
    sys.exit(main())
