"""`dcsim estimate train` and a scenario's training job share one set of defaults
(domain/precision.py), so the same job gives the same step time both ways."""

from __future__ import annotations

from simulator import api
from simulator.domain.precision import DEFAULT_OPTIMIZER, DEFAULT_RECOMPUTE, DEFAULT_TRAINING_PRECISION
from simulator.scenario.schema import TrainingJob

SCENARIO = {
    "name": "same-job",
    "simulation": {"horizon": "1h", "sample_interval": "30min", "seed": 1},
    "site": {"power_envelope": "1MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1}]},
    "workloads": {"training": [{"name": "j", "model": "gpt3-350m", "tokens": "200B", "global_batch": 64,
                                "micro_batch": 4, "seq": 2048, "gpus": 16, "layout": {"tp": 1, "pp": 1}}]},
}


def test_one_set_of_defaults():
    fields = TrainingJob.model_fields
    assert (fields["precision"].default, fields["recompute"].default, fields["optimizer"].default) == (
        DEFAULT_TRAINING_PRECISION, DEFAULT_RECOMPUTE, DEFAULT_OPTIMIZER)


def test_the_same_job_gives_the_same_step_time_both_ways(tmp_path):
    jobs = api.simulate(api.load_scenario(SCENARIO, base_dir=tmp_path)).jobs
    estimate = api.estimate_train("gpt3-350m", "h100-sxm", 4, 2048, gpus=16, global_batch=64,
                                  layout={"tp": 1, "pp": 1})
    assert estimate["step_time_s"] == jobs["step_time_s"].iloc[0]
    # And the defaults matter: the estimate with the other recipe differs.
    other = api.estimate_train("gpt3-350m", "h100-sxm", 4, 2048, gpus=16, global_batch=64,
                               layout={"tp": 1, "pp": 1}, precision="bf16-amp", recompute="none",
                               optimizer="adamw-foreach")
    assert other["step_time_s"] != estimate["step_time_s"]
