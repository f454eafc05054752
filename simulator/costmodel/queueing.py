"""Queueing closed forms for serving: the fluid queue, wait tails and percentiles the engine's
services use (costmodel/serving_plan.py gives them their load curves), and the closed-form
operating point of a continuously batched replica with unchunked prefills (a hand check of the
iteration-level simulation in costmodel/serving_sim.py, and the model it replaced).

A replica interleaves prefills (one prompt each, ``t_pre`` seconds, stalling decode) with decode
iterations over its batch of in-flight requests (``t_dec(b)`` seconds each, every request gets one
token). At a per-replica request rate ``lam`` the prefills take a share ``lam * t_pre`` of the
time, so one token of every request takes TPOT = t_dec(b) / (1 - lam * t_pre), and by Little's law
the batch holds b = lam * output_tokens * TPOT requests. The replica saturates when b reaches
``max_batch``: capacity = B / (output_tokens * t_dec(B) + B * t_pre) requests per second.

Waiting for the prefill engine is an M/D/1 queue (Pollaczek-Khinchine): W = rho * t_pre /
(2 * (1 - rho)), rho = lam * t_pre; its tail is taken as exponential, P(wait > t) = rho *
exp(-t * rho / W) (exact for M/M/1, the usual approximation otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OperatingPoint:
    """A replica's steady state at one request rate."""

    rate_per_s: float          # requests per second this replica serves
    batch: float               # mean requests in flight (decode batch)
    tpot_s: float              # time per output token
    prefill_share: float       # share of time spent in prefill
    prefill_wait_s: float      # mean wait for the prefill engine


def capacity_per_s(t_pre_s: float, t_dec_max_s: float, output_tokens: int, max_batch: int) -> float:
    """Requests per second one replica serves with its batch full."""
    return max_batch / (output_tokens * t_dec_max_s + max_batch * t_pre_s)


def batch_fixed_point(c: float, batches, decode_s) -> float:
    """The batch b solving b = c * t_dec(max(b, 1)) with t_dec linear between the tabulated
    ``batches`` (ascending, from 1) and constant below 1; capped at the last batch."""
    t1 = float(decode_s[0])
    if c * t1 <= 1.0:
        return c * t1
    for k in range(len(batches) - 1):
        b0, b1 = float(batches[k]), float(batches[k + 1])
        slope = (float(decode_s[k + 1]) - float(decode_s[k])) / (b1 - b0)
        # On this segment t_dec(b) = t0 + slope * (b - b0): b = c * t_dec(b) is linear in b.
        t0 = float(decode_s[k])
        denom = 1.0 - c * slope
        if denom > 0:                      # else b - c * t_dec(b) falls along the segment: no root
            b = c * (t0 - slope * b0) / denom
            if b <= b1:
                return max(b, b0)
    return float(batches[-1])


def operating_point(rate_per_s: float, t_pre_s: float, batches, decode_s, output_tokens: int) -> OperatingPoint:
    """The steady state at ``rate_per_s``: b = rate * output_tokens * t_dec(b) / (1 - rate * t_pre)
    (``batches``/``decode_s`` tabulate t_dec); the rate must not exceed the capacity."""
    if rate_per_s <= 0:
        return OperatingPoint(0.0, 0.0, float(decode_s[0]), 0.0, 0.0)
    rho = rate_per_s * t_pre_s
    if rho >= 1.0:
        raise ValueError("request rate above the prefill capacity")
    b = batch_fixed_point(rate_per_s * output_tokens / (1.0 - rho), batches, decode_s)
    tpot = float(np.interp(max(b, 1.0), batches, decode_s)) / (1.0 - rho)
    wait = rho * t_pre_s / (2.0 * (1.0 - rho))
    return OperatingPoint(rate_per_s, b, tpot, rho, wait)


def share_within(limit_s: float, mean_wait_s: float, p_wait: float) -> float:
    """Share of requests whose wait is at most ``limit_s`` when a share ``p_wait`` waits at all,
    exponentially with conditional mean ``mean_wait_s / p_wait``."""
    if limit_s < 0:
        return 0.0
    if mean_wait_s <= 0 or p_wait <= 0:
        return 1.0
    return 1.0 - p_wait * math.exp(-limit_s * p_wait / mean_wait_s)


def wait_exceedance(limits_s: np.ndarray, mean_wait_s: float, p_wait: float) -> np.ndarray:
    """P(wait > limit) for each limit: 1 - share_within, vectorised (1 below zero)."""
    if mean_wait_s <= 0 or p_wait <= 0:
        return (limits_s < 0).astype(float)
    tail = p_wait * np.exp(-np.maximum(limits_s, 0.0) * p_wait / mean_wait_s)
    return np.where(limits_s < 0, 1.0, tail)


def quantile_from_exceedance(grid_s: np.ndarray, exceed: np.ndarray, total: float, q: float) -> float:
    """The q-quantile of a distribution given as counts above each grid point (ascending grid),
    interpolated in log time between grid points; NaN without mass."""
    if total <= 0:
        return math.nan
    above = exceed / total
    target = 1.0 - q
    k = int(np.argmax(above <= target)) if np.any(above <= target) else len(grid_s)
    if k == 0:
        return float(grid_s[0])
    if k == len(grid_s):
        return math.inf
    a, b = above[k - 1], above[k]
    w = (a - target) / (a - b) if a > b else 1.0
    return float(np.exp(np.log(grid_s[k - 1]) + w * (np.log(grid_s[k]) - np.log(grid_s[k - 1]))))


@dataclass(frozen=True)
class FluidStep:
    """What a fluid queue does over one segment of constant arrival and service rates."""

    served: float
    backlog_end: float
    mean_backlog: float


def fluid_step(backlog: float, arrival_per_s: float, capacity_per_s: float, dt_s: float) -> FluidStep:
    """Serve at capacity while there is a backlog or arrivals exceed capacity, else at the
    arrival rate; backlog + arrivals = served + new backlog exactly."""
    if dt_s <= 0:
        return FluidStep(0.0, backlog, backlog)
    arrived = arrival_per_s * dt_s
    drain = capacity_per_s - arrival_per_s
    if drain >= 0 and backlog <= drain * dt_s:
        empty_s = backlog / drain if drain > 0 else 0.0
        served = backlog + arrived
        mean = 0.5 * backlog * empty_s / dt_s
        return FluidStep(served, 0.0, mean)
    served = capacity_per_s * dt_s
    end = backlog + arrived - served
    return FluidStep(served, end, 0.5 * (backlog + end))


@dataclass(frozen=True)
class PatientStep:
    """A fluid step with abandonment: what was served, what gave up, the backlog."""

    served: float
    abandoned: float
    backlog_end: float
    mean_backlog: float


def patient_fluid_step(backlog: float, arrival_per_s: float, capacity_per_s: float, dt_s: float,
                       patience_s: float) -> PatientStep:
    """``fluid_step`` where no request waits longer than ``patience_s``.

    In a first-come-first-served fluid queue a request that finds a backlog B waits B / c, so
    no served request has waited longer than the patience while the backlog stays at or below
    c * patience; the flow above that bound gives up (counted when it joins the queue, rather
    than ``patience_s`` later: the same count, shifted by at most one patience). Without
    capacity (no replica up) every arrival gives up. Conserves backlog + arrivals = served +
    abandoned + new backlog exactly.
    """
    if dt_s <= 0:
        return PatientStep(0.0, 0.0, backlog, backlog)
    if not math.isfinite(patience_s):                # clients that never give up
        step = fluid_step(backlog, arrival_per_s, capacity_per_s, dt_s)
        return PatientStep(step.served, 0.0, step.backlog_end, step.mean_backlog)
    limit = max(capacity_per_s, 0.0) * patience_s
    dropped = max(backlog - limit, 0.0)             # the capacity fell below what the queue holds
    start = backlog - dropped
    growth = arrival_per_s - capacity_per_s
    if growth <= 0 or start + growth * dt_s <= limit:
        step = fluid_step(start, arrival_per_s, capacity_per_s, dt_s)
        return PatientStep(step.served, dropped, step.backlog_end, step.mean_backlog)
    # The backlog grows to the limit after ``fill`` seconds, then the excess flow gives up.
    fill = (limit - start) / growth
    served = capacity_per_s * dt_s
    abandoned = dropped + growth * (dt_s - fill)
    mean = (0.5 * (start + limit) * fill + limit * (dt_s - fill)) / dt_s
    return PatientStep(served, abandoned, limit, mean)
