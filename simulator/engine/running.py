"""The running training jobs as the power controller reads them: one snapshot per state of the
site, in start order, the per-job power model memoised, and their network shares.

Why: every world update evaluates the site's power at about ten cap fractions (the regula falsi
of engine/power_control.py), and each evaluation used to ask every running job's cost plan for
its board power at the cap. Jobs with the same configuration share one plan (engine/planning.py),
and a plan's answer depends only on (cap, network share), so the answers are memoised per
(plan, cap, share): an evaluation costs one cheap sum over the running jobs plus one plan call
per distinct (plan, cap, share), however many jobs run.

Network shares (contention on oversubscribed leaf uplinks) depend only on the running jobs'
nodes, so they are recomputed only when those move (``NetworkShares``).

The sum keeps the order the reference used (groups' idle power, then each running job in start
order, then services), so the floating-point results are the same bits.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from simulator.costmodel.training_plan import TrainingPlan
from simulator.engine.fabric import FabricSize, network_shares
from simulator.engine.training import JobRun

MAX_MEMO = 200_000      # entries before the memo starts afresh (bounds memory on long runs)


class PowerModelMemo:
    """``plan.at_power(cap_w, share)`` memoised: a pure function of its arguments. ``calls``
    counts the real evaluations (the work the memo saves is the rest)."""

    def __init__(self) -> None:
        # id(plan) -> (plan kept alive so its id is not reused, {(cap, share): result})
        self._memo: dict[int, tuple[TrainingPlan, dict[tuple[float, float], tuple[float, float, float]]]] = {}
        self._size = 0
        self.calls = 0

    def at_power(self, plan: TrainingPlan, cap_w: float, share: float = 1.0) -> tuple[float, float, float]:
        entry = self._memo.get(id(plan))
        if entry is None:
            if self._size > MAX_MEMO:
                self._memo.clear()
                self._size = 0
            entry = self._memo[id(plan)] = (plan, {})
        table = entry[1]
        key = (cap_w, share)
        hit = table.get(key)
        if hit is None:
            self.calls += 1
            self._size += 1
            hit = table[key] = plan.at_power(cap_w, share)
        return hit


class RunningSnapshot:
    """The running jobs drawing power, grouped by what their power depends on.

    ``terms`` lists, in start order, (group index, GPUs, key index) for each job drawing power
    (not idle); ``keys`` lists each distinct (plan, network share, group, policy cap) once.
    """

    def __init__(self, jobs: Iterable[JobRun]):
        self.terms: list[tuple[int, int, int]] = []
        self.keys: list[tuple[TrainingPlan, float, int, float]] = []
        self.active_by_group: dict[int, int] = {}
        index: dict[tuple[int, float, int, float], int] = {}
        for job in jobs:
            if job.idle:
                continue
            k = (id(job.plan), job.network_share, job.group, job.policy_cap_w)
            i = index.get(k)
            if i is None:
                i = index[k] = len(self.keys)
                self.keys.append((job.plan, job.network_share, job.group, job.policy_cap_w))
            self.terms.append((job.group, job.gpus, i))

    def board_power(self, memo: PowerModelMemo, caps: list[float]) -> list[float]:
        """Board power of each key under the groups' board ``caps`` (a job's cap: its group's,
        or lower where an operation policy slows it)."""
        return [memo.at_power(plan, min(caps[g], policy_cap), share)[1] for plan, share, g, policy_cap in self.keys]

    def add_accelerator_power(self, accel: list[float], board: list[float], idle_w: list[float]) -> None:
        """Add each job's draw above idle to its group, in start order."""
        for g, gpus, k in self.terms:
            accel[g] += gpus * (board[k] - idle_w[g])

    def add_active_gpus(self, active: list[float]) -> None:
        for g, gpus, _ in self.terms:
            active[g] += gpus


class NetworkShares:
    """The running jobs' network shares (engine/fabric.py), recomputed only when their nodes
    moved (a job started, finished, or lost or gained a node): they depend on nothing else."""

    def __init__(self, fabric: FabricSize):
        self.fabric = fabric
        self._for: list[np.ndarray] = []       # the node arrays the shares were computed for

    def refresh(self, running: list[JobRun]) -> None:
        nodes = [j.node_ids for j in running]
        if len(nodes) == len(self._for) and all(a is b for a, b in zip(nodes, self._for, strict=True)):
            return
        for job, share in zip(running, network_shares(self.fabric, nodes), strict=True):
            job.network_share = share
        self._for = nodes
