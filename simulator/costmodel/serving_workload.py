"""Request lengths for a serving replica: fixed, lognormal around a mean (seeded draws, so every
run sees the same requests), or a CSV of (prompt, output) pairs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simulator.costmodel.serving_replica import Workload
from simulator.errors import InputError, Problem

LENGTH_SAMPLES = 4096            # requests drawn from a length distribution (cycled by the simulation)
LENGTH_SEED = 20240101


def lognormal(mean: float, sigma: float, rng: np.random.Generator, n: int, top: float) -> np.ndarray:
    """``n`` lengths from a lognormal with the given mean (not median) and log-space sigma,
    rounded, between 1 and ``top``."""
    if sigma <= 0:
        return np.full(n, float(round(mean)))
    mu = np.log(mean) - 0.5 * sigma * sigma
    return np.clip(np.round(rng.lognormal(mu, sigma, n)), 1.0, top)


def read_lengths_csv(path: Path, where: str) -> Workload:
    """A CSV of (prompt, output) token counts, with or without a header row."""
    problems: list[Problem] = []
    pairs: list[tuple[float, float]] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.reader(f)):
                if not row or not "".join(row).strip():
                    continue
                try:
                    p, o = float(row[0]), float(row[1])
                except (ValueError, IndexError):
                    if i == 0:
                        continue                   # header
                    problems.append(Problem(where, f"row {i + 1} is not two token counts", ",".join(row)))
                    break
                if not (1 <= p <= 10_000_000 and 1 <= o <= 10_000_000):
                    problems.append(Problem(where, f"row {i + 1}: token counts must be 1 to 10,000,000",
                                            ",".join(row)))
                    break
                pairs.append((round(p), round(o)))
    except OSError as err:
        problems.append(Problem(where, f"cannot read the lengths file: {err.strerror or err}", str(path)))
    except UnicodeDecodeError:
        problems.append(Problem(where, "the lengths file is not UTF-8 text", str(path)))
    if not problems and not pairs:
        problems.append(Problem(where, "the lengths file has no (prompt, output) rows", str(path)))
    if problems:
        raise InputError(problems)
    arr = np.array(pairs, dtype=float)
    return Workload(arr[:, 0].copy(), arr[:, 1].copy())


def workload_for(prompt: float, output: float, prompt_sigma: float = 0.0, output_sigma: float = 0.0,
                 max_context: float = 10_000_000.0) -> Workload:
    """Fixed lengths, or lognormal ones around the given means (seeded, so every run sees the same)."""
    if prompt_sigma <= 0 and output_sigma <= 0:
        return Workload.fixed(round(prompt), round(output))
    rng = np.random.default_rng(LENGTH_SEED)
    return Workload(lognormal(prompt, prompt_sigma, rng, LENGTH_SAMPLES, max_context),
                    lognormal(output, output_sigma, rng, LENGTH_SAMPLES, max_context))
