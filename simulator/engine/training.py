"""A training job as one SimPy process: it advances many identical steps in one timeout and
wakes only when its rate changes (power cap, pause), moves to its next phase (engine/
staged.py: another sequence length, batch or layout, with its own cost tables) or finishes.

Progress is continuous in steps: between changes the job moves at 1/step_time steps per
second; a change first books the progress made at the old rate, then continues at the new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from simulator.costmodel.training_plan import TrainingPlan
from simulator.engine.failures import CheckpointPlan, lost_since_checkpoint
from simulator.engine.record import JobStatus
from simulator.scenario.schema import TrainingJob


@dataclass
class JobRun:
    """Runtime state of one training job."""

    config: TrainingJob
    plan: TrainingPlan
    model_name: str
    index: int
    steps_total: float
    status: JobStatus = JobStatus.PENDING
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
    ended: simpy.Event | None = field(default=None, repr=False)
    # Failures (engine/failures.py): checkpoint plan, and time accounting for goodput.
    checkpoint: CheckpointPlan | None = field(default=None, repr=False)
    down: bool = False               # restarting after a failure, or waiting for a node
    waiting_for_node: bool = False
    failures: int = 0
    maintenance_stops: int = 0       # planned drains (engine/maintenance.py), not failures
    preemptions: int = 0             # times a higher-priority job took its nodes (scheduling/preempt.py)
    resume_s: float = 0.0            # paid on its GPUs when it next starts after a preemption
    restart_s: float = 0.0           # restart time of the pending restart (its cause's)
    restart_token: int = 0           # the latest restart started (an older one in flight is void)
    lost_steps: float = 0.0
    seg_run_s: float = 0.0           # running seconds since the last restart
    seg_start_steps: float = 0.0
    run_s: float = 0.0               # running seconds in all
    checkpoint_s: float = 0.0        # of which writing checkpoints
    lost_s: float = 0.0              # running seconds whose progress a failure threw away
    down_s: float = 0.0              # seconds holding nodes while restarting or waiting
    # Staged runs: the phases still to come as (name, plan, steps), and the tokens of those done.
    later_phases: list = field(default_factory=list, repr=False)
    phase: str = "main"
    tokens_before: float = 0.0
    # Energy-aware operation (engine/operation.py): run, checkpointing, held, restoring.
    policy_state: str = "run"
    policy_cap_w: float = math.inf   # a board cap the operation policy sets (slowing)
    policy_s: float = 0.0            # seconds the policy held the job (checkpoint, pause, restore)
    policy_pauses: int = 0
    policy_write_s: float = 0.0      # writing (or reading back) a checkpoint for a policy pause

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def gpus(self) -> int:
        return self.config.gpus

    @property
    def tokens_per_step(self) -> float:
        return self.plan.tokens_per_step

    @property
    def idle(self) -> bool:
        """Its accelerators draw idle power: paused by the power cap, down, or held by a policy."""
        return self.paused or self.down or self.policy_state != "run"

    @property
    def checkpoint_efficiency(self) -> float:
        return self.checkpoint.efficiency if self.checkpoint is not None else 1.0

    def rate_steps_per_s(self) -> float:
        """Steps per second now: 0 while idle; checkpoint writes take their share."""
        if self.idle or not math.isfinite(self.step_time_s) or self.step_time_s <= 0:
            return 0.0
        return self.checkpoint_efficiency / self.step_time_s

    def book(self, now: float) -> None:
        """Add the steps made since the last change at the current rate, and the time spent."""
        dt = now - self.last_change_s
        if dt > 0 and self.status == JobStatus.RUNNING:
            if self.down:
                self.down_s += dt
            elif self.policy_state != "run":
                self.policy_s += dt
            elif not self.paused:
                self.steps_done = min(self.steps_total, self.steps_done + dt * self.rate_steps_per_s())
                self.run_s += dt
                self.seg_run_s += dt
                self.checkpoint_s += dt * (1.0 - self.checkpoint_efficiency)
        self.last_change_s = now

    def tokens_done(self, now: float | None = None) -> float:
        steps = self.steps_done
        if now is not None and self.status == JobStatus.RUNNING:
            steps = min(self.steps_total, steps + (now - self.last_change_s) * self.rate_steps_per_s())
        return self.tokens_before + steps * self.tokens_per_step

    def next_phase(self, now: float) -> None:
        """The current phase is done (a checkpoint boundary): continue with the next one."""
        self.book(now)
        self.tokens_before += self.steps_total * self.tokens_per_step
        self.phase, self.plan, self.steps_total = self.later_phases.pop(0)
        self.steps_done = 0.0
        self.seg_start_steps = 0.0
        self.seg_run_s = 0.0
        self.step_time_s = math.inf

    def time_to_finish(self) -> float:
        rate = self.rate_steps_per_s()
        if rate <= 0:
            return math.inf
        return max(self.steps_total - self.steps_done, 0.0) / rate


def clock_resolution_s(now_s: float) -> float:
    """The smallest wait that still moves a clock reading ``now_s`` (a few of its float ulps, at
    least 1 ns): a finish nearer than this is now. Past ~194 days (2**24 s) one ulp is 3.7 ns, so
    a fixed 1 ns tolerance left a job waiting on a timeout that lands on the same instant forever."""
    return max(1e-9, 4.0 * math.ulp(now_s))


def job_process(env: simpy.Environment, job: JobRun, on_finish, on_phase=None):
    """Wait until placed, then run each phase to completion, re-planning the finish time at
    each wake; ``on_phase(job)`` sets the rate of a new phase."""
    yield job.started
    while True:
        while job.steps_done < job.steps_total * (1 - 1e-12):
            job.wake = env.event()
            remaining = job.time_to_finish()
            if math.isfinite(remaining):
                yield env.timeout(remaining) | job.wake
            else:
                yield job.wake
            job.book(env.now)
            if job.time_to_finish() <= clock_resolution_s(env.now):
                job.steps_done = job.steps_total
        if not job.later_phases:
            break
        job.next_phase(env.now)
        if on_phase is not None:
            on_phase(job)
    job.wake = None
    on_finish(job)


def fail(job: JobRun, now: float) -> float:
    """A node of the job failed at ``now``: throw away the progress since the last checkpoint
    and take the job down. Returns the steps lost."""
    job.book(now)
    lost_run = lost_since_checkpoint(job.seg_run_s, job.checkpoint) if job.checkpoint else job.seg_run_s
    rate = job.checkpoint_efficiency / job.step_time_s if math.isfinite(job.step_time_s) else 0.0
    lost = min(lost_run * rate, job.steps_done - job.seg_start_steps)
    job.steps_done -= lost
    job.lost_steps += lost
    job.lost_s += lost_run
    job.failures += 1
    job.down = True
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()
    return lost


def drain(job: JobRun, now: float) -> None:
    """A planned maintenance window takes some of the job's nodes: it checkpoints first (no work
    lost; the write is part of its restart) and goes down until it restarts."""
    job.book(now)
    job.maintenance_stops += 1
    job.down = True
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()


def preempt(job: JobRun, now: float, cost_s: float) -> None:
    """A higher-priority job takes the nodes: this one checkpoints (no work lost) and stops; it
    pays ``cost_s`` (checkpoint and restore) on its GPUs when it next starts."""
    job.book(now)
    job.preemptions += 1
    job.resume_s = cost_s
    job.down = True
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()


def restart(job: JobRun, now: float) -> None:
    """The job is back up: a new segment starts from its checkpoint."""
    job.book(now)
    job.down = False
    job.seg_run_s = 0.0
    job.seg_start_steps = job.steps_done
    if job.wake is not None and not job.wake.triggered:
        job.wake.succeed()


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
