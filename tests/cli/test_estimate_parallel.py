"""`dcsim estimate train` on many GPUs: explicit layouts, --layout auto, fabric files, costs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.costmodel import memory as mem

runner = CliRunner()


def run_json(*args: str) -> dict:
    result = runner.invoke(app, ["estimate", "train", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_explicit_layout_keys_and_consistency():
    r = run_json("--model", "gpt3-175b", "--accelerator", "h100-sxm", "--gpus", "64", "--tp", "8",
                 "--pp", "8", "--micro-batch", "1", "--seq", "2048", "--global-batch", "512",
                 "--precision", "bf16-mixed")
    for key in ("step_time_s", "peak_memory_bytes", "tokens_per_s", "model_flops_per_step", "mfu"):
        assert key in r
    assert r["layout"]["tp"] == 8 and r["layout"]["pp"] == 8 and r["layout"]["dp"] == 1
    assert r["tokens_per_s"] == pytest.approx(512 * 2048 / r["step_time_s"])
    assert r["mfu"] == pytest.approx(r["model_flops_per_step"] / (r["step_time_s"] * 64 * 989.4e12))
    assert r["breakdown"]["micro_batches"] == 512


def test_auto_layout_is_no_slower_than_a_hand_picked_one_and_fits():
    hand = run_json("--model", "gpt3-175b", "--accelerator", "h100-sxm", "--gpus", "256", "--tp", "8",
                    "--pp", "8", "--micro-batch", "1", "--seq", "2048", "--global-batch", "1024",
                    "--precision", "bf16-mixed", "--recompute", "selective")
    auto = run_json("--model", "gpt3-175b", "--accelerator", "h100-sxm", "--gpus", "256", "--layout", "auto",
                    "--seq", "2048", "--global-batch", "1024", "--precision", "bf16-mixed",
                    "--recompute", "selective")
    assert auto["step_time_s"] <= hand["step_time_s"] * (1 + 1e-9)
    assert auto["layouts_evaluated"] > 10
    # A feasible layout fits by the model's own accounting, with the framework allowance:
    # (HBM - 1 GiB of context/workspace) * 0.95 for fragmentation.
    # the runtime reserve (0.75 GiB) and NCCL buffers (1 GiB) memory.py documents
    assert auto["usable_memory_bytes"] == pytest.approx((79.18 - 0.75 - 1.0) * 2**30)
    assert auto["peak_memory_bytes"] <= auto["usable_memory_bytes"]


def test_more_tensor_parallelism_needs_less_memory_per_gpu():
    common = ("--model", "llama2-70b", "--accelerator", "h100-sxm", "--gpus", "64", "--pp", "4",
              "--micro-batch", "1", "--seq", "4096", "--global-batch", "256", "--precision", "bf16-mixed")
    tp4 = run_json(*common, "--tp", "4")
    tp8 = run_json(*common, "--tp", "8")
    assert tp8["peak_memory_bytes"] < tp4["peak_memory_bytes"]


def test_fabric_file_oversubscription_slows_data_parallel_traffic(tmp_path):
    fabric = tmp_path / "fabric.yaml"
    fabric.write_text("node: dgx-h100\noversubscription: 4\n")
    common = ("--model", "gpt3-1.3b", "--accelerator", "h100-sxm", "--gpus", "256", "--micro-batch", "4",
              "--seq", "2048", "--global-batch", "1024", "--precision", "bf16-mixed", "--tp", "1",
              "--zero", "0")
    flat = run_json(*common)
    tight = run_json(*common, "--fabric", str(fabric))
    assert tight["breakdown"]["dp_comm_exposed_s"] > flat["breakdown"]["dp_comm_exposed_s"]
    assert tight["step_time_s"] > flat["step_time_s"]


def test_bad_fabric_file_names_its_key(tmp_path):
    fabric = tmp_path / "fabric.yaml"
    fabric.write_text("node: dgx-h100\noversubscripton: 4\n")
    result = runner.invoke(app, ["estimate", "train", "-m", "gpt3-1.3b", "-a", "h100", "--gpus", "16",
                                 "-b", "1", "-s", "2048", "--fabric", str(fabric)])
    assert result.exit_code == 2
    assert "oversubscripton" in result.output and "did you mean 'oversubscription'" in result.output


def test_layout_auto_and_explicit_degrees_conflict():
    result = runner.invoke(app, ["estimate", "train", "-m", "gpt3-1.3b", "-a", "h100", "--gpus", "16",
                                 "-s", "2048", "--layout", "auto", "--tp", "2"])
    assert result.exit_code == 2
    assert "--layout" in result.output


def test_cheapest_gpu_count_is_no_dearer_than_the_full_size():
    r = run_json("--model", "gpt3-1.3b", "--accelerator", "h100-sxm", "--gpus", "128", "--layout", "auto",
                 "--seq", "2048", "--global-batch", "512", "--precision", "bf16-mixed", "--gpu-hour-cost", "$2.5")
    cheapest = r["cheapest"]
    assert cheapest["gpus"] <= 128
    assert cheapest["usd_per_mtoken"] <= r["usd_per_mtoken"] * (1 + 1e-9)
    # by hand: $/M tokens = price/3600 * gpus * step / tokens per step * 1e6
    assert r["usd_per_mtoken"] == pytest.approx(2.5 / 3600 * 128 * r["step_time_s"] / (512 * 2048) * 1e6)


def test_model_that_fits_nowhere_says_so():
    with pytest.raises(Exception) as err:
        api.estimate_train("llama3-405b", "h100-sxm", None, 8192, gpus=8, layout="auto",
                           precision="bf16-mixed", global_batch=8)
    assert "no layout" in str(err.value) and "GiB" in str(err.value)
    assert mem.GIB == 2**30


def test_issue11_flags_reach_the_layout_and_the_recipe():
    base = ("--model", "llama2-7b", "--accelerator", "h100-sxm", "--micro-batch", "1",
            "--seq", "8192", "--global-batch", "32")
    r = run_json(*base, "--gpus", "32", "--tp", "4", "--cp", "2", "--pp", "4", "--first-stage-layers", "7",
                 "--last-stage-layers", "7", "--tp-comm-overlap")
    lay = r["layout"]
    assert (lay["tp"], lay["cp"], lay["pp"], lay["dp"]) == (4, 2, 4, 1)
    # 32 layers: 7 + 9 + 9 + 7
    assert (lay["first_stage_layers"], lay["last_stage_layers"], lay["tp_comm_overlap"]) == (7, 7, True)
    # stage counts that cannot add up are refused with the reason
    bad = runner.invoke(app, ["estimate", "train", *base, "--gpus", "16", "--tp", "8", "--pp", "2",
                              "--first-stage-layers", "15", "--last-stage-layers", "15"])
    assert bad.exit_code == 2 and "must add up to the model's 32" in bad.output
    base = (*base, "--gpus", "16")
    # data-parallel overlap off leaves the whole gradient reduction exposed
    on = run_json(*base, "--tp", "8", "--stack", "megatron-core-2024")
    off = run_json(*base, "--tp", "8", "--stack", "megatron-core-2024", "--no-overlap-grad-reduce")
    assert off["breakdown"]["dp_comm_exposed_s"] > on["breakdown"]["dp_comm_exposed_s"]
    assert off["step_time_s"] > on["step_time_s"]


def test_unknown_stack_is_named_by_its_flag():
    result = runner.invoke(app, ["estimate", "train", "--model", "gpt3-1.3b", "--accelerator", "h100", "--gpus", "8",
                                 "--micro-batch", "1", "--seq", "2048", "--stack", "megatron-1999"])
    assert result.exit_code == 2
    assert "--stack" in result.output and "unknown software stack 'megatron-1999'" in result.output
