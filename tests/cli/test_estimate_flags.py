"""`dcsim estimate`: bad input given through a flag is reported under that flag (`--model: ...`),
exit code 2, one `error:` line per problem, no traceback; the precision flag takes every recipe
the cost model has."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.domain.precision import PRECISIONS

ROOT = Path(__file__).resolve().parents[2]
DCSIM = ROOT / ".venv" / "bin" / "dcsim"

# The shape flags each sub-command needs besides --model and --accelerator.
SHAPE = {
    "train": ["--micro-batch", "1", "--seq", "64"],
    "prefill": ["--batch", "1", "--prompt", "8"],
    "decode": ["--batch", "1", "--context", "8"],
}
COMMANDS = sorted(SHAPE)

SPEC = """\
name: tiny
layers: 2
hidden: 256
heads: 4
vocab: 1000
"""


def estimate(command: str, model: str = "gpt3-125m", accelerator: str = "h100-sxm", *extra: str):
    """Run `dcsim estimate COMMAND` in-process with the given model, accelerator and extra flags."""
    args = ["estimate", command, "--model", model, "--accelerator", accelerator, *SHAPE[command], *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def error_lines(result) -> list[str]:
    """The error lines of a run that must have failed on bad input (exit 2, nothing on stdout)."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    return lines


# ----------------------------------------------------------------------------- catalog names
@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_model_is_named_by_its_flag(command):
    lines = error_lines(estimate(command, model="llama2-7"))
    assert len(lines) == 1
    assert lines[0].startswith("error: --model: unknown model 'llama2-7'; did you mean 'llama2-7b'? (known: ")


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_accelerator_is_named_by_its_flag(command):
    lines = error_lines(estimate(command, accelerator="h100-sx"))
    assert len(lines) == 1
    assert lines[0].startswith("error: --accelerator: unknown accelerator 'h100-sx'; "
                               "did you mean 'h100-sxm'? (known: ")


def test_unknown_model_and_accelerator_are_both_reported():
    lines = error_lines(estimate("decode", model="xyz", accelerator="zzz"))
    assert len(lines) == 2
    assert lines[0].startswith("error: --model: unknown model 'xyz' (known: ")
    assert lines[1].startswith("error: --accelerator: unknown accelerator 'zzz' (known: ")


# ----------------------------------------------------------------------------- model spec files
@pytest.mark.parametrize("command", COMMANDS)
def test_missing_model_file_is_named_as_written(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = error_lines(estimate(command, model="specs/none.yaml"))
    assert lines == ["error: --model: model spec file not found: specs/none.yaml"]


@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_model_file_names_flag_file_and_line(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("broken.yaml").write_text("name: tiny\nlayers: [2\n")
    lines = error_lines(estimate(command, model="broken.yaml"))
    assert len(lines) == 1
    assert lines[0].startswith("error: --model: broken.yaml:")
    assert "invalid YAML" in lines[0]


def test_model_file_with_bad_values_lists_each_under_the_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(SPEC.replace("layers: 2", "layers: two").replace("heads: 4", "hedas: 4"))
    lines = error_lines(estimate("train", model="bad.yaml"))
    assert "error: --model: bad.yaml:2: layers: expected a whole number (got 'two')" in lines
    assert any(line.startswith("error: --model: bad.yaml:4: hedas: unknown key 'hedas'; did you mean "
                               "'heads'?") for line in lines), lines
    assert all(line.startswith("error: --model: bad.yaml:") for line in lines), lines


def test_model_file_that_is_a_list_or_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("list.yaml").write_text("- 1\n- 2\n")
    Path("folder.yaml").mkdir()
    assert error_lines(estimate("prefill", model="list.yaml")) == [
        "error: --model: list.yaml: a model spec is a mapping of keys such as layers, hidden, heads"]
    assert error_lines(estimate("prefill", model="folder.yaml")) == [
        "error: --model: folder.yaml is a folder, expected a file"]


def test_good_model_file_relative_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(SPEC)
    result = estimate("decode", "tiny.yaml", "h100", "--format", "json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["model"] == "tiny" and r["accelerator"] == "h100-sxm"
    # 2 (K, V) x 2 layers x 4 heads x 64 x (8 + 1) tokens x 1 sequence x 2 B (bf16)
    assert r["kv_cache_bytes"] == 2 * 2 * 4 * 64 * 9 * 2


# ----------------------------------------------------------------------------- fabric files
PARALLEL = ("--gpus", "16", "--tp", "2")


def fabric_errors(tmp_path, text: str | None, accelerator: str = "h100-sxm") -> list[str]:
    """Error lines of a parallel train estimate given --fabric fabric.yaml (None: no such file)."""
    path = tmp_path / "fabric.yaml"
    if text is not None:
        path.write_text(text)
    return error_lines(estimate("train", "gpt3-125m", accelerator, *PARALLEL, "--fabric", str(path)))


def test_missing_fabric_file(tmp_path):
    assert fabric_errors(tmp_path, None) == [f"error: --fabric: file not found: {tmp_path / 'fabric.yaml'}"]


def test_malformed_fabric_file(tmp_path):
    lines = fabric_errors(tmp_path, "oversubscription: [4\n")
    assert len(lines) == 1 and lines[0].startswith(f"error: --fabric: {tmp_path / 'fabric.yaml'}:")
    assert "invalid YAML" in lines[0]


def test_fabric_file_with_bad_keys(tmp_path):
    lines = fabric_errors(tmp_path, "oversubscription: 0.5\nnod: dgx-h100\n")
    f = tmp_path / "fabric.yaml"
    assert lines == [f"error: --fabric: {f}:1: oversubscription: must be >= 1.0 (got 0.5)",
                     f"error: --fabric: {f}:2: nod: unknown key 'nod'; did you mean 'node'? (allowed: "
                     "topology, switch, optic, node_link, core_optic, cable, nic, oversubscription, tiers, node)"]


def test_fabric_file_with_unknown_catalog_names(tmp_path):
    lines = fabric_errors(tmp_path, "switch: qm9701\nnode: dgx-h10\n")
    f = tmp_path / "fabric.yaml"
    assert len(lines) == 2
    assert lines[0].startswith(f"error: --fabric: {f}:1: switch: unknown switch 'qm9701'")
    assert lines[1].startswith(f"error: --fabric: {f}:2: node: unknown node 'dgx-h10'; "
                               "did you mean 'dgx-h100'?")


def test_fabric_node_with_another_accelerator(tmp_path):
    lines = fabric_errors(tmp_path, "oversubscription: 2\nnode: dgx-a100\n")
    assert lines == [f"error: --fabric: {tmp_path / 'fabric.yaml'}:2: node: node dgx-a100 holds "
                     "a100-sxm-80gb, not h100-sxm"]


def test_fabric_checked_even_on_one_gpu(tmp_path):
    path = tmp_path / "fabric.yaml"
    path.write_text("node: nosuch\n")
    lines = error_lines(estimate("train", "gpt3-125m", "h100", "--fabric", str(path)))
    assert len(lines) == 1 and lines[0].startswith(f"error: --fabric: {path}:1: node: unknown node 'nosuch'")


# ----------------------------------------------------------------------------- precision
def test_precision_choices_are_the_cost_model_recipes():
    """--help lists exactly the recipes of the one precision table."""
    result = CliRunner().invoke(app, ["estimate", "train", "--help"], env={"COLUMNS": "400"})
    listed = re.search(r"--precision\s+<([^>]+)>", result.stdout).group(1).split("|")
    assert listed == list(PRECISIONS)


def test_fp16_mixed_is_accepted_and_costs_what_bf16_mixed_does():
    """precision.py: fp16-mixed holds the same bytes per tensor as bf16-mixed, and the H100's fp16
    and bf16 dense peaks are equal, so the two recipes give the same step and memory; fp16-amp
    (fp32 weights and residual stream) does not."""
    def run(name: str) -> dict:
        result = estimate("train", "gpt3-125m", "h100", "--precision", name, "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    fp16, bf16, amp = run("fp16-mixed"), run("bf16-mixed"), run("fp16-amp")
    assert fp16["peak_memory_bytes"] == bf16["peak_memory_bytes"] != amp["peak_memory_bytes"]
    assert fp16["step_time_s"] == pytest.approx(bf16["step_time_s"], rel=1e-12)


def test_unknown_precision_lists_every_recipe():
    lines = error_lines(estimate("train", "gpt3-125m", "h100", "--precision", "fp7"))
    assert len(lines) == 1 and lines[0].startswith("error: --precision: 'fp7' is not one of ")
    for name in PRECISIONS:
        assert f"'{name}'" in lines[0], name


# ----------------------------------------------------------------------------- as a real process
def test_console_script_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [str(DCSIM), "estimate", "prefill", "--model", "gpt3-17b", "--accelerator", "h100",
         "--batch", "1", "--prompt", "8"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: --model: unknown model 'gpt3-17b'; did you mean 'gpt3-175b'?")
