"""CPU time of a whole ``dcsim estimate train`` call, interpreter start included, with the cost
model's kernels interpreted (``DCSIM_JIT=0``, what the console script picks for one given layout:
simulator/entry.py) and compiled (``DCSIM_JIT=1``, Numba's cached kernels). Target: < 1 s CPU.

CPU time (getrusage of the child) rather than wall time, since the machine is shared; three runs
each after a warm-up, min and median printed with the compiled/interpreted ratio. The two modes'
outputs are asserted identical (the speed must not come from different work)."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3

COMMANDS = {
    "one GPU (gpt3-1.3b, h100-sxm, 2048 x 1)": ["estimate", "train", "-m", "gpt3-1.3b", "-a", "h100-sxm",
                                                "-s", "2048", "-b", "1"],
    "a TP/PP layout (gpt3-175b, 1024 GPUs, tp 8 pp 16)": ["estimate", "train", "-m", "gpt3-175b", "-a", "h100-sxm",
                                                          "-s", "2048", "-b", "1", "--gpus", "1024", "--tp", "8",
                                                          "--pp", "16"],
}


def _timed(args: list[str], jit: str) -> tuple[list[float], list[float], str]:
    """CPU and wall seconds of ``RUNS`` fresh ``dcsim`` processes (after one warm-up), and the output."""
    env = {**os.environ, "DCSIM_JIT": jit}
    cmd = [sys.executable, "-m", "simulator.entry", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    cpu, wall = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return cpu, wall, out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_estimate_train_cpu_in_both_modes(name):
    runs = {jit: _timed(COMMANDS[name], jit) for jit in ("1", "0")}
    assert runs["0"][2] == runs["1"][2]
    print(f"\ndcsim estimate train, {name} ({RUNS} runs, CPU s incl. interpreter start; target < 1 s):")
    for jit, label in (("1", "compiled   "), ("0", "interpreted")):
        cpu, wall, _ = runs[jit]
        print(f"  {label} DCSIM_JIT={jit}: CPU min {min(cpu):.2f} median {statistics.median(cpu):.2f}; "
              f"wall min {min(wall):.2f} median {statistics.median(wall):.2f}")
    print(f"  compiled / interpreted CPU (min): {min(runs['1'][0]) / min(runs['0'][0]):.2f}")
