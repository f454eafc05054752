"""The power controller's work per world update does not grow with the running jobs
(engine/running.py): the per-job power model runs once per distinct (plan, cap, share), and the
memoised sums are the same bits as asking every job's plan afresh."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import api
from simulator.costmodel.training_plan import TrainingPlan
from simulator.engine.world import World


def capped_site(n_jobs: int) -> dict:
    """``n_jobs`` identical 8-GPU jobs (a multiple of 4) on as many DGX H100 nodes, all running at
    once under an envelope that caps the boards (so every update searches the cap)."""
    jobs = [{"name": f"j{i}", "model": "gpt3-760m", "seq": 1024, "precision": "bf16-mixed", "tokens": "20B",
             "gpus": 8, "global_batch": 64, "micro_batch": 8, "layout": {"tp": 1, "pp": 1},
             "start": f"{i}min"} for i in range(n_jobs)]
    return {
        "name": f"work-{n_jobs}",
        "simulation": {"horizon": "3h", "sample_interval": "15min", "seed": 0},
        "site": {"power_envelope": f"{n_jobs * 8 * 1.1:.0f}kW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "g", "node": "dgx-h100", "nodes_per_rack": 4, "count": n_jobs // 4}]},
        "workloads": {"training": jobs},
    }


def reference_demand(world: World, fraction: float) -> np.ndarray:
    """Accelerator power per group as the controller computed it before memoisation: every
    running job's plan asked at its cap, summed in start order."""
    power = world.power
    accel = np.array([g.idle_accelerator_power_w() for g in world.groups])
    for job in world.running:
        if job.idle:
            continue
        _, board, _ = job.plan.at_power(power.job_cap_w(job, fraction), job.network_share)
        accel[job.group] += job.gpus * (board - world.groups[job.group].accel.idle_power)
    return accel


def counted_run(n_jobs: int, monkeypatch) -> tuple[World, int]:
    calls = {"n": 0}
    real = TrainingPlan.at_power

    def counting(self, cap_w, network_share=1.0):
        calls["n"] += 1
        return real(self, cap_w, network_share)

    world = World(api.load_scenario(capped_site(n_jobs)))
    monkeypatch.setattr(TrainingPlan, "at_power", counting)
    world.run()
    monkeypatch.setattr(TrainingPlan, "at_power", real)
    return world, calls["n"]


def test_power_model_calls_per_update_do_not_grow_with_running_jobs(monkeypatch):
    small, calls_small = counted_run(4, monkeypatch)
    large, calls_large = counted_run(32, monkeypatch)
    assert len(large.running) == 32 and len(small.running) == 4       # all still running at the horizon
    assert large.capped and small.capped                              # the cap search ran
    per_update_small = calls_small / small.updates
    per_update_large = calls_large / large.updates
    # Without the memo every evaluation asks every running job: ~8x more calls per update for 8x
    # the jobs. With it, calls depend on distinct (plan, cap, share), not on the job count.
    evaluations_per_update = large.power.evaluations / large.updates
    assert calls_large < large.power.evaluations                      # far fewer than one per job and evaluation
    assert per_update_large <= 2.0 * per_update_small + 1.0
    assert per_update_large <= evaluations_per_update + 1.0


@pytest.mark.parametrize("fraction", [1.0, 0.83, 0.6])
def test_memoised_demand_is_the_same_bits_as_asking_every_job(fraction, monkeypatch):
    world, _ = counted_run(12, monkeypatch)
    assert world.running
    reference = reference_demand(world, fraction)
    assert world.power.demand(fraction).tobytes() == reference.tobytes()
