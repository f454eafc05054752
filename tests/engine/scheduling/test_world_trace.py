"""Trace jobs in a whole run: their energy reaches the site's power, and the scheduling record."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import api
from simulator.engine.recorder import POWER_COLUMNS
from simulator.engine.world import World
from simulator.errors import ScenarioError


def _scenario(tmp_path, rows: str, **extra) -> dict:
    (tmp_path / "jobs.csv").write_text(rows)
    sc = {"name": "trace-mini", "simulation": {"horizon": "1d", "sample_interval": "5min"},
          "site": {"power_envelope": "1MW", "climate": "temperate"},
          "cluster": {"racks": [{"name": "g", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1}]},
          "workloads": {"trace": {"path": str(tmp_path / "jobs.csv")}}}
    sc.update(extra)
    return sc


def _accel_energy(record) -> float:
    dt = np.diff(np.concatenate(([0.0], record.t_s)))
    return float(np.sum(record.power[:, POWER_COLUMNS.index("accelerator_power_w")] * dt))


def test_a_trace_job_adds_its_gpus_power_for_its_run_time(tmp_path):
    # one 8-GPU job from t = 1000 s for 3600 s (not on sample boundaries) at 50 % activity
    busy = World(api.load_scenario(_scenario(tmp_path, "submit_s,gpus,duration_s,gpu_util\n1000,8,3600,0.5\n"))).run()
    idle = World(api.load_scenario(_scenario(tmp_path, "submit_s,gpus,duration_s,gpu_util\n1000,8,3600,0\n"))).run()
    world = World(api.load_scenario(_scenario(tmp_path, "submit_s,gpus,duration_s\n1000,8,3600\n")))
    accel = world.groups[0].accel
    expected = 8 * 0.5 * (accel.tdp - accel.idle_power) * 3600.0      # idle + u (TDP - idle) per busy GPU
    assert _accel_energy(busy) - _accel_energy(idle) == pytest.approx(expected, rel=1e-9)
    s = busy.scheduling.summary()
    assert s["jobs_finished"] == 1
    assert s["jct"]["p50_s"] == pytest.approx(3600.0)
    assert s["utilization"] == pytest.approx(8 * 3600 / (32 * 86400))
    assert s["queueing_delay"]["p50_s"] == 0.0


def test_the_trace_needs_its_own_groups_when_other_work_runs(tmp_path):
    sc = _scenario(tmp_path, "submit_s,gpus,duration_s\n0,8,60\n")
    sc["workloads"]["training"] = [{"name": "j", "model": "gpt3-125m", "tokens": "1B", "global_batch": 32,
                                    "gpus": 8}]
    with pytest.raises(ScenarioError) as err:
        World(api.load_scenario(sc))
    assert "the trace's rack groups are its own" in str(err.value)


def test_fifo_turns_backfill_off_for_hand_written_jobs_too(tmp_path):
    sc = _scenario(tmp_path, "submit_s,gpus,duration_s\n0,8,60\n", scheduler={"type": "fifo"})
    assert World(api.load_scenario(sc)).scheduler.backfill is False


def test_jobs_submitted_after_the_horizon_are_not_counted(tmp_path):
    rows = "submit_s,gpus,duration_s\n0,8,60\n90000,8,60\n"          # the second after the 1-day horizon
    s = World(api.load_scenario(_scenario(tmp_path, rows))).run().scheduling.summary()
    assert (s["jobs_submitted"], s["jobs_started"], s["jobs_finished"]) == (1, 1, 1)


def test_a_model_and_tokens_row_runs_as_long_as_the_same_hand_written_job(tmp_path):
    rows = "submit_s,gpus,model,tokens,global_batch\n0,16,gpt3-125m,2e9,64\n"
    traced = World(api.load_scenario(_scenario(tmp_path, rows))).run().scheduling.summary()
    written = _scenario(tmp_path, rows)
    del written["workloads"]["trace"]
    written["workloads"]["training"] = [{"name": "j", "model": "gpt3-125m", "tokens": 2e9, "global_batch": 64,
                                         "gpus": 16}]
    job = World(api.load_scenario(written)).run().jobs[0]
    assert traced["jct"]["p50_s"] == pytest.approx(job.end_s - job.start_s, rel=1e-6)


def test_a_model_row_with_an_unknown_model_names_its_row(tmp_path):
    rows = "submit_s,gpus,duration_s,model,tokens,global_batch\n0,8,60,,,\n5,8,,no-such-model,1e9,64\n"
    with pytest.raises(ScenarioError) as err:
        World(api.load_scenario(_scenario(tmp_path, rows)))
    assert "workloads.trace.path row 2" in str(err.value)
