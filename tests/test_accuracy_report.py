"""benchmarks/accuracy.py (`make accuracy`) runs, covers every reference group, and its
microbenchmark rows stay within the errors the README quotes."""

from __future__ import annotations

import numpy as np

from benchmarks.accuracy import all_cases


def test_accuracy_report_covers_every_reference_within_quoted_errors():
    cases = list(all_cases())
    by_group: dict[str, list[float]] = {}
    for c in cases:
        by_group.setdefault(c["group"], []).append(abs(c["predicted"] / c["measured"] - 1.0))
    assert {"gemm-bf16", "gemm-fp32", "copy", "power", "single-gpu decode (calibration)", "megatron-table1",
            "korthikanti-table5", "korthikanti-fig1-activations", "at-scale training"} <= set(by_group)
    assert sum(1 for g in by_group if g.startswith("nccl")) == 5
    limits = {"gemm-bf16": (0.06, 0.13), "gemm-fp32": (0.03, 0.12), "copy": (0.002, 0.004),
              "single-gpu decode (calibration)": (0.005, 0.005),
              "power": (0.03, 0.10), "megatron-table1": (0.05, 0.10), "korthikanti-table5": (0.04, 0.09),
              "korthikanti-fig1-activations": (0.01, 0.01), "at-scale training": (0.05, 0.10)}
    for group, (mean, worst) in limits.items():
        errors = np.array(by_group[group])
        assert errors.mean() <= mean and errors.max() <= worst, (group, errors.mean(), errors.max())
