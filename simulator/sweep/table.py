"""Variants and their results -> one tidy table (axis values, then headline numbers)."""

from __future__ import annotations

import pandas as pd

from simulator.report.metrics import METRICS


def sweep_frame(variants, results: list[dict]) -> pd.DataFrame:
    rows = []
    for variant, result in zip(variants, results, strict=True):
        row: dict = {"variant": variant.index}
        row.update({path: str(value) for path, value in variant.values.items()})
        for spec in METRICS:
            row[spec.name] = spec.value(result["summary"], result["costs"])
        rows.append(row)
    return pd.DataFrame(rows)
