"""`dcsim estimate serve` / api.estimate_serve: maximum sustained throughput at the batch the KV
budget admits, closed-loop curves, the fewest replicas for latency targets (and the same answer
in the engine), speculative decoding, prefix caching, disaggregation, and the flags of
`estimate prefill|decode`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app

runner = CliRunner()


def test_maximum_throughput_is_the_saturated_replica():
    r = api.estimate_serve("llama3-8b", "h100-sxm", 1, 512, 128, 16)
    # 16 sequences at most: the batch is the limit, and every request yields 128 tokens.
    assert r["batch"] == pytest.approx(16, rel=0.01)
    assert r["output_tokens_per_s_per_replica"] == pytest.approx(128 * r["requests_per_s_per_replica"])
    assert r["capacity_per_replica_per_s"] == r["requests_per_s_per_replica"]
    # A full batch of 16 decodes in about one decode step per token, plus its share of prefill.
    # (the same engine as the replica's: estimate decode/prefill default to the bare model)
    decode = api.estimate_decode("llama3-8b", "h100-sxm", 16, 576, engine="tensorrt-llm")["step_time_s"]
    prefill = api.estimate_prefill("llama3-8b", "h100-sxm", 1, 512, engine="tensorrt-llm")["latency_s"]
    closed_form = 16 / (128 * decode + 16 * prefill)
    assert r["capacity_per_replica_per_s"] == pytest.approx(closed_form, rel=0.1)
    assert "replicas" not in r


def test_without_max_batch_the_kv_budget_decides():
    # 6.7B in bf16 decoding 128 sequences of 1024 tokens needs 76.5 GiB: more than the engine's
    # 90% KV budget, so it runs the batch the budget admits instead of refusing.
    r = api.estimate_serve("gpt3-6.7b", "h100-sxm", 1, 512, 512, 128)
    per_seq_blocks = -(-1024 // 32)
    assert r["batch"] == pytest.approx(min(128, r["kv_cache_tokens"] // 32 // per_seq_blocks), rel=0.02)
    assert r["batch"] < 128 and r["output_tokens_per_s_per_replica"] > 0
    assert r["memory_per_gpu_bytes"] <= r["hbm_per_gpu_bytes"]


def test_closed_loop_keys_and_curve(tmp_path):
    args = ["estimate", "serve", "-m", "llama3-8b", "-a", "h100", "--prompt", "1024", "--output-tokens", "128",
            "--precision", "fp8", "--kv-precision", "fp8"]
    one = json.loads(runner.invoke(app, [*args, "--concurrency", "8", "-f", "json"]).output)
    for key in ("ttft_mean_s", "ttft_p99_s", "tpot_mean_s", "output_tokens_per_s_per_replica",
                "requests_per_s_per_replica"):
        assert one[key] > 0
    assert one["requests_per_s_per_replica"] * 128 == pytest.approx(one["output_tokens_per_s_per_replica"])
    # Little's law in a closed loop: 8 clients, each waiting one request's latency.
    e2e = one["ttft_mean_s"] + 127 * one["tpot_mean_s"]
    assert one["requests_per_s_per_replica"] == pytest.approx(8 / e2e, rel=0.05)
    table = runner.invoke(app, [*args, "--concurrency", "1,8,64", "-o", str(tmp_path)])
    assert table.exit_code == 0, table.output
    assert "64 clients" in table.output
    assert (tmp_path / "curve.png").stat().st_size > 10_000 and (tmp_path / "curve.csv").exists()
    curve = json.loads(runner.invoke(app, [*args, "--concurrency", "1,8,64", "-f", "json"]).output)["curve"]
    rates = [p["output_tokens_per_s_per_replica"] for p in curve]
    tpots = [p["tpot_mean_s"] for p in curve]
    assert rates == sorted(rates) and tpots == sorted(tpots)


def test_fewest_replicas_meet_the_targets_and_one_fewer_does_not():
    kwargs = {"prompt": 1024, "output": 256, "max_batch": 32, "ttft_s": 0.5, "tpot_s": 0.03}
    r = api.estimate_serve("llama3-8b", "h100-sxm", 1, rate_per_s=40.0, **kwargs)
    assert r["tpot_s"] <= 0.03 and r["slo_share"] >= 0.99
    assert r["replicas"] * r["capacity_per_replica_per_s"] > 40.0
    assert r["utilisation"] == pytest.approx(40.0 / (r["replicas"] * r["capacity_per_replica_per_s"]))
    fewer = api.estimate_serve("llama3-8b", "h100-sxm", 1, rate_per_s=40.0 * (r["replicas"] - 1) / r["replicas"],
                               **kwargs)
    assert fewer["replicas"] <= r["replicas"] - 1
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
    assert svc["engine"] == "tensorrt-llm" and svc["kv_cache_tokens"] > 0


def test_speculation_prefix_caching_and_disaggregation():
    base = api.estimate_serve("llama3-8b", "h100-sxm", 1, 2048, 256, concurrency=[1])
    spec = api.estimate_serve("llama3-8b", "h100-sxm", 1, 2048, 256, concurrency=[1], draft_model="llama3.2-1b",
                              draft_tokens=4, acceptance=0.8)
    # 0.8 acceptance, 4 draft tokens: (1 - 0.8^5) / (1 - 0.8) = 3.36 tokens per target step.
    assert spec["tokens_per_step"] == pytest.approx(3.3616)
    assert spec["tpot_mean_s"] < base["tpot_mean_s"]
    hit = api.estimate_serve("llama3-8b", "h100-sxm", 1, 2048, 256, concurrency=[1], prefix_cache_hit=0.75)
    assert hit["ttft_mean_s"] < 0.5 * base["ttft_mean_s"]
    split = api.estimate_serve("llama3-70b", "h100-sxm", 4, 2048, 256, disaggregation={
        "prefill_replicas": 1, "prefill_gpus": 4, "decode_replicas": 2, "decode_gpus": 4})["disaggregated"]
    assert split["gpus"] == 12
    assert split["capacity_per_s"] == pytest.approx(min(split["prefill_capacity_per_s"],
                                                        split["decode_capacity_per_s"]))
    # The prompt's KV cache (2 x 80 layers x 8 KV heads x 128 x 2 B per token in bf16) crosses the fabric.
    assert split["kv_transfer_bytes"] == 2 * 80 * 8 * 128 * 2 * 2048
    assert split["ttft_s"] > split["kv_transfer_s"] > 0


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


def test_prefill_and_decode_take_tp_precision_and_engine():
    args = ["estimate", "decode", "-m", "llama3-70b", "-a", "h100", "-b", "8", "-c", "2048", "-f", "json"]
    tp2 = json.loads(runner.invoke(app, [*args, "--tp", "2", "--precision", "fp8"]).output)
    tp4 = json.loads(runner.invoke(app, [*args, "--tp", "4", "--precision", "fp8"]).output)
    assert tp2["tp"] == 2 and tp2["precision"] == "fp8" and tp2["activations"] == "fp8"
    assert tp4["weights_bytes"] == pytest.approx(tp2["weights_bytes"] / 2)
    assert tp4["step_time_s"] < tp2["step_time_s"]
    vllm02 = json.loads(runner.invoke(app, [*args, "--tp", "4", "--engine", "vllm-0.2"]).output)
    assert vllm02["engine"] == "vllm-0.2"
    pre = json.loads(runner.invoke(app, ["estimate", "prefill", "-m", "llama3-8b", "-a", "h200", "-b", "1", "-p",
                                         "4096", "--precision", "fp8", "--kv-precision", "fp8", "-f", "json"]).output)
    assert pre["kv_cache_bytes"] == 2 * 32 * 8 * 128 * 1 * 4096
    bad = runner.invoke(app, ["estimate", "prefill", "-m", "llama3-8b", "-a", "h100", "-b", "1", "-p", "64",
                              "--tp", "3"])
    assert bad.exit_code == 2 and "--tp: 3 does not divide the 32 attention heads" in bad.output
