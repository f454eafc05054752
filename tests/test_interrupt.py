"""Ctrl-C during a long run, and the progress bar when stderr is not a terminal.

An interrupted ``dcsim run`` says "interrupted", exits 130 (128 + SIGINT, as shells do), prints
no traceback and leaves neither the output folder nor a ``.out.tmp-*`` sibling behind.
(Interrupts that land while the files are being written are covered by the write-failure
property in test_properties.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Five years sampled every minute: ~2.6 million samples, tens of seconds of simulation.
LONG = """\
name: long-run
simulation: {horizon: 5y, sample_interval: 1min, seed: 3}
site: {power_envelope: 1MW, climate: temperate}
cluster:
  racks:
    - {name: r, node: dgx-h100, nodes_per_rack: 2, count: 1}
workloads:
  training:
    - {name: j, model: gpt3-125m, tokens: 1e15, global_batch: 32, gpus: 16}
"""

SHORT = LONG.replace("horizon: 5y, sample_interval: 1min", "horizon: 1d, sample_interval: 10min")


def _dcsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator.cli", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DCSIM_DEBUG"}


@pytest.mark.parametrize("progress", ["--no-progress", "--progress"])
def test_sigint_stops_a_long_run_cleanly(tmp_path, progress):
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG, encoding="utf-8")
    proc = subprocess.Popen(_dcsim("run", str(scenario), "-o", str(tmp_path / "out"), progress),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        time.sleep(2.5)  # past start-up and loading: the simulation is running
        assert proc.poll() is None, f"the run ended early:\n{proc.communicate()[1]}"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "interrupted" in stderr
    assert "Traceback" not in stderr + stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]


def test_progress_bar_without_a_terminal(tmp_path):
    """--progress forced on with stderr a pipe: the run completes, the bar stays off stdout (the
    JSON there still parses) and nothing crashes."""
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(_dcsim("run", str(scenario), "-o", str(out), "--progress", "--format", "json"),
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    printed = json.loads(done.stdout)
    assert printed["out"] == str(out)
    assert printed["summary"]["horizon_s"] == 86400.0
    assert (out / "report.html").is_file()


def test_default_progress_is_off_without_a_terminal(tmp_path):
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")
    done = subprocess.run(_dcsim("run", str(scenario), "-o", str(tmp_path / "out"), "--format", "json"),
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no bar, no warnings
    json.loads(done.stdout)
    assert Path(tmp_path / "out" / "summary.json").is_file()


def test_an_interrupt_swallowed_by_a_callback_is_raised_again_at_the_next_tick():
    """Numba's compiler callbacks ignore exceptions: Ctrl-C landing there must not be lost."""
    from simulator.cli import _interruptible

    with _interruptible() as check:
        check()                                    # nothing pending: no-op
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)                        # the handler runs and raises here...
        except KeyboardInterrupt:
            pass                                   # ...and a callback swallows it
        with pytest.raises(KeyboardInterrupt):
            check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_swallowed_interrupt_is_not_reported_as_unraisable():
    """What a ctypes callback does with the exception: hand it to sys.unraisablehook, which
    would print 'Exception ignored ... Traceback' under the 'interrupted' line."""
    from types import SimpleNamespace

    from simulator.cli import _interruptible

    before = sys.unraisablehook
    seen = []
    sys.unraisablehook = seen.append
    try:
        with _interruptible():
            sys.unraisablehook(SimpleNamespace(exc_value=KeyboardInterrupt(), exc_type=KeyboardInterrupt))
            other = SimpleNamespace(exc_value=ValueError("x"), exc_type=ValueError)
            sys.unraisablehook(other)
        assert seen == [other]                       # others still reach the previous hook
        assert sys.unraisablehook == seen.append     # restored
    finally:
        sys.unraisablehook = before
