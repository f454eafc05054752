"""One Recorder per run: time-series samples, job progress points and counters, bounded memory.

Power is piecewise constant between engine events, so the recorder integrates each power
component exactly (value x duration) and a sample row holds the mean over its interval.
Arrays are preallocated from the horizon and sample interval; progress points are thinned
to at most ``MAX_PROGRESS_POINTS`` per job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

# Rates integrated between events, in this order: power components (W), the cooling plant's
# water use (m3/s) and the heat a chiller-less loop could not bring down to its supply (W).
POWER_COLUMNS = (
    "accelerator_power_w", "host_power_w", "server_fan_power_w", "support_power_w", "network_power_w",
    "it_power_w", "losses_power_w", "cooling_power_w", "chiller_power_w", "heat_rejection_power_w",
    "air_handler_power_w", "pump_power_w", "other_power_w", "facility_power_w", "water_m3_per_s",
    "cooling_shortfall_w",
)
# State columns: time-weighted means over the interval.
STATE_COLUMNS = ("gpus_allocated", "gpu_utilization", "clock_fraction", "running_jobs", "queued_jobs")
# Environment columns: values held during the interval.
ENV_COLUMNS = ("ambient_c", "wet_bulb_c", "price_usd_per_j", "carbon_kg_per_j", "power_envelope_w")

MAX_PROGRESS_POINTS = 2000


@dataclass
class Recorder:
    """Accumulates the run's measurements; ``frames`` (report layer) turns them into tables."""

    horizon_s: float
    sample_interval_s: float
    n_samples: int = 0
    t_s: np.ndarray = field(init=False)
    power: np.ndarray = field(init=False)
    state: np.ndarray = field(init=False)
    env: np.ndarray = field(init=False)
    cost_usd: float = 0.0
    carbon_kg: float = 0.0
    capped_samples: int = 0
    progress: list = field(default_factory=list)
    counters: dict = field(default_factory=dict)
    _acc_power: np.ndarray = field(init=False)
    _acc_state: np.ndarray = field(init=False)
    _last_t: float = 0.0
    _cur_power: np.ndarray = field(init=False)
    _cur_state: np.ndarray = field(init=False)
    _row: int = 0

    def __post_init__(self):
        self.n_samples = max(math.ceil(self.horizon_s / self.sample_interval_s - 1e-9), 1)
        self.t_s = np.zeros(self.n_samples)
        self.power = np.zeros((self.n_samples, len(POWER_COLUMNS)))
        self.state = np.zeros((self.n_samples, len(STATE_COLUMNS)))
        self.env = np.zeros((self.n_samples, len(ENV_COLUMNS)))
        self._acc_power = np.zeros(len(POWER_COLUMNS))
        self._acc_state = np.zeros(len(STATE_COLUMNS))
        self._cur_power = np.zeros(len(POWER_COLUMNS))
        self._cur_state = np.zeros(len(STATE_COLUMNS))

    def advance(self, now: float) -> None:
        """Integrate the current values from the last change up to ``now``."""
        dt = now - self._last_t
        if dt > 0:
            self._acc_power += self._cur_power * dt
            self._acc_state += self._cur_state * dt
            self._last_t = now

    def set_values(self, now: float, power: np.ndarray, state: np.ndarray) -> None:
        """New piecewise-constant values from ``now`` on."""
        self.advance(now)
        self._cur_power[:] = power
        self._cur_state[:] = state

    def close_sample(self, now: float, start: float, env: np.ndarray, capped: bool) -> None:
        """End the interval [start, now): store mean values, price and carbon of its energy."""
        self.advance(now)
        dt = now - start
        row = self._row
        if row >= self.n_samples or dt <= 0:
            return
        self.t_s[row] = now
        self.power[row] = self._acc_power / dt
        self.state[row] = self._acc_state / dt
        clock = STATE_COLUMNS.index("clock_fraction")   # a mean of clocks <= 1, up to rounding
        self.state[row, clock] = min(self.state[row, clock], 1.0)
        self.env[row] = env
        facility_j = self._acc_power[POWER_COLUMNS.index("facility_power_w")]
        self.cost_usd += facility_j * env[ENV_COLUMNS.index("price_usd_per_j")]
        self.carbon_kg += facility_j * env[ENV_COLUMNS.index("carbon_kg_per_j")]
        self.capped_samples += int(capped)
        self._acc_power[:] = 0.0
        self._acc_state[:] = 0.0
        self._row += 1

    @property
    def rows(self) -> int:
        return self._row

    def add_progress(self, t_s: float, job: str, tokens_done: float, clock: float) -> None:
        self.progress.append((t_s, job, tokens_done, clock))

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (a deterministic cost counter)."""

    def __init__(self):
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


def env_row(hour: int, ambient_c, wet_bulb_c, price_usd_per_j, carbon_kg_per_j, envelope_w) -> np.ndarray:
    """The ENV_COLUMNS values held during a sample that starts in ``hour``."""
    row = np.zeros(len(ENV_COLUMNS))
    for name, values in (("ambient_c", ambient_c), ("wet_bulb_c", wet_bulb_c), ("price_usd_per_j", price_usd_per_j),
                         ("carbon_kg_per_j", carbon_kg_per_j), ("power_envelope_w", envelope_w)):
        row[ENV_COLUMNS.index(name)] = values[hour]
    return row
