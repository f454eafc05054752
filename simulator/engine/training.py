"""A training job as one SimPy process: it advances many identical steps in one timeout and
wakes only when its rate changes (power cap, pause) or it finishes.

Progress is continuous in steps: between changes the job moves at 1/step_time steps per
second; a change first books the progress made at the old rate, then continues at the new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from simulator.costmodel.parallel import TrainingPlan
from simulator.scenario.schema import TrainingJob


@dataclass
class JobRun:
    """Runtime state of one training job."""

    config: TrainingJob
    plan: TrainingPlan
    model_name: str
    index: int
    steps_total: float
    status: str = "pending"          # pending, queued, running, finished
    group: int = -1
    nodes: int = 0
    submit_s: float = math.nan
    start_s: float = math.nan
    end_s: float = math.nan
    steps_done: float = 0.0
    step_time_s: float = math.inf
    gpu_power_w: float = 0.0
    clock: float = 1.0
    paused: bool = False
    energy_j: float = 0.0
    network_share: float = 1.0       # share of NIC bandwidth its cross-leaf traffic gets now
    share_s: float = 0.0             # integral of network_share over running time
    node_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    last_change_s: float = 0.0
    wake: simpy.Event | None = field(default=None, repr=False)
    started: simpy.Event | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def gpus(self) -> int:
        return self.config.gpus

    @property
    def tokens_per_step(self) -> float:
        return self.plan.tokens_per_step

    def rate_steps_per_s(self) -> float:
        if self.paused or not math.isfinite(self.step_time_s) or self.step_time_s <= 0:
            return 0.0
        return 1.0 / self.step_time_s

    def book(self, now: float) -> None:
        """Add the steps made since the last change at the current rate."""
        dt = now - self.last_change_s
        if dt > 0 and self.status == "running":
            self.steps_done = min(self.steps_total, self.steps_done + dt * self.rate_steps_per_s())
        self.last_change_s = now

    def tokens_done(self, now: float | None = None) -> float:
        steps = self.steps_done
        if now is not None and self.status == "running":
            steps = min(self.steps_total, steps + (now - self.last_change_s) * self.rate_steps_per_s())
        return steps * self.tokens_per_step

    def time_to_finish(self) -> float:
        rate = self.rate_steps_per_s()
        if rate <= 0:
            return math.inf
        return max(self.steps_total - self.steps_done, 0.0) / rate


def job_process(env: simpy.Environment, job: JobRun, on_finish):
    """Wait until placed, then run to completion, re-planning the finish time at each wake."""
    yield job.started
    while job.steps_done < job.steps_total * (1 - 1e-12):
        job.wake = env.event()
        remaining = job.time_to_finish()
        if math.isfinite(remaining):
            yield env.timeout(remaining) | job.wake
        else:
            yield job.wake
        job.book(env.now)
        if job.time_to_finish() <= 1e-9:
            job.steps_done = job.steps_total
    job.wake = None
    on_finish(job)


def change_rate(job: JobRun, now: float, step_time_s: float, power_w: float, clock: float,
                paused: bool) -> bool:
    """Book progress and switch the job to a new rate; wake its process. True if changed."""
    same = (abs(step_time_s - job.step_time_s) <= 1e-12 * max(step_time_s, 1.0)
            and paused == job.paused and abs(power_w - job.gpu_power_w) < 1e-9)
    if same:
        return False
    job.book(now)
    job.step_time_s = step_time_s
    job.gpu_power_w = power_w
    job.clock = clock
    job.paused = paused
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()
    return True
