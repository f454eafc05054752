"""Grid outages and what the power chain's redundancy buys against them.

Outages come from ``site.grid_outages``: a Poisson process (exponential gaps and durations,
drawn from the run's "grid" random stream) or the hours a CSV marks. Each is decided before
the run:

- ridden through if it is shorter than the UPS autonomy, or if the UPS bridges the generators'
  start (autonomy >= start time) and enough of them start: at least N of the installed units
  (N, N+1 or 2N of ``generator_units``), each failing to start with probability p. The
  generators then carry the facility: the grid bill stops, diesel is burned (0.27 L/kWh at full
  load, generator supplier charts; 2.69 kg CO2/L, US EPA emission factors: 10.21 kg/gal);
- otherwise the site blacks out: every running job fails (losing the work since its last
  checkpoint), services stop, the site draws nothing until the grid is back, then work restarts
  after ``restart_time`` (and each job reads its checkpoint back).

``ride_through_probability`` is what a redundancy level buys: the availability it gives against
grid loss, next to its capex in costs.json.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulator.domain.csvfile import load_csv_profile
from simulator.engine.record import JobStatus
from simulator.engine.training import fail, restart
from simulator.scenario.redundancy import ride_through_probability
from simulator.scenario.schema import Scenario

HOUR_S = 3600.0
YEAR_S = 365.0 * 86400.0
DIESEL_L_PER_J = 0.27 / 3.6e6
DIESEL_KG_CO2_PER_L = 10.21 / 3.785411784


def plan_outages(scenario: Scenario, rng: np.random.Generator, base_dir) -> tuple[tuple[float, float, bool], ...]:
    """(start s, end s, ridden through) of every outage within the horizon."""
    cfg = scenario.site.grid_outages
    horizon = scenario.simulation.horizon
    if cfg is None:
        return ()
    spans: list[tuple[float, float]] = []
    if cfg.path is not None:
        marks = load_csv_profile(Path(base_dir or ".") / cfg.path, cfg.column, value_range=(0.0, 1.0), unit="")
        hours = math.ceil(horizon / HOUR_S)
        out = marks[np.arange(hours) % marks.size] > 0.5
        edges = np.flatnonzero(np.diff(np.concatenate([[0], out.astype(np.int8), [0]])))
        spans = [(float(a) * HOUR_S, min(float(b) * HOUR_S, horizon)) for a, b in zip(edges[::2], edges[1::2],
                                                                                       strict=True)]
    elif cfg.per_year > 0:
        t = 0.0
        while True:
            t += rng.exponential(YEAR_S / cfg.per_year)
            if t >= horizon:
                break
            d = rng.exponential(cfg.mean_duration)
            spans.append((t, min(t + d, horizon)))
            t += d
    chain = scenario.power
    return tuple((a, b, bool(rng.random() < ride_through_probability(chain, b - a))) for a, b in spans)


class GridEvents:
    """Plays the outages in a run: blackouts fail the running work and darken the site."""

    def __init__(self, outages, world):
        self.outages = outages
        self.world = world
        self.dark = False

    def process(self):
        env = self.world.env
        restart_s = self.world.loaded.scenario.site.grid_outages.restart_time
        for start, end, ridden in self.outages:
            if ridden:
                continue          # the generators carry the site (settled after the run)
            if start > env.now:
                yield env.timeout(start - env.now)
            self._blackout()
            yield env.timeout(end - env.now)
            self._restore(restart_s)

    def _blackout(self) -> None:
        world = self.world
        now = world.env.now
        world._integrate_jobs(now)
        self.dark = True
        world.recorder.count("blackouts")
        for job in world.running:
            if not job.down:
                fail(job, now)
                job.failures -= 1            # a blackout, not a node failure
                job.waiting_for_node = False
        for svc in world.services:
            svc.replicas_down = svc.config.replicas
        world.update()

    def _restore(self, restart_s: float) -> None:
        world = self.world
        world._integrate_jobs(world.env.now)
        self.dark = False
        for job in list(world.running):
            if job.down:
                world.env.process(self._restart(job, restart_s + job.policy_write_s))
        for svc in world.services:
            world.env.process(self._service_back(svc, restart_s))
        world.update()

    def _restart(self, job, after_s: float):
        yield self.world.env.timeout(after_s)
        if job.status != JobStatus.RUNNING or self.dark or not job.down or job.waiting_for_node:
            return
        self.world._integrate_jobs(self.world.env.now)
        restart(job, self.world.env.now)
        self.world.update()

    def _service_back(self, svc, after_s: float):
        yield self.world.env.timeout(after_s)
        if self.dark:
            return
        self.world._integrate_jobs(self.world.env.now)
        svc.replicas_down = 0
        self.world.update()
