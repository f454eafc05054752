"""Predicted vs published serving measurements, with mean and max error per group.

    python benchmarks/accuracy_serving.py          # the groups the test checks
    python benchmarks/accuracy_serving.py --all    # also the v0.20.0 table with its TP sweeps, and B200 FP4

Every reference row is in benchmarks/reference/serving/ with its source; each group states the
engine, version, hardware, precision and lengths. Roles:

- calibration (the only rows the engine entries were set from, one configuration each): NVIDIA
  NIM 1.8.0 Llama-3.3-70B FP8 on 2xH100 at concurrency 1, 5000/500 (inter-token latency 18.6 ms:
  engines.yaml tensorrt-llm per-iteration overhead); SplitwiseSim profile of Llama-2-70B on
  8xH100 (vLLM-era engine) at prompt 512, batch 1 and 64 (engines.yaml vllm-0.2 CPU overheads).
- check: everything else. The maximum-throughput tables are TensorRT-LLM's perf-overview pages
  (``trtllm-bench throughput``, all requests queued at once, FP8 weights and KV cache, fixed
  lengths, output tokens per second of the whole TP group). Version 1.0 is the checked table;
  v0.20.0 (``--all``) repeats the check with TP sweeps. The pre-v0.20 revision (CUDA graphs off
  by mistake) and the v0.15/v0.17 TensorRT-engine tables are held out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REFERENCE = Path(__file__).parent / "reference" / "serving"
MODELS = {"8B": "llama3-8b", "70B": "llama3-70b", "405B": "llama3-405b"}
CHECKED_TABLE = "1.0"
SWEEP_TABLE = "0.20.0"


def _replica(model: str, accelerator: str, tp: int, prompt: int, output: int, engine: str = "tensorrt-llm",
             weights: str = "fp8", kv: str = "fp8", **settings):
    from simulator.estimates.replica import build_replica

    return build_replica(model, accelerator, tp, prompt, output, None, weights, kv_precision=kv, engine=engine,
                         **settings)


def max_throughput_cases(version: str) -> Iterator[dict]:
    """TensorRT-LLM perf-overview maximum throughput, Llama-3 8B/70B/405B FP8 on H100/H200."""
    d = pd.read_csv(REFERENCE / "trtllm_max_throughput.csv")
    d = d[(d.engine_version == version) & d.model.str.contains("Llama|LLaMA v3", regex=True)
          & d.gpu.str.contains("H100|H200") & d.weights_precision.str.startswith("fp8") & (d.pp == 1)
          & (d.per == "tp_group_total")]
    for _, row in d.iterrows():
        size = pd.Series([row.model]).str.extract(r"(8B|70B|405B)")[0].iloc[0]
        if not isinstance(size, str) or "Llama 4" in row.model:
            continue
        accel = "h100-sxm" if "H100" in row.gpu else "h200-sxm"
        replica = _replica(MODELS[size], accel, int(row.tp), int(row.isl), int(row.osl))
        point = replica.saturated(float(replica.device.spec.tdp))
        yield {"group": f"trtllm-{version}-max-throughput", "role": "check",
               "case": f"{size} {accel} TP{row.tp} {row.isl}/{row.osl}", "unit": "output tok/s",
               "predicted": point.output_tokens_per_s, "measured": float(row.output_tokens_per_s),
               "source": f"TensorRT-LLM {version} perf-overview, FP8 weights and KV cache, trtllm-bench throughput"}


def fp4_cases() -> Iterator[dict]:
    """TensorRT-LLM 1.0 perf-overview on B200 with NVFP4 weights (KV cache taken as fp8; not stated):
    no B200 measurement calibrates the device (its curves are the H100's on B200 peaks)."""
    d = pd.read_csv(REFERENCE / "trtllm_max_throughput.csv")
    d = d[(d.engine_version == CHECKED_TABLE) & d.gpu.str.startswith("B200") & d.model.str.contains("Llama 3")
          & d.weights_precision.str.startswith("fp4") & (d.pp == 1)]
    for _, row in d.iterrows():
        size = pd.Series([row.model]).str.extract(r"(8B|70B|405B)")[0].iloc[0]
        replica = _replica(MODELS[size], "b200", int(row.tp), int(row.isl), int(row.osl), weights="fp4")
        point = replica.saturated(float(replica.device.spec.tdp))
        yield {"group": "trtllm-1.0-b200-fp4", "role": "check", "case": f"{size} b200 TP{row.tp} {row.isl}/{row.osl}",
               "unit": "output tok/s", "predicted": point.output_tokens_per_s,
               "measured": float(row.output_tokens_per_s),
               "source": "TensorRT-LLM 1.0 perf-overview, B200, NVFP4 weights"}


def closed_loop_cases() -> Iterator[dict]:
    """NVIDIA NIM 1.8.0 (TensorRT-LLM backend assumed), Llama-3.3-70B FP8 TP2 on 2xH100, 5000/500,
    concurrency 1-100: mean TTFT, mean inter-token latency, output tokens/s."""
    d = pd.read_csv(REFERENCE / "closed_loop.csv")
    d = d[(d.config_verified == "yes") & (d.isl == 5000) & (d.osl == 500) & (d.concurrency <= 100)]
    replica = _replica("llama3-70b", "h100-sxm", 2, 5000, 500)
    cap = float(replica.device.spec.tdp)
    for _, row in d.iterrows():
        p = replica.run(cap, int(row.concurrency))
        for metric, predicted, measured, unit in (
                ("ttft", p.ttft_mean_s, row.ttft_mean_s, "s"), ("itl", p.tpot_mean_s, row.itl_mean_s, "s"),
                ("throughput", p.output_tokens_per_s, row.output_tokens_per_s, "output tok/s")):
            role = "calibration" if row.concurrency == 1 and metric == "itl" else "check"
            yield {"group": "nim-closed-loop", "role": role, "case": f"c={row.concurrency} {metric}",
                   "unit": unit, "predicted": predicted, "measured": float(measured),
                   "source": "NVIDIA NIM 1.8.0 benchmarking page, Llama-3.3-70B-Instruct FP8, 2xH100 TP2, 5000/500"}


def batch1_cases() -> Iterator[dict]:
    """TensorRT-LLM batch-1 latency: v0.16 tuning guide (calibration) and v0.5 first-token latency."""
    r = _replica("llama3-70b", "h100-sxm", 4, 2048, 2048, weights="bf16", kv="bf16")
    p = r.alone(float(r.device.spec.tdp))
    src = "TensorRT-LLM v0.16 performance-tuning guide, Llama-3.3-70B BF16, 4xH100, 2048/2048, batch 1"
    yield {"group": "trtllm-batch1", "role": "check", "case": "70B TP4 ITL", "unit": "s",
           "predicted": p.tpot_mean_s, "measured": 0.0146475, "source": src}
    yield {"group": "trtllm-batch1", "role": "check", "case": "70B TP4 TTFT", "unit": "s",
           "predicted": p.ttft_mean_s, "measured": 0.1457607, "source": src}
    for model, tp, prompt, measured in (("llama2-7b", 1, 128, 0.007), ("llama2-7b", 1, 2048, 0.036),
                                        ("llama2-70b", 4, 128, 0.026), ("llama2-70b", 4, 2048, 0.109)):
        r = _replica(model, "h100-sxm", tp, prompt, 1, kv="bf16")
        yield {"group": "trtllm-v0.5-ttft", "role": "check", "case": f"{model} TP{tp} {prompt} tokens",
               "unit": "s", "predicted": r.alone(float(r.device.spec.tdp)).ttft_mean_s, "measured": measured,
               "source": "TensorRT-LLM v0.5 (v0.6.1 performance.md) first-token latency, FP8, H100, batch 1"}


def splitwise_cases() -> Iterator[dict]:
    """SplitwiseSim profile (ISCA'24 characterisation, vLLM-era engine, 16-bit): Llama-2-70B decode
    time per token at prompt 512, batch 1-64, on DGX-H100 and DGX-A100, TP 2/4/8."""
    d = pd.read_csv(REFERENCE / "vllm_era_latency.csv")
    d = d[d.engine.str.startswith("not stated") & (d.model == "llama2-70b") & (d.prompt_tokens == 512)
          & ~d.gpu.str.contains("power-capped")]
    d = d.assign(decode_ms_per_iteration=pd.to_numeric(d.decode_ms_per_iteration, errors="coerce"))
    d = d.groupby(["gpu", "tp", "batch_size"], as_index=False)["decode_ms_per_iteration"].mean()
    for _, row in d.iterrows():
        accel = "h100-sxm" if "H100" in row.gpu else "a100-sxm-80gb"
        b = int(row.batch_size)
        r = _replica("llama2-70b", accel, int(row.tp), 512, 128, engine="vllm-0.2", weights="bf16", kv="bf16")
        p = r.run(float(r.device.spec.tdp), b, warmup=b, measure=b, stagger_s=0.0)
        role = "calibration" if (accel == "h100-sxm" and row.tp == 8 and b in (1, 64)) else "check"
        yield {"group": f"splitwise-vllm-{accel.split('-', maxsplit=1)[0]}", "role": role,
               "case": f"TP{row.tp} batch {b}", "unit": "s", "predicted": p.tpot_mean_s,
               "measured": float(row.decode_ms_per_iteration) / 1e3,
               "source": "Mutinifni/splitwise-sim data/perf_model.csv (means of the repeats), Llama-2-70B, prompt 512"}


def all_cases(full: bool = False) -> Iterator[dict]:
    yield from max_throughput_cases(CHECKED_TABLE)
    if full:
        yield from max_throughput_cases(SWEEP_TABLE)
        yield from fp4_cases()
    yield from closed_loop_cases()
    yield from batch1_cases()
    yield from splitwise_cases()


def summarise(cases: list[dict]) -> pd.DataFrame:
    """Mean and max absolute relative error per group (check rows), and the share within 25%."""
    frame = pd.DataFrame(cases)
    frame["error"] = frame.predicted / frame.measured - 1.0
    rows = []
    for (group, role), g in frame.groupby(["group", "role"], sort=False):
        err = g.error.abs()
        rows.append({"group": group, "role": role, "cases": len(g), "mean_error": err.mean(),
                     "max_error": err.max(), "within_25pct": float(np.mean(err <= 0.25))})
    return pd.DataFrame(rows)


def main() -> None:
    cases = list(all_cases(full="--all" in sys.argv))
    pd.set_option("display.width", 200)
    frame = pd.DataFrame(cases)
    frame["error"] = (frame.predicted / frame.measured - 1.0).map(lambda e: f"{100 * e:+.1f}%")
    print(frame[["group", "role", "case", "unit", "predicted", "measured", "error"]].to_string(index=False))
    print()
    summary = summarise(cases)
    for col in ("mean_error", "max_error", "within_25pct"):
        summary[col] = summary[col].map(lambda v: f"{100 * v:.1f}%")
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
