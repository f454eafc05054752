"""Energy-aware operation in the event loop: flexible training jobs that yield to price or
carbon, and demand-response caps on the site's grid power.

Everything that depends only on the price and carbon profiles is decided before the run
(``plan_operation``): which hours are flagged, the envelope in force each hour, and the hours
at which either changes. The run wakes only at those changes (``OperationRun.process``) and
reconciles each flexible job with the hour's decision:

- pause: the job writes a checkpoint (``write_s``, accelerators idle, no progress), then holds
  its nodes idle; when the hour is no longer flagged it reads the checkpoint back (``write_s``
  again) and goes on. Nothing is lost: the checkpoint is taken before the pause, and a failure
  while held loses nothing either;
- slow: the job's boards are capped at ``slow_to`` of TDP for the flagged hours.

Demand response lowers the envelope the power controller keeps (engine/power_control.py): the
GPUs are capped, and work paused if it must be, exactly as for the grid connection itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy

from simulator.domain.csvfile import load_csv_profile
from simulator.engine.profiles import HOURS_PER_DAY, absolute_hours
from simulator.engine.record import JobStatus
from simulator.engine.training import JobRun
from simulator.scenario.operation import Flexible, Operation
from simulator.scenario.schema import Scenario

HOUR_S = 3600.0
KW = 1e3
DR_RANGE_KW = (0.0, 1e9)


@dataclass(frozen=True)
class OperationPlan:
    """The hour-by-hour decisions of the in-loop policies, made once before the run."""

    config: Operation
    flexible: frozenset[str] | None     # job names; None: every job
    flagged: np.ndarray                 # bool per hour: flexible jobs yield
    envelope_w: np.ndarray              # grid limit in force per hour
    changes: np.ndarray                 # hours (> 0) at which flagged or envelope_w changes

    def is_flexible(self, name: str) -> bool:
        return self.config.flexible is not None and (self.flexible is None or name in self.flexible)


def flag_hours(signal: np.ndarray, abs_h: np.ndarray, above: float | None, top_hours: int) -> np.ndarray:
    """Hours whose signal is above ``above``, or among the ``top_hours`` highest of their
    calendar day (ties: the earlier hour first). A day cut by the horizon ranks what it has."""
    flagged = np.zeros(signal.shape, dtype=bool)
    if above is not None:
        flagged |= signal > above
    if top_hours > 0:
        days = np.floor(abs_h / HOURS_PER_DAY).astype(np.int64)
        for day in np.unique(days):
            idx = np.flatnonzero(days == day)
            order = idx[np.lexsort((idx, -signal[idx]))]
            flagged[order[:top_hours]] = True
    return flagged


def demand_response_w(operation: Operation, abs_h: np.ndarray, base_dir: Path | str | None) -> np.ndarray | None:
    """The demand-response caps (W) for each hour, or None without an event file."""
    dr = operation.demand_response
    if dr is None:
        return None
    values = load_csv_profile(Path(base_dir or ".") / dr.path, dr.column, value_range=DR_RANGE_KW, unit="kW")
    return values[np.floor(abs_h).astype(np.int64) % values.size] * KW


def plan_operation(scenario: Scenario, price: np.ndarray, carbon: np.ndarray, base_dir) -> OperationPlan | None:
    """Flagged hours and the hourly envelope for the scenario's operation section."""
    op = scenario.operation
    if op is None:
        return None
    sim = scenario.simulation
    hours = len(price)
    abs_h = absolute_hours(hours, sim.start_day_of_year, sim.start_hour)
    flagged = np.zeros(hours, dtype=bool)
    names = None
    flex: Flexible | None = op.flexible
    if flex is not None:
        signal, above = (price, flex.price_above) if flex.signal == "price" else (carbon, flex.carbon_above)
        flagged = flag_hours(np.asarray(signal, dtype=float), abs_h, above, flex.top_hours)
        names = None if flex.jobs == "all" else frozenset(flex.jobs)
    envelope = np.full(hours, float(scenario.site.power_envelope))
    caps = demand_response_w(op, abs_h, base_dir)
    if caps is not None:
        envelope = np.minimum(envelope, caps)
    moved = np.flatnonzero((np.diff(flagged.astype(np.int8)) != 0) | (np.diff(envelope) != 0)) + 1
    return OperationPlan(op, names, flagged, envelope, moved)


class OperationRun:
    """Applies an OperationPlan during a run: wakes the world at each change and moves flexible
    jobs between run, checkpointing, held and restoring."""

    def __init__(self, plan: OperationPlan, env: simpy.Environment, power, on_change: Callable[[], None]):
        self.plan = plan
        self.env = env
        self.power = power
        self.on_change = on_change

    def process(self, horizon_s: float):
        """Wake the world at every hour where a decision changes, up to the horizon."""
        for hour in self.plan.changes:
            at = float(hour) * HOUR_S
            if at >= horizon_s:
                return
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            self.on_change()

    def reconcile(self, running: list[JobRun], hour: int, now: float) -> None:
        """Set the envelope in force and move each flexible job towards the hour's decision."""
        plan = self.plan
        self.power.envelope_w = float(plan.envelope_w[hour])
        flex = plan.config.flexible
        if flex is None:
            return
        yield_now = bool(plan.flagged[hour])
        for job in running:
            if not plan.is_flexible(job.name) or job.down:
                continue
            if flex.action == "slow":
                job.policy_cap_w = flex.slow_to * job.plan.tdp_w if yield_now else math.inf
            elif yield_now and job.policy_state == "run":
                job.book(now)
                if job.seg_run_s <= 0.0:
                    _set_state(job, now, "held")       # nothing run since its last checkpoint
                else:
                    self._move(job, now, "checkpointing", "held")
            elif not yield_now and job.policy_state == "held":
                self._move(job, now, "restoring", "run")

    def _move(self, job: JobRun, now: float, state: str, then: str) -> None:
        """Start a timed transition: ``state`` for the job's checkpoint time, then ``then``."""
        _set_state(job, now, state)
        self.env.process(self._finish(job, then))

    def _finish(self, job: JobRun, state: str):
        yield self.env.timeout(job.policy_write_s)
        now = self.env.now
        if job.status != JobStatus.RUNNING:
            return
        _set_state(job, now, state)
        if state == "held":
            # The checkpoint just written is the one a failure would roll back to.
            job.policy_pauses += 1
            job.seg_run_s = 0.0
            job.seg_start_steps = job.steps_done
        self.on_change()


def _set_state(job: JobRun, now: float, state: str) -> None:
    job.book(now)
    job.policy_state = state
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()
