"""Fit each software stack's GEMM efficiency to the one published run it names.

    python benchmarks/calibrate_stacks.py

A stack in simulator/domain/catalog/stacks.yaml with ``calibrated_on: <row id>`` gets the
``gemm_efficiency`` (factor on the device's microbenchmark-fitted GEMM efficiency) at which
the predicted step time of that row (benchmarks/accuracy_scale.py) equals the published one.
Every other row of the stack stays an independent check. Stacks that borrow another's value
say so in their source; nothing is fitted to a checked row.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fit(stack_name: str, case_id: str, lo: float = 0.4, hi: float = 1.5) -> float:
    """Bisection on gemm_efficiency: predicted step time falls as the efficiency rises."""
    from benchmarks.accuracy_scale import CASES, predict
    from simulator.domain.catalog import shipped_catalog

    stack = shipped_catalog().stacks.get(stack_name)
    case = next(c for c in CASES if c.id == case_id)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        r = predict(case, stack.model_copy(update={"gemm_efficiency": mid}))
        if r["predicted"] > r["published"]:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def main() -> int:
    from simulator.domain.catalog import shipped_catalog

    stacks = shipped_catalog().stacks.entries
    for stack in stacks:
        if stack.calibrated_on:
            value = fit(stack.name, stack.calibrated_on)
            print(f"{stack.name:<20} gemm_efficiency: {value:.3f}   (fitted to {stack.calibrated_on}; "
                  f"catalog has {stack.gemm_efficiency:.3f})")
    borrowed = {s.name: s.gemm_efficiency for s in stacks if s.name in ("default", "llama3-2024")}
    print(f"borrowing megatron-core-2024's value: {borrowed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
