"""A training job's finish late in a long run: the wait to the finish must move the clock.

Past 2**24 s (~194 days) a float clock steps by 3.7 ns, so a finish 1.8 ns away used to be waited
for with a timeout that landed on the same instant, forever (the 100,000-GPU busy year stopped
at day 205). The numbers below are the ones that hung it.
"""

from __future__ import annotations

import math

import simpy

from simulator.engine.training import clock_resolution_s, job_process


class SteadyJob:
    """The part of a running job that job_process reads: steps at a fixed rate, booked on wake."""

    def __init__(self, env: simpy.Environment, steps_total: float, rate_steps_per_s: float, steps_done: float):
        self.started = env.event()
        self.wake = None
        self.later_phases: list = []
        self.steps_total = steps_total
        self.steps_done = steps_done
        self.rate = rate_steps_per_s
        self.last_s = env.now

    def book(self, now: float) -> None:
        self.steps_done = min(self.steps_total, self.steps_done + (now - self.last_s) * self.rate)
        self.last_s = now

    def time_to_finish(self) -> float:
        return max(self.steps_total - self.steps_done, 0.0) / self.rate


def test_resolution_is_a_few_ulps_of_the_clock():
    assert clock_resolution_s(0.0) == 1e-9
    day_205_s = 17_721_643.11967616
    assert math.ulp(day_205_s) == 2.0 ** -28          # 3.7 ns: the clock cannot move by 1.8 ns
    assert clock_resolution_s(day_205_s) == 4 * 2.0 ** -28
    assert day_205_s + 1.8e-9 == day_205_s


def test_a_finish_below_the_clock_step_ends_the_job():
    env = simpy.Environment(initial_time=17_721_643.11967616)
    rate = 3.45                                        # steps per second (the hung job: 6.3e-9 steps left)
    job = SteadyJob(env, steps_total=3458.0, rate_steps_per_s=rate, steps_done=3458.0 - 1.8250598e-9 * rate)
    assert 1e-9 < job.time_to_finish() < math.ulp(env.now)
    finished = []
    env.process(job_process(env, job, finished.append))
    job.started.succeed()
    for _ in range(20):                                # a handful of events, counted, not timed
        if finished or env.peek() == math.inf:
            break
        env.step()
    assert finished == [job]
    assert job.steps_done == job.steps_total


def test_an_ordinary_finish_lands_at_its_time():
    env = simpy.Environment(initial_time=17_721_643.0)
    job = SteadyJob(env, steps_total=100.0, rate_steps_per_s=2.0, steps_done=40.0)
    finished = []
    env.process(job_process(env, job, lambda _job: finished.append(env.now)))
    job.started.succeed()
    env.run()
    assert finished == [17_721_643.0 + 30.0]
