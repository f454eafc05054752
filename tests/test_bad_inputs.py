"""The bad-input corpus (tests/bad_inputs/, see its README.md): every hostile scenario and every
bad command line fails the same clean way under ``dcsim validate`` and ``dcsim run``.

Each case must exit 2 and print exactly one ``error:`` line per expected problem, each holding
its fragment from expected.yaml (file line, YAML path or flag, value found, what is allowed),
with no traceback and no output folder (nor ``.out.tmp-*`` sibling) left behind. Most cases run
in-process through Typer's CliRunner; a handful also run as real subprocesses, where a traceback
printed by the interpreter itself (outside dcsim's error handling) would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
VALID = CORPUS / "_valid.yaml"
OWN_FILES = {"README.md", "expected.yaml", "_valid.yaml"}

# A few cases of each kind that also run as subprocesses (interpreter-level tracebacks show).
SUBPROCESS_CASES = [
    "41-horizon-in-parsecs.yaml",
    "65-billion-laughs.yaml",
    "67-deep-nesting-flow.yaml",
    "83-nul-bytes.yaml",
    "89-csv-nan.yaml",
    "136-run-unknown-format.args",
    "140-run-out-under-a-file.args",
]

COUNTS = {"files": 0, "problems": 0, "tracebacks": 0, "partial outputs": 0}


def _number(name: str) -> int:
    return int(name.split("-", 1)[0])


CASES = sorted(EXPECTED, key=_number)


@pytest.fixture(scope="module", autouse=True)
def corpus_counts(request):
    """Print what the corpus covered once its tests are done (shown even without -s)."""
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    line = ", ".join(f"{v} {k}" for k, v in COUNTS.items())
    with capture.global_and_fixture_disabled():
        print(f"\nbad-input corpus: {line}")


def _fill(text: str, out: Path | None = None) -> str:
    text = text.replace("{valid}", str(VALID)).replace("{dir}", str(CORPUS))
    return text.replace("{out}", str(out)) if out is not None else text


def _commands(case: str, tmp: Path) -> list[tuple[str, list[str], Path | None]]:
    """(label, dcsim arguments, output folder that must not appear) for one case."""
    out = tmp / "out"
    path = CORPUS / case
    if path.suffix == ".args":
        lines = path.read_text(encoding="utf-8").splitlines()
        args = [_fill(a, out) for a in lines if a and not a.startswith("#")]
        return [("command", args, out if "{out}" in path.read_text(encoding="utf-8") else None)]
    return [("validate", ["validate", str(path)], None),
            ("run", ["run", str(path), "-o", str(out)], out)]


def _check_output(case: str, label: str, code: int, output: str) -> list[str]:
    """Assert the exit code and the error lines of one command; return its lines."""
    expected = EXPECTED[case]
    where = f"{case} ({label})"
    if "Traceback" in output:
        COUNTS["tracebacks"] += 1
    assert "Traceback" not in output, f"{where} printed a traceback:\n{output}"
    assert code == expected["exit"], f"{where}: exit {code}, expected {expected['exit']}:\n{output}"
    lines = [line for line in output.splitlines() if line.strip()]
    stray = [line for line in lines if not line.startswith("error: ")]
    assert not stray, f"{where}: every line must start with 'error: ', got {stray}"
    fragments = [_fill(f) for f in expected["errors"]]
    assert len(lines) == len(fragments), (
        f"{where}: {len(lines)} error lines for {len(fragments)} expected problems:\n{output}")
    unused = list(lines)
    for fragment in fragments:
        hit = next((line for line in unused if fragment in line), None)
        assert hit is not None, f"{where}: no error line contains {fragment!r}:\n{output}"
        unused.remove(hit)
    return lines


def _check_no_output(case: str, tmp: Path) -> None:
    left = sorted(p.name for p in tmp.iterdir())
    if left:
        COUNTS["partial outputs"] += 1
    assert not left, f"{case}: left {left} behind"


def test_corpus_is_complete_and_every_file_belongs_to_a_case():
    assert len(CASES) >= 70
    assert len({_number(c) for c in CASES}) == len(CASES), "case numbers must be unique"
    prefixes = [c.rsplit(".", 1)[0] for c in CASES]
    for path in CORPUS.iterdir():
        if path.name in OWN_FILES or path.name in EXPECTED:
            continue
        owner = [p for p in prefixes if path.name.startswith(p + ".")]
        assert owner, f"{path.name} is neither a case in expected.yaml nor a helper of one"
    for case, entry in EXPECTED.items():
        assert (CORPUS / case).is_file(), f"expected.yaml lists {case}, which does not exist"
        assert entry["exit"] == 2 and entry["errors"], case


def test_the_valid_base_scenario_validates():
    result = CliRunner().invoke(app, ["validate", str(VALID)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_cleanly(case, tmp_path):
    runner = CliRunner()
    seen: dict[str, list[str]] = {}
    for label, args, out in _commands(case, tmp_path):
        result = runner.invoke(app, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            COUNTS["tracebacks"] += 1
            raise AssertionError(f"{case} ({label}) raised {result.exception!r}") from result.exception
        seen[label] = _check_output(case, label, result.exit_code, result.output)
        assert result.stdout == "", f"{case} ({label}): errors belong on stderr"
        if out is not None:
            _check_no_output(case, tmp_path)
    if "run" in seen:  # run stops at the same problems validate finds, before simulating
        assert seen["run"] == seen["validate"], case
    COUNTS["files"] += 1
    COUNTS["problems"] += len(next(iter(seen.values())))


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_fails_cleanly_in_a_real_process(case, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DCSIM_DEBUG"}
    for label, args, out in _commands(case, tmp_path):
        proc = subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                              text=True, env=env, timeout=120, check=False)
        assert proc.stdout == "", f"{case} ({label}): errors belong on stderr"
        _check_output(case, label, proc.returncode, proc.stderr)
        if out is not None:
            _check_no_output(case, tmp_path)


def test_validate_fails_what_the_run_would_fail_with_the_same_located_line(tmp_path):
    """Memory for activations is checked when the layouts are planned, and `dcsim validate` plans
    them too (what validates, runs): Llama 3 405B's training state alone (16 bytes a parameter,
    6.5 TB) is 405 GB a GPU fully sharded over 16 H100s, so no layout fits. Both commands fail
    before simulating, with the file, line and YAML path, the same line, and write nothing."""
    scenario = tmp_path / "big-model.yaml"
    scenario.write_text(VALID.read_text(encoding="utf-8").replace("model: gpt3-125m", "model: llama3-405b"),
                        encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(app, ["validate", str(scenario)])
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out")])
    assert checked.exit_code == result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert checked.output.splitlines() == [line]
    assert line.startswith(f"error: {scenario}:10: workloads.training[0].model: llama3-405b: ")
    assert "fits in memory" in line and "GiB" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big-model.yaml"]
