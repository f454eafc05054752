"""Compiled and interpreted kernels (simulator/costmodel/jit.py, ``DCSIM_JIT``) give the same
bytes, interpreted mode never imports Numba, and the console script picks interpreted kernels
only for ``estimate train`` of one given layout (simulator/entry.py), a user's setting winning.

Every mode is a process-wide choice made at import, so each case runs in its own subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.entry import interpreted_is_faster

ROOT = Path(__file__).resolve().parents[2]

TRAIN_CASES = {
    "one gpu": ["-m", "gpt3-1.3b", "-a", "h100-sxm", "-s", "2048", "-b", "1"],
    "tp/pp layout": ["-m", "gpt3-175b", "-a", "h100-sxm", "-s", "2048", "-b", "1", "--gpus", "1024",
                     "--tp", "8", "--pp", "16", "--interleave", "2"],
    "layout auto, small cluster": ["-m", "llama3-8b", "-a", "h100-sxm", "-s", "4096", "-b", "1", "--gpus", "32",
                                   "--layout", "auto"],
}


def _env(jit: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DCSIM_JIT"}
    env["PYTHONPATH"] = str(ROOT)
    if jit is not None:
        env["DCSIM_JIT"] = jit
    return env


def _dcsim(args: list[str], jit: str | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.entry", *args], capture_output=True, text=True,
                          env=_env(jit), cwd=ROOT, timeout=300, check=False)


def _python(code: str, jit: str | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(jit), cwd=ROOT,
                          timeout=300, check=False)


@pytest.mark.parametrize("case", list(TRAIN_CASES))
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_interpreted_and_compiled_kernels_print_the_same_bytes(case, fmt):
    args = ["estimate", "train", *TRAIN_CASES[case], "--format", fmt]
    compiled, interpreted = _dcsim(args, "1"), _dcsim(args, "0")
    assert compiled.returncode == 0, compiled.stderr
    assert interpreted.returncode == 0, interpreted.stderr
    assert compiled.stdout.strip()
    assert interpreted.stdout == compiled.stdout


def test_interpreted_kernels_never_import_numba():
    """An estimate runs the kernels as the plain functions they are, with Numba never loaded."""
    code = (
        "import sys\n"
        "from simulator.costmodel import jit, timeline\n"
        "from simulator.estimates import estimate_train\n"
        "r = estimate_train('gpt3-1.3b', 'h100-sxm', 2, 2048, gpus=8, layout={'tp': 2, 'pp': 2})\n"
        "assert r.step_time_s > 0\n"
        "assert not jit.COMPILED\n"
        "assert type(timeline.play).__name__ == 'function', type(timeline.play)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'numba'], 'numba was imported'\n"
    )
    proc = _python(code, "0")
    assert proc.returncode == 0, proc.stderr


def test_warmup_with_interpreted_kernels_compiles_and_runs_nothing():
    """DCSIM_JIT=0: there is nothing to compile; warmup says so without loading Numba or running
    its (interpreted, slow) warm-up scenario."""
    code = (
        "import sys\n"
        "from simulator.cli.warmup import warm\n"
        "done = warm()\n"
        "assert done['interpreted'] and done['kernels'] == 0, done\n"
        "assert 'simulator.engine.world' not in sys.modules, 'the warm-up scenario ran'\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'numba'], 'numba was imported'\n"
    )
    proc = _python(code, "0")
    assert proc.returncode == 0, proc.stderr
    out = _dcsim(["warmup"], "0")
    assert out.returncode == 0 and "nothing to compile" in out.stdout, out.stdout + out.stderr


def _console(args: list[str]) -> str:
    """Run ``args`` through the console script's main() in a fresh process; then report whether
    Numba was loaded and the mode the kernels ran in."""
    return (
        "import sys\n"
        f"sys.argv = ['dcsim', *{args!r}]\n"
        "from simulator.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "from simulator.costmodel import jit\n"
        "print('numba' in sys.modules, jit.COMPILED)\n"
    )


def test_the_console_script_interprets_one_given_layout():
    proc = _python(_console(["estimate", "train", *TRAIN_CASES["one gpu"]]), None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False False"


def test_an_explicit_dcsim_jit_keeps_compilation():
    proc = _python(_console(["estimate", "train", *TRAIN_CASES["one gpu"]]), "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "True True"


def test_a_layout_search_stays_compiled():
    proc = _python(_console(["estimate", "train", *TRAIN_CASES["layout auto, small cluster"]]), None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "True True"


@pytest.mark.parametrize(("args", "interpreted"), [
    (["estimate", "train", "-m", "x", "-a", "y", "-s", "2048", "-b", "1"], True),
    (["estimate", "train", "-m", "x", "-a", "y", "-s", "2048", "-b4"], True),
    (["estimate", "train", "--micro-batch=4", "--gpus", "64", "--tp", "8"], True),
    (["estimate", "train", "--micro-batch", "4", "--gpus", "64", "--layout", "auto"], False),
    (["estimate", "train", "-b", "4", "--gpus", "64", "--layout=auto"], False),
    (["estimate", "train", "-b", "4", "--gpus", "8", "--gpu-hour-cost", "$2"], False),
    (["estimate", "train", "--gpus", "64", "--tp", "8"], False),  # the micro-batch is searched
    (["estimate", "prefill", "-m", "x", "-a", "y", "-b", "1", "-p", "128"], False),
    (["estimate", "decode", "-m", "x", "-a", "y", "-b", "1", "-c", "128"], False),
    (["run", "scenario.yaml", "-b"], False),
    ([], False),
])
def test_which_command_lines_run_interpreted(args, interpreted):
    assert interpreted_is_faster(args) is interpreted


def test_a_bad_dcsim_jit_is_bad_input():
    proc = _dcsim(["estimate", "train", *TRAIN_CASES["one gpu"]], "yes")
    assert proc.returncode == 2
    assert "DCSIM_JIT" in proc.stderr and "'yes'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not proc.stdout
