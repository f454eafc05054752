"""The dcsim command line: exit codes, error lines, JSON shapes and closed-form checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parents[2]
DCSIM = ROOT / ".venv" / "bin" / "dcsim"
GIB = 2.0**30

GOOD = """\
name: cli-test
simulation:
  horizon: 2d
site:
  power_envelope: 1MW
  climate: temperate
cluster:
  racks:
    - name: g
      node: dgx-h100
      nodes_per_rack: 4
      count: 2
workloads:
  training:
    - name: j
      model: gpt3-1.3b
      tokens: 1B
      global_batch: 64
      gpus: 32
"""

# Three independent schema problems on lines 5, 12 and 15.
BAD = """\
name: cli-test
simulation:
  horizon: 2d
site:
  power_envelope: 400Gb/s
  climate: temperate
cluster:
  racks:
    - name: g
      node: dgx-h100
      nodes_per_rack: 4
      count: -2
workloads:
  training:
    - nme: j
      model: gpt3-1.3b
      tokens: 1B
      global_batch: 64
      gpus: 32
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def estimate_json(runner: CliRunner, *args: str) -> dict:
    result = invoke(runner, "estimate", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ help, schema, catalog
def test_help_end_to_end():
    proc = subprocess.run(
        [str(DCSIM), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("validate", "estimate", "catalog", "schema"):
        assert command in proc.stdout


def test_estimate_help(runner):
    result = invoke(runner, "estimate", "train", "--help")
    assert result.exit_code == 0
    assert "--micro-batch" in result.stdout and "--seq" in result.stdout


def test_schema_is_json_with_scenario_properties(runner):
    result = invoke(runner, "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    props = schema["properties"]
    for key in (
        "name",
        "simulation",
        "site",
        "cluster",
        "power",
        "cooling",
        "costs",
        "workloads",
        "catalog",
    ):
        assert key in props
    assert set(schema["required"]) == {"site", "cluster"}
    assert schema["additionalProperties"] is False
    site = schema["$defs"]["Site"]
    assert "power_envelope" in site["properties"]
    assert "'20MW'" in site["properties"]["power_envelope"]["description"]


def test_catalog_models_json(runner):
    result = invoke(runner, "catalog", "models", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["models"]
    by_name = {m["name"]: m for m in data["models"]}
    assert by_name["gpt3-175b"]["layers"] == 96
    assert by_name["gpt3-175b"]["hidden"] == 12288
    assert all(m["source"] for m in data["models"])


def test_catalog_accelerators_json_in_si(runner):
    data = json.loads(invoke(runner, "catalog", "accelerators", "-f", "json").stdout)
    h100 = next(a for a in data["accelerators"] if a["name"] == "h100-sxm")
    assert h100["peak_flops"]["bf16"] == pytest.approx(989.4e12)
    assert h100["hbm_bw"] == pytest.approx(3.35e12)


def test_catalog_table_lists_everything(runner):
    result = invoke(runner, "catalog", "--format", "md")
    assert result.exit_code == 0
    for name in ("h100-sxm", "gpt3-175b", "dgx-h100", "quantum2-qm9700", "osfp-400g", "temperate"):
        assert name in result.stdout


def test_catalog_unknown_kind_exits_2(runner):
    result = invoke(runner, "catalog", "gizmos")
    assert result.exit_code == 2
    assert "unknown catalog kind 'gizmos'" in result.stderr


# ----------------------------------------------------------------------------- validate
def test_validate_good_file(runner, tmp_path):
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    result = invoke(runner, "validate", str(f))
    assert result.exit_code == 0, result.output
    # 2 racks x 4 nodes x 8 GPUs = 64 accelerators
    assert result.stdout.startswith(
        "ok: cli-test: 1 rack group(s), 64 accelerators, 1 training job(s), 0 inference service(s)"
    )
    assert "horizon 2.00 days" in result.stdout
    assert result.stderr == ""


def test_validate_bad_file_lists_every_problem(runner, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    result = invoke(runner, "validate", str(f))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), lines
    assert "Traceback" not in result.output
    assert len(lines) == 4, lines  # power, count, unknown key 'nme', missing 'name'
    text = result.stderr
    assert f"{f}:5: site.power_envelope: '400Gb/s' is a bandwidth, expected a power" in text
    assert f"{f}:12: cluster.racks[0].count: must be >= 1" in text
    assert f"{f}:15: workloads.training[0].nme: unknown key 'nme'; did you mean 'name'?" in text
    assert "workloads.training[0].name: missing required key" in text


def test_validate_cross_reference_problem(runner, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.replace("gpus: 32", "gpus: 65"))
    result = invoke(runner, "validate", str(f))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {f}:19: workloads.training[0].gpus: 65 GPUs requested but the largest rack group "
        "has 64"
    )


def test_validate_missing_file(runner, tmp_path):
    result = invoke(runner, "validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_validate_huge_integer_is_bad_input_not_a_crash(runner, tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text(GOOD.replace("power_envelope: 1MW", "power_envelope: 1" + "0" * 400))
    result = invoke(runner, "validate", str(f))
    assert "internal error" not in result.stderr
    assert result.exit_code == 2
    assert "site.power_envelope" in result.stderr


def test_help_and_schema_errors_stay_out_of_numba(tmp_path):
    """`--help` and a scenario that fails its schema never load the cost model: only a scenario
    that is clean enough to plan pays for Numba (validate plans it, as the run does)."""
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.replace("count: 2", "count: zero"))
    code = (
        "import sys\n"
        "from simulator.cli import app\n"
        f"for args in (['--help'], ['validate', {str(f)!r}]):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "count" in proc.stderr


def test_validate_plans_the_scenario(tmp_path):
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "validate", str(f)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: cli-test")


def test_validate_exit_code_via_console_script(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    proc = subprocess.run(
        [str(DCSIM), "validate", str(f)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("error: ") == 4


# ----------------------------------------------------------------------------- estimate train
def _gpt3_125m_active_params() -> int:
    # 12 layers, hidden 768, 12 heads of 64, MLP 4*768, vocab 50257 (Brown et al. 2020).
    h, a, d, f, L, V = 768, 12, 64, 3072, 12, 50257
    per_layer = h * 3 * a * d + a * d * h + 2 * h * f
    return L * per_layer + V * h  # + LM head (embedding lookups are not matmuls)


def test_estimate_train_json(runner):
    b, s = 8, 1024
    r = estimate_json(
        runner,
        "train",
        "--model",
        "gpt3-125m",
        "--accelerator",
        "h100-sxm",
        "--micro-batch",
        str(b),
        "--seq",
        str(s),
    )
    for key in ("step_time_s", "peak_memory_bytes", "tokens_per_s", "model_flops_per_step", "mfu"):
        assert key in r
        assert isinstance(r[key], float) and r[key] > 0
    assert r["model"] == "gpt3-125m" and r["accelerator"] == "h100-sxm"
    assert r["tokens_per_s"] == pytest.approx(b * s / r["step_time_s"], rel=1e-12)
    # Model FLOPs (Chowdhery et al. 2022, app. B): 3 x forward = 3 x (2 N b s + attention), causal
    # attention 4 b s^2 a d L (s+1)/(2s).
    n = _gpt3_125m_active_params()
    assert n == 123_532_032
    attention = 4 * b * s * s * 12 * 64 * 12 * (s + 1) / (2 * s)
    assert r["model_flops_per_step"] == pytest.approx(3 * (2 * n * b * s + attention), rel=1e-12)
    # MFU against the H100 SXM bf16 dense peak of 989.4 TFLOP/s.
    assert r["mfu"] == pytest.approx(
        r["model_flops_per_step"] / (r["step_time_s"] * 989.4e12), rel=1e-9
    )
    assert 0.05 < r["mfu"] < 0.8
    # Weights + grads + Adam for 125M params in mixed precision need at least 16 B/param = 2 GB.
    assert 16 * 125e6 < r["peak_memory_bytes"] < 79.18 * GIB


def test_estimate_train_table_output(runner):
    result = invoke(
        runner,
        "estimate",
        "train",
        "-m",
        "gpt3-125m",
        "-a",
        "h100",
        "-b",
        "1",
        "-s",
        "128",
        "--format",
        "md",
    )
    assert result.exit_code == 0
    assert "| step time |" in result.stdout and "| MFU |" in result.stdout


def test_estimate_train_does_not_fit(runner):
    result = invoke(
        runner,
        "estimate",
        "train",
        "--model",
        "llama3-405b",
        "--accelerator",
        "h100-sxm",
        "--micro-batch",
        "1",
        "--seq",
        "2048",
        "--format",
        "json",
    )
    assert result.exit_code == 1
    # With --format json the error is also JSON on stdout (cli/errors.py), for scripts.
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 1 and "does not fit" in doc["error"]
    text = result.stderr
    assert "does not fit" in text
    assert "Traceback" not in text
    numbers = re.search(r"needs ([\d.]+) GiB.*?([\d.]+) GiB usable of ([\d.]+) GiB", text)
    assert numbers, text
    needed, usable, total = (float(x) for x in numbers.groups())
    # 405 853 388 800 params x 16 B (fp32 weights + grads + Adam m, v) is a lower bound.
    assert needed >= 405_853_388_800 * 16 / GIB
    # Usable = 79.18 GiB less the 0.75 GiB runtime reserve memory.py documents.
    assert usable == pytest.approx(79.18 - 0.75, abs=0.05)
    assert total == pytest.approx(79.2, abs=0.05)


def test_estimate_unknown_model_exits_2(runner):
    result = invoke(
        runner, "estimate", "train", "-m", "gpt3-17b", "-a", "h100", "-b", "1", "-s", "128"
    )
    assert result.exit_code == 2
    assert "did you mean 'gpt3-175b'?" in result.stderr
    assert result.stderr.startswith("error: --model: unknown model 'gpt3-17b'")


def test_estimate_unknown_accelerator_exits_2(runner):
    result = invoke(
        runner, "estimate", "decode", "-m", "gpt3-125m", "-a", "h10", "-b", "1", "-c", "10"
    )
    assert result.exit_code == 2
    assert "did you mean 'h100-sxm'?" in result.stderr


def test_estimate_bad_flag_value_exits_2(runner):
    result = runner.invoke(
        app, ["estimate", "train", "-m", "gpt3-125m", "-a", "h100", "-b", "0", "-s", "128"]
    )
    assert result.exit_code == 2


# ----------------------------------------------------------------------------- prefill and decode
def test_estimate_prefill_json(runner):
    b, p = 4, 512
    r = estimate_json(
        runner, "prefill", "-m", "llama2-7b", "-a", "h100", "--batch", str(b), "--prompt", str(p)
    )
    assert r["latency_s"] > 0
    assert r["tokens_per_s"] == pytest.approx(b * p / r["latency_s"], rel=1e-12)
    # KV cache: 2 (K,V) x 32 layers x 32 heads x 128 x 512 tokens x 4 x 2 B = 1 GiB exactly.
    assert r["kv_cache_bytes"] == 2 * 32 * 32 * 128 * p * b * 2 == GIB


def test_estimate_decode_json_kv_cache_closed_form(runner):
    b, c = 8, 1000
    r = estimate_json(
        runner, "decode", "-m", "llama3-8b", "-a", "h100", "--batch", str(b), "--context", str(c)
    )
    for key in ("step_time_s", "tokens_per_s", "kv_cache_bytes"):
        assert key in r
    # One new token per sequence per step.
    assert r["tokens_per_s"] == pytest.approx(b / r["step_time_s"], rel=1e-12)
    # serving.py: the step appends the new token, so the cache holds context + 1 tokens.
    # Llama-3 8B: 32 layers, 8 KV heads of 128 (GQA), bf16.
    layers, kv_heads, head_dim = 32, 8, 128
    assert r["kv_cache_bytes"] == 2 * layers * kv_heads * head_dim * (c + 1) * b * 2
    # Decode is bandwidth-bound: at least the weights (~16 GB) read once at 3.35 TB/s.
    assert r["step_time_s"] >= r["weights_bytes"] / 3.35e12


def test_estimate_decode_does_not_fit_names_sizes(runner):
    result = invoke(
        runner, "estimate", "decode", "-m", "llama2-70b", "-a", "h100", "-b", "1", "-c", "16"
    )
    # 69e9 params x 2 B = 138 GB of bf16 weights > 80 GB
    assert result.exit_code == 1
    assert "does not fit" in result.stderr
    assert re.search(r"needs [\d.]+ GiB per accelerator .*, [\d.]+ GiB on the device", result.stderr)


# ----------------------------------------------------------------------------- model spec files
TINY_MOE = """\
name: tiny-moe
layers: 4
hidden: 512
heads: 8
kv_heads: 2
ffn_hidden: 1024
mlp: swiglu
vocab: 1000
experts: 4
top_k: 2
"""


def test_model_spec_file(runner, tmp_path):
    f = tmp_path / "tiny.yaml"
    f.write_text(TINY_MOE)
    b, s = 2, 128
    r = estimate_json(
        runner,
        "train",
        "--model",
        str(f),
        "--accelerator",
        "h100-sxm",
        "--micro-batch",
        str(b),
        "--seq",
        str(s),
    )
    assert r["model"] == "tiny-moe"
    # Active matmul params per token: attention h(a+2g)d + adh, top_k=2 SwiGLU experts 3hf each,
    # router h*E; plus the LM head V*h.
    h, a, g, d, f_, L, V, E, k = 512, 8, 2, 64, 1024, 4, 1000, 4, 2
    active = L * (h * (a + 2 * g) * d + a * d * h + k * 3 * h * f_ + h * E) + V * h
    attention = 4 * b * s * s * a * d * L * (s + 1) / (2 * s)
    assert r["model_flops_per_step"] == pytest.approx(
        3 * (2 * active * b * s + attention), rel=1e-12
    )
    assert r["tokens_per_s"] == pytest.approx(b * s / r["step_time_s"], rel=1e-12)


def test_model_spec_file_for_decode(runner, tmp_path):
    f = tmp_path / "tiny.yaml"
    f.write_text(TINY_MOE)
    r = estimate_json(runner, "decode", "-m", str(f), "-a", "h100", "-b", "3", "-c", "99")
    assert r["kv_cache_bytes"] == 2 * 4 * 2 * 64 * 100 * 3 * 2


def test_model_spec_file_with_unknown_key(runner, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(TINY_MOE.replace("layers: 4", "layerz: 4"))
    result = invoke(runner, "estimate", "train", "-m", str(f), "-a", "h100", "-b", "1", "-s", "64")
    assert result.exit_code == 2
    assert f"{f}:2: layerz: unknown key 'layerz'; did you mean 'layers'?" in result.stderr
    assert "Traceback" not in result.output


def test_model_spec_file_heads_not_dividing_hidden(runner, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(TINY_MOE.replace("hidden: 512", "hidden: 500"))
    result = invoke(runner, "estimate", "train", "-m", str(f), "-a", "h100", "-b", "1", "-s", "64")
    assert result.exit_code == 2
    assert "hidden (500) must be a multiple of heads (8)" in result.stderr
    assert str(f) in result.stderr


def test_model_spec_file_missing(runner, tmp_path):
    missing = tmp_path / "none.yaml"
    result = invoke(
        runner, "estimate", "prefill", "-m", str(missing), "-a", "h100", "-b", "1", "-p", "8"
    )
    assert result.exit_code == 2
    assert f"model spec file not found: {missing}" in result.stderr


def test_model_spec_file_not_a_mapping(runner, tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    result = invoke(runner, "estimate", "prefill", "-m", str(f), "-a", "h100", "-b", "1", "-p", "8")
    assert result.exit_code == 2
    assert "a model spec is a mapping" in result.stderr
