"""Variants and their results -> one tidy table (axis values, then headline numbers)."""

from __future__ import annotations

import pandas as pd

from simulator.report.compare import TRACKED

EXTRA = ("peak_envelope_fraction", "capped_fraction", "jobs_total")


def sweep_frame(variants, results: list[dict]) -> pd.DataFrame:
    rows = []
    for variant, result in zip(variants, results, strict=True):
        row: dict = {"variant": variant.index}
        row.update({path: str(value) for path, value in variant.values.items()})
        for metric, (where, _) in TRACKED.items():
            row[metric] = result[where].get(metric)
        for metric in EXTRA:
            row[metric] = result["summary"].get(metric)
        rows.append(row)
    return pd.DataFrame(rows)
