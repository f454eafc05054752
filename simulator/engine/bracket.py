"""The largest x in a bracket whose value stays within a limit, for monotone increasing
functions that are costly to evaluate (the site's facility power as a function of the GPU cap).

Regula falsi with the Illinois modification (Dowell & Jarratt, 1971) converges superlinearly on
smooth pieces. It stops once a value is within ``f_rtol`` of the limit or the bracket is shorter
than ``x_tol``; if the last point lies just above the limit, it steps down from it in doubling
steps to the nearest feasible point. The answer always satisfies f(x) <= limit.
"""

from __future__ import annotations

from collections.abc import Callable


def largest_within(f: Callable[[float], float], limit: float, lo: float, hi: float,
                   f_lo: float | None = None, f_hi: float | None = None,
                   x_tol: float = 1e-7, f_rtol: float = 1e-7, max_steps: int = 60) -> float:
    """Largest x in [lo, hi] with f(x) <= limit (to ``x_tol``, or ``f_rtol`` of the limit),
    given f(lo) <= limit < f(hi) and f increasing; pass f_lo, f_hi when already known."""
    g_lo = (f(lo) if f_lo is None else f_lo) - limit
    g_hi = (f(hi) if f_hi is None else f_hi) - limit
    if g_lo > 0 or g_hi <= 0:
        raise ValueError("need f(lo) <= limit < f(hi)")
    f_tol = f_rtol * abs(limit)
    x, g_x = lo, g_lo
    side = 0
    for _ in range(max_steps):
        if hi - lo <= x_tol:
            return lo
        x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        g_x = f(x) - limit
        if abs(g_x) <= f_tol:
            break
        if g_x < 0:
            lo, g_lo = x, g_x
            if side == -1:
                g_hi *= 0.5
            side = -1
        else:
            hi, g_hi = x, g_x
            if side == 1:
                g_lo *= 0.5
            side = 1
    if g_x <= 0:
        return x
    step = x_tol
    while x - step > lo:
        if f(x - step) <= limit:
            return x - step
        step *= 2.0
    return lo
