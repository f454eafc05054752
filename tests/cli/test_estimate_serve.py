"""`dcsim estimate serve` / api.estimate_serve: replica capacity from the single-GPU prefill and
decode estimates, the fewest replicas for the latency targets, and the same answer in the engine."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app

runner = CliRunner()


def test_capacity_from_the_single_gpu_estimates():
    # One H100 per replica, prompt 512, 128 output tokens, up to 16 in flight: a full batch
    # finishes 16 requests every 128 decode steps (at the mean context 512 + 64) plus 16 prefills.
    r = api.estimate_serve("llama3-8b", "h100-sxm", 1, 512, 128, 16)
    prefill = api.estimate_prefill("llama3-8b", "h100-sxm", 1, 512)["latency_s"]
    decode = api.estimate_decode("llama3-8b", "h100-sxm", 16, 576)["step_time_s"]
    assert r["prefill_s"] == pytest.approx(prefill, rel=1e-9)
    assert r["capacity_per_replica_per_s"] == pytest.approx(16 / (128 * decode + 16 * prefill), rel=1e-9)
    assert r["output_tokens_per_s_per_replica"] == pytest.approx(128 * r["capacity_per_replica_per_s"])
    assert "replicas" not in r


def test_fewest_replicas_meet_the_targets_and_one_fewer_does_not():
    kwargs = {"prompt": 1024, "output": 256, "max_batch": 32, "ttft_s": 0.5, "tpot_s": 0.03}
    r = api.estimate_serve("llama3-8b", "h100-sxm", 1, rate_per_s=40.0, **kwargs)
    assert r["tpot_s"] <= 0.03 and r["slo_share"] >= 0.99
    assert r["replicas"] * r["capacity_per_replica_per_s"] > 40.0
    assert r["utilisation"] == pytest.approx(40.0 / (r["replicas"] * r["capacity_per_replica_per_s"]))
    fewer = api.estimate_serve("llama3-8b", "h100-sxm", 1, rate_per_s=40.0 * (r["replicas"] - 1) / r["replicas"],
                               **kwargs)
    assert fewer["replicas"] <= r["replicas"] - 1          # the same load per replica fits one fewer
    # Twice the rate needs about twice the replicas (the targets are per replica).
    double = api.estimate_serve("llama3-8b", "h100-sxm", 1, rate_per_s=80.0, **kwargs)
    assert 2 * r["replicas"] - 2 <= double["replicas"] <= 2 * r["replicas"]


def test_the_engine_agrees_with_the_sizing():
    sizing = api.estimate_serve("llama3-8b", "h100-sxm", 1, 512, 128, 32, rate_per_s=60.0, ttft_s=0.5, tpot_s=0.03)
    scenario = {
        "name": "sized", "simulation": {"horizon": "2h", "sample_interval": "5min", "seed": 4},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "15C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1}]},
        "workloads": {"inference": [{"name": "s", "model": "llama3-8b", "replicas": sizing["replicas"],
                                     "arrival_rate": "60/s", "prompt_tokens": 512, "output_tokens": 128,
                                     "max_batch": 32, "slo": {"ttft": "500ms", "tpot": "30ms"}}]},
    }
    svc = api.simulate(scenario).services.iloc[0]
    assert svc["slo_attainment"] >= 0.98
    assert svc["tpot_mean_s"] == pytest.approx(sizing["tpot_s"], rel=0.05)


def test_cli_table_json_and_errors():
    args = ["estimate", "serve", "-m", "llama3-8b", "-a", "h100-sxm", "--rate", "40 req/s", "--tpot", "30ms",
            "--ttft", "500ms", "-b", "32", "--gpu-hour-cost", "$2"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "replicas for the targets" in table.output
    out = runner.invoke(app, [*args, "--format", "json"])
    r = json.loads(out.output)
    assert r["usd_per_mtoken"] == pytest.approx(r["gpus"] * 2.0 / (40 * 256 * 3600 / 1e6))
    bad = runner.invoke(app, ["estimate", "serve", "-m", "llama3-8b", "-a", "h100-sxm", "--rate", "5W"])
    assert bad.exit_code == 2 and "--rate: '5W' is a power" in bad.output
    never = runner.invoke(app, ["estimate", "serve", "-m", "llama3-8b", "-a", "h100-sxm", "--rate", "5/s",
                                "--tpot", "1ms"])
    assert never.exit_code == 2 and "--tpot: no number of replicas meets this target" in never.output
    too_big = runner.invoke(app, ["estimate", "serve", "-m", "llama3-70b", "-a", "h100-sxm"])
    assert too_big.exit_code == 1 and "GiB" in too_big.output
