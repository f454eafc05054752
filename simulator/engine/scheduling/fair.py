"""Fair share across tenants (``scheduler: {type: fair-share}``), one rule for trace jobs
(scheduling/replay.py) and hand-written training jobs (scheduling/easy.py): each start goes to the
tenant with the lowest held GPUs / share whose oldest queued job fits now; tenants not listed in
``tenants`` split what the listed ones leave equally; without ``borrow`` a tenant never holds more
than its share of the GPUs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from simulator.scenario.scheduling import FairShare


def tenant_shares(tenants: Sequence[str], policy: FairShare) -> np.ndarray:
    """Each tenant's share of the GPUs, in ``tenants`` order."""
    listed = {name: q.share for name, q in policy.tenants.items()}
    rest = [name for name in tenants if name not in listed]
    left = max(1.0 - sum(listed.values()), 0.0)
    return np.array([listed[name] if name in listed else left / len(rest) for name in tenants])


def next_tenant(heads: Iterable[tuple[int, int]], usage: np.ndarray, share: np.ndarray, total_gpus: float,
                borrow: bool) -> int:
    """Of the tenants whose oldest job fits now, given as (tenant, GPUs it needs), the one to start
    (lowest held / share, ties to the lower index); -1 when none may start."""
    best, best_ratio = -1, math.inf
    for tenant, gpus in heads:
        if not borrow and usage[tenant] + gpus > share[tenant] * total_gpus + 1e-9:
            continue
        ratio = usage[tenant] / share[tenant] if share[tenant] > 0 else math.inf
        if best < 0 or (ratio, tenant) < (best_ratio, best):
            best, best_ratio = tenant, ratio
    return best
