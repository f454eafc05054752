"""Fit the serving engines' CPU time per iteration to their calibration rows only.

    python benchmarks/calibrate_engines.py          # print the fitted values (engines.yaml)
    python benchmarks/calibrate_engines.py --check  # exit 1 if engines.yaml drifted from the fit

The device model (kernel floors, bandwidth ramp: benchmarks/calibrate.py) prices the GPU side;
what an engine adds per iteration on the host is then fitted on one published configuration
each, the rows benchmarks/accuracy_serving.py marks ``calibration``:

- tensorrt-llm ``iteration_overhead``: NVIDIA NIM 1.8.0 Llama-3.3-70B FP8 on 2xH100, 5000/500,
  concurrency 1, mean inter-token latency 18.6 ms.
- vllm-0.2 ``iteration_overhead`` and ``sequence_overhead``: SplitwiseSim's Llama-2-70B on
  8xH100 at prompt 512, decode 29.7 ms per token at batch 1 and 50.0 ms at batch 64.

A decode step's time is its GPU time plus the CPU time (the engines do not overlap them), so
each fit is linear: Newton steps with a numerical slope converge in two or three rounds.
Every other row of accuracy_serving.py stays a check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REFERENCE = Path(__file__).parent / "reference" / "serving"
NIM_C1_ITL_S = 0.0186          # closed_loop.csv, concurrency 1 (config_verified)
TOLERANCE = 0.02               # --check: shipped values within 2% (or 20 us) of the fit


def _catalog(engine: str, **values):
    from simulator.domain.catalog import shipped_catalog

    cat = shipped_catalog()
    spec = cat.engines.get(engine).model_copy(update=values)
    return cat.with_entries({"engines": [spec]})


def nim_itl(overhead_s: float) -> float:
    """Modelled NIM concurrency-1 inter-token latency with a TensorRT-LLM iteration overhead."""
    from simulator.estimates.replica import build_replica

    cat = _catalog("tensorrt-llm", iteration_overhead=overhead_s)
    r = build_replica("llama3-70b", "h100-sxm", 2, 5000, 500, None, "fp8", cat, kv_precision="fp8",
                      engine="tensorrt-llm")
    return r.run(float(r.device.spec.tdp), 1).tpot_mean_s


def splitwise_measured() -> dict[int, float]:
    d = pd.read_csv(REFERENCE / "vllm_era_latency.csv")
    d = d[d.engine.str.startswith("not stated") & (d.model == "llama2-70b") & (d.prompt_tokens == 512)
          & ~d.gpu.str.contains("power-capped") & d.gpu.str.contains("H100") & (d.tp == 8)]
    d = d.assign(ms=pd.to_numeric(d.decode_ms_per_iteration, errors="coerce"))
    means = d.groupby("batch_size")["ms"].mean()
    return {b: float(means.loc[b]) / 1e3 for b in (1, 64)}


def splitwise_tpot(iteration_s: float, sequence_s: float) -> dict[int, float]:
    """Modelled vLLM 0.2 decode time per token, Llama-2-70B TP8 on H100, prompt 512, batch 1 and 64."""
    from simulator.estimates.replica import build_replica

    cat = _catalog("vllm-0.2", iteration_overhead=iteration_s, sequence_overhead=sequence_s)
    out = {}
    for b in (1, 64):
        r = build_replica("llama2-70b", "h100-sxm", 8, 512, 128, None, "bf16", cat, kv_precision="bf16",
                          engine="vllm-0.2")
        out[b] = r.run(float(r.device.spec.tdp), b, warmup=b, measure=b, stagger_s=0.0).tpot_mean_s
    return out


def fit_trtllm(start: float) -> float:
    x = start
    for _ in range(4):
        f0 = nim_itl(x) - NIM_C1_ITL_S
        if abs(f0) < 1e-6:
            break
        slope = (nim_itl(x + 1e-3) - NIM_C1_ITL_S - f0) / 1e-3
        x = max(x - f0 / slope, 0.0)
    return x


def fit_vllm02(start: tuple[float, float]) -> tuple[float, float]:
    target = splitwise_measured()
    x = np.array(start, float)

    def resid(p):
        t = splitwise_tpot(float(p[0]), float(p[1]))
        return np.array([t[1] - target[1], t[64] - target[64]])

    for _ in range(4):
        r0 = resid(x)
        if np.max(np.abs(r0)) < 1e-6:
            break
        steps = (1e-3, 1e-5)
        jac = np.column_stack([(resid(x + np.eye(2)[i] * steps[i]) - r0) / steps[i] for i in range(2)])
        x = np.maximum(x - np.linalg.solve(jac, r0), 0.0)
    return float(x[0]), float(x[1])


def calibrate() -> dict:
    from simulator.domain.catalog import shipped_catalog

    engines = shipped_catalog().engines
    trt, v02 = engines.get("tensorrt-llm"), engines.get("vllm-0.2")
    it, seq = fit_vllm02((v02.iteration_overhead, v02.sequence_overhead))
    return {"tensorrt-llm": {"iteration_overhead": fit_trtllm(trt.iteration_overhead)},
            "vllm-0.2": {"iteration_overhead": it, "sequence_overhead": seq}}


def main(argv: list[str]) -> int:
    from simulator.domain.catalog import shipped_catalog

    fit = calibrate()
    engines = shipped_catalog().engines
    drifted = False
    for name, values in fit.items():
        shipped = engines.get(name)
        for key, value in values.items():
            have = float(getattr(shipped, key))
            off = abs(have - value) > max(TOLERANCE * value, 20e-6)
            drifted |= off
            print(f"{name} {key}: fitted {value * 1e3:.3f} ms, shipped {have * 1e3:.3f} ms"
                  + ("  (drifted)" if off else ""))
    return 1 if ("--check" in argv and drifted) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
