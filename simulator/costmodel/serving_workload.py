"""Request lengths for a serving replica: fixed, lognormal around a mean (seeded draws, so every
run sees the same requests), or a CSV of (prompt, output) pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.costmodel.serving_replica import Workload
from simulator.domain.csvfile import load_csv_pairs
from simulator.errors import InputError, Problem

LENGTH_SAMPLES = 4096            # requests drawn from a length distribution (cycled by the simulation)
LENGTH_SEED = 20240101
MAX_TOKENS = 10_000_000        # a request's prompt or output, in tokens (far above any context window)


def lognormal(mean: float, sigma: float, rng: np.random.Generator, n: int, top: float) -> np.ndarray:
    """``n`` lengths from a lognormal with the given mean (not median) and log-space sigma,
    rounded, between 1 and ``top``."""
    if sigma <= 0:
        return np.full(n, float(round(mean)))
    mu = np.log(mean) - 0.5 * sigma * sigma
    return np.clip(np.round(rng.lognormal(mu, sigma, n)), 1.0, top)


def read_lengths_csv(path: Path, where: str) -> Workload:
    """A CSV of (prompt, output) token counts, with or without a header row, read through the
    bounded CSV reader (domain/csvfile.py): every problem by file line and column, under ``where``."""
    try:
        arr = load_csv_pairs(path, ("prompt", "output"), (1.0, MAX_TOKENS))
    except InputError as err:
        raise InputError([Problem(where, f"{p.path}: {p.message}" if p.path else p.message)
                          for p in err.problems]) from None
    return Workload(arr[:, 0].copy(), arr[:, 1].copy())


def workload_for(prompt: float, output: float, prompt_sigma: float = 0.0, output_sigma: float = 0.0,
                 max_context: float = 10_000_000.0) -> Workload:
    """Fixed lengths, or lognormal ones around the given means (seeded, so every run sees the same)."""
    if prompt_sigma <= 0 and output_sigma <= 0:
        return Workload.fixed(round(prompt), round(output))
    rng = np.random.default_rng(LENGTH_SEED)
    return Workload(lognormal(prompt, prompt_sigma, rng, LENGTH_SAMPLES, max_context),
                    lognormal(output, output_sigma, rng, LENGTH_SAMPLES, max_context))
