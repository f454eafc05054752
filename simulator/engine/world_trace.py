"""Trace jobs in a run: the trace read and checked before the loop (``plan_trace``, also run by
``dcsim validate``), replayed on its rack groups under the scheduler policy
(engine/scheduling/replay.py), and handed to the world as per-sample loads (``TraceLoad``).

The trace's rack groups are its own: their nodes leave the world's node pool, so hand-written
jobs and services run elsewhere. A trace job's GPUs draw idle + u x (TDP - idle), u its
``gpu_util`` (else ``workloads.trace.gpu_utilization``): the linear power-versus-utilisation
model of Fan, Weber and Barroso ("Power provisioning for a warehouse-sized computer", ISCA
2007), with the host's dynamic share following the busy GPUs as for every job. GPUs a gang
holds but does not use (a job of 12 GPUs on two 8-GPU nodes) draw idle power. Trace jobs run
at full clock: the power controller counts their sample-mean load against the envelope as one
it cannot cap (power_control.set_uncapped), capping and admitting hand-written work around it,
and node failures leave them alone (a trace's run
times already hold its own failures and retries).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.engine.cluster import Group
from simulator.engine.node_pool import NodePool
from simulator.engine.record_sched import SchedulingRecord
from simulator.engine.recorder import STATE_COLUMNS
from simulator.engine.scheduling.pool import TracePool
from simulator.engine.scheduling.replay import Replay, ReplayResult
from simulator.engine.trace.formats import load_trace
from simulator.engine.trace.table import TraceTable
from simulator.errors import InputError, Problem


def plan_trace(scenario, groups: list[Group], base_dir) -> tuple[TraceTable | None, list[int], list[Problem]]:
    """(the trace's table, its group indices, problems) for a scenario; (None, [], []) without one."""
    trace = scenario.workloads.trace
    if trace is None:
        return None, [], []
    problems: list[Problem] = []
    # unknown rack group names are refused with the other cross-references (scenario/check.py)
    chosen = [g.index for g in groups if not trace.rack_groups or g.name in trace.rack_groups]
    others = [j.rack_group for j in (*scenario.workloads.training, *scenario.workloads.inference)]
    if others and (len(chosen) == len(groups) or any(r is None or r in trace.rack_groups for r in others)):
        problems.append(Problem("workloads.trace.rack_groups",
                                "the trace's rack groups are its own: name them, and give every training job "
                                "and inference service a rack_group outside them"))
    table = None
    try:
        table = load_trace(trace, base_dir)
    except InputError as err:
        problems += list(err.problems)
    if table is not None and chosen:
        biggest = max(groups[i].schedulable_gpus for i in chosen)
        too_big = table.min_gpus > biggest
        if too_big.any():
            problems.append(Problem("workloads.trace.path", f"{int(too_big.sum()):,} jobs ask for more GPUs than "
                                    f"a trace rack group schedules ({biggest:,}); the first asks for "
                                    f"{int(table.min_gpus[too_big][0]):,}"))
    return table, chosen, problems


def _bins(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray, interval_s: float, n: int) -> np.ndarray:
    """Mean over each sample interval of the sum of ``weights`` active in [start, end)."""
    out = np.zeros(n + 1)
    if not len(starts):
        return out[:n]
    b0 = np.minimum((starts // interval_s).astype(np.int64), n)
    b1 = np.minimum((ends // interval_s).astype(np.int64), n)
    same = b0 == b1
    np.add.at(out, b0[same], weights[same] * (ends[same] - starts[same]))
    d = ~same
    np.add.at(out, b0[d], weights[d] * ((b0[d] + 1) * interval_s - starts[d]))
    np.add.at(out, b1[d], weights[d] * (ends[d] - b1[d] * interval_s))
    full = np.zeros(n + 2)
    np.add.at(full, b0[d] + 1, weights[d] * interval_s)
    np.add.at(full, b1[d], -weights[d] * interval_s)
    out += np.cumsum(full)[:n + 1]
    return out[:n] / interval_s


class TraceLoad:
    """The replayed trace as per-sample means: accelerator power above idle and busy GPUs per
    group, GPUs held, running and queued jobs."""

    def __init__(self, table: TraceTable, group_ids: list[int], groups: list[Group], policy, horizon_s: float,
                 interval_s: float, default_util: float):
        pools = [TracePool(groups[i].nodes_total - groups[i].spare_total, groups[i].gpus_per_node,
                           groups[i].config.nodes_per_rack, policy.leaf_racks, policy.placement == "topology")
                 for i in group_ids]
        self.result: ReplayResult = Replay(table, pools, policy, horizon_s).run()
        self.interval_s = interval_s
        n = max(math.ceil(horizon_s / interval_s - 1e-9), 1)
        self.n = n
        segs = self.result.segments
        job = np.array([s.job for s in segs], dtype=np.int64)
        grp = np.array([group_ids[s.group] for s in segs], dtype=np.int64)
        start = np.array([s.start_s for s in segs], dtype=float)
        end = np.array([s.end_s for s in segs], dtype=float)
        busy = np.array([s.gpus for s in segs], dtype=float)
        util = table.gpu_util[job] if len(job) else np.zeros(0)
        util = np.where(np.isnan(util), default_util, util)
        dyn = np.array([g.accel.tdp - g.accel.idle_power for g in groups])[grp] if len(grp) else np.zeros(0)
        self.accel_w = np.zeros((n, len(groups)))
        self.active = np.zeros((n, len(groups)))
        for gi in set(group_ids):
            sel = grp == gi
            self.accel_w[:, gi] = _bins(start[sel], end[sel], busy[sel] * util[sel] * dyn[sel], interval_s, n)
            self.active[:, gi] = _bins(start[sel], end[sel], busy[sel], interval_s, n)
        self.held = _bins(start, end, np.array([s.held for s in segs], dtype=float), interval_s, n)
        self.running = _bins(start, end, np.ones(len(segs)), interval_s, n)
        first = np.where(np.isnan(self.result.start_s), horizon_s, self.result.start_s)
        sub = np.minimum(table.submit_s, horizon_s)
        self.queued = _bins(sub, np.maximum(first, sub), np.ones(len(table)), interval_s, n)
        self.energy_j = self._energy(groups, grp, start, end, busy, util)
        self.record = SchedulingRecord(policy.type, sum(p.total_gpus for p in pools), horizon_s, table.submit_s,
                                       table.gpus, table.tenant, table.tenants, self.result.start_s,
                                       self.result.end_s, self.result.gpus_alloc, self.result.preemptions,
                                       self.result.locality, self.result.held_gpu_s,
                                       self.result.idle_while_waiting_gpu_s, self.result.waiting_s, self.energy_j)

    @staticmethod
    def _energy(groups, grp, start, end, busy, util) -> float:
        """IT energy of the trace's busy GPUs and their hosts' dynamic share (J)."""
        if not len(grp):
            return 0.0
        board = np.array([g.accel.idle_power for g in groups])[grp] + util * np.array(
            [g.accel.tdp - g.accel.idle_power for g in groups])[grp]
        host = np.array([g.node.host_power / g.gpus_per_node for g in groups])[grp]
        return float(np.sum(busy * (board + host) * (end - start)))

    def at(self, now: float) -> int:
        """The sample the loads in force at ``now`` come from."""
        return min(int(now // self.interval_s + 1e-9), self.n - 1)

    def add_state(self, state: np.ndarray, k: int, busy: float, total_gpus: int) -> None:
        """Add sample ``k``'s trace jobs to a state row (``busy``: the other work's busy GPUs)."""
        busy += float(self.active[k].sum())
        state[STATE_COLUMNS.index("gpu_utilization")] = busy / total_gpus if total_gpus else 0.0
        state[STATE_COLUMNS.index("gpus_allocated")] += self.held[k]
        state[STATE_COLUMNS.index("running_jobs")] += self.running[k]
        state[STATE_COLUMNS.index("queued_jobs")] += self.queued[k]


def replay_trace(plan, pool: NodePool) -> TraceLoad:
    """Replay a planned run's trace on its rack groups, whose nodes leave the world's pool."""
    sc = plan.loaded.scenario
    assert plan.trace is not None and sc.workloads.trace is not None
    for i in plan.trace_groups:
        group = plan.groups[i]
        pool.take(group, pool.free_nodes(group))
    return TraceLoad(plan.trace, list(plan.trace_groups), plan.groups, sc.scheduler, sc.simulation.horizon,
                     sc.simulation.sample_interval, sc.workloads.trace.gpu_utilization)
