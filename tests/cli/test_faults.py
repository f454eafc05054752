"""Faults around the output folder and the process: what ``--force`` may replace, a full disk, a
read-only place, two runs writing the same folder, SIGTERM and SIGINT, and the heartbeat.

Every failure is exit 2 (bad input, or an output that cannot be written) or 130/143 (interrupted),
one line, no traceback, and never a partial output folder or a leftover ``.OUT.tmp-*`` one.
The faults are injected (a writer that raises ENOSPC, a probe that meets a read-only file
system, a signal sent from inside the writer), so the tests need no tmpfs and no root.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.errors import InputError
from simulator.report import writer
from simulator.report.writer import MARKER, write_outputs

ROOT = Path(__file__).resolve().parents[2]
VALID = (ROOT / "tests" / "bad_inputs" / "_valid.yaml").read_text(encoding="utf-8")
SHORT = VALID.replace("horizon: 1d, sample_interval: 1h", "horizon: 2h, sample_interval: 1h")
LONG = VALID.replace("horizon: 1d, sample_interval: 1h", "horizon: 5y, sample_interval: 1min").replace(
    "tokens: 1B", "tokens: 1e15")
runner = CliRunner()


def _scenario(folder: Path, text: str = SHORT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name
                  or ".probe-" in p.name)


# ----------------------------------------------------------------------------- --force
def test_force_never_replaces_the_folder_holding_the_scenario(tmp_path):
    folder = tmp_path / "dir"
    scenario = _scenario(folder)
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["run", str(scenario), "-o", str(folder), "--force"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(f"error: --out: {folder} holds the input {scenario}")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "s.yaml"]


def test_force_refuses_a_folder_dcsim_did_not_write(tmp_path):
    scenario = _scenario(tmp_path / "in")
    other = tmp_path / "results"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work", encoding="utf-8")
    result = runner.invoke(app, ["run", str(scenario), "-o", str(other), "--force"])
    assert result.exit_code == 2
    assert f"{other} is not empty and was not written by dcsim (no {MARKER} marker)" in result.output
    assert (other / "thesis.tex").read_text(encoding="utf-8") == "years of work"
    # The writer itself refuses too (a caller of the API that skips the CLI's checks).
    with pytest.raises(InputError, match="not written by dcsim"):
        write_outputs(other, {"a.txt": "x"}, force=True)
    assert sorted(p.name for p in other.iterdir()) == ["thesis.tex"]


def test_force_replaces_an_earlier_output_and_an_empty_folder(tmp_path):
    scenario = _scenario(tmp_path / "in")
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(scenario), "-o", str(out)]).exit_code == 0
    assert (out / MARKER).is_file()
    (out / "stale.txt").write_text("from before", encoding="utf-8")
    again = runner.invoke(app, ["run", str(scenario), "-o", str(out), "--force"])
    assert again.exit_code == 0, again.output
    assert not (out / "stale.txt").exists() and (out / "summary.json").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["run", str(scenario), "-o", str(empty), "--force"]).exit_code == 0
    assert (empty / MARKER).is_file()
    assert _leftovers(tmp_path) == []


def test_sweep_and_plan_refuse_a_foreign_folder_too(tmp_path):
    scenario = _scenario(tmp_path / "in")
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("1,2\n", encoding="utf-8")
    for command in ("sweep", "plan"):
        result = runner.invoke(app, [command, str(scenario), "-o", str(other), "--force"])
        assert result.exit_code == 2, result.output
        assert "not written by dcsim" in result.output
    assert sorted(p.name for p in other.iterdir()) == ["data.csv"]


# ----------------------------------------------------------------------------- disk faults
def _no_simulation(monkeypatch):
    from simulator import api

    def refuse(*_args, **_kwargs):
        raise AssertionError("simulated although the output could not be written")

    monkeypatch.setattr(api, "simulate", refuse)


def test_a_full_disk_while_writing_leaves_nothing_and_exits_2(tmp_path, monkeypatch):
    scenario = _scenario(tmp_path / "in")
    out = tmp_path / "out"

    def full(_frame, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(writer, "write_parquet", full)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line == f"error: --out: cannot write the output folder {out}: No space left on device; nothing was written"
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_full_disk_while_replacing_keeps_the_old_folder_whole(tmp_path, monkeypatch):
    scenario = _scenario(tmp_path / "in")
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(scenario), "-o", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(Path, "write_text", _raise_enospc)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "--force"])
    assert result.exit_code == 2 and "No space left on device" in result.output
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def _raise_enospc(self, *_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))


def test_too_little_free_space_is_refused_before_simulating(tmp_path, monkeypatch):
    import shutil as real_shutil

    from simulator.cli import run as run_module

    scenario = _scenario(tmp_path / "in")
    usage = real_shutil.disk_usage(tmp_path)
    monkeypatch.setattr(run_module.shutil, "disk_usage", lambda _path: usage._replace(free=5 * 2**20))
    _no_simulation(monkeypatch)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "only 5.0 MiB free under" in result.output and "needs about 16 MiB" in result.output


def test_a_read_only_place_is_refused_before_simulating(tmp_path, monkeypatch):
    from simulator.cli import run as run_module

    scenario = _scenario(tmp_path / "in")

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(run_module.tempfile, "mkdtemp", read_only)
    _no_simulation(monkeypatch)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "deep" / "out")])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line == f"error: --out: cannot create {tmp_path / 'deep' / 'out'}: {tmp_path} is not writable " \
                   "(Read-only file system)"


@pytest.mark.parametrize("place", ["/proc/dcsim-out", "/dev/null/out"])
def test_an_output_under_a_place_that_cannot_be_created_exits_2(tmp_path, place):
    scenario = _scenario(tmp_path / "in")
    result = runner.invoke(app, ["run", str(scenario), "-o", place])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --out: cannot create ")


def test_two_runs_writing_the_same_folder_at_once_give_one_whole_folder(tmp_path, monkeypatch):
    """Both writers fill their temporary folders; the first rename wins, the second is refused
    (exit 2 in the CLI) and removes its temporary folder: never a merge of the two."""
    out = tmp_path / "out"
    both = threading.Barrier(2)
    real = Path.write_text

    def in_step(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        if self.name == "who.txt":
            both.wait(timeout=10)  # both temporary folders are full before either renames
        return result

    monkeypatch.setattr(Path, "write_text", in_step)
    outcome: dict[str, object] = {}

    def write(who: str) -> None:
        try:
            write_outputs(out, {"a.txt": who * 1000, "who.txt": who})
            outcome[who] = "ok"
        except InputError as err:
            outcome[who] = str(err)

    threads = [threading.Thread(target=write, args=(w,)) for w in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    winners = [w for w, o in outcome.items() if o == "ok"]
    assert len(winners) == 1, outcome
    (loser,) = set("AB") - set(winners)
    assert "appeared while this run was writing it" in str(outcome[loser])
    assert (out / "who.txt").read_text() == winners[0]
    assert (out / "a.txt").read_text() == winners[0] * 1000
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- signals
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                      (signal.SIGINT, 130, "interrupted")])
def test_a_signal_while_writing_leaves_no_temporary_folder(tmp_path, monkeypatch, signum, code, word):
    scenario = _scenario(tmp_path / "in")
    out = tmp_path / "out"
    real = writer.write_parquet

    def signalled(frame, path):
        real(frame, path)  # one file written, then the signal lands mid-write
        os.kill(os.getpid(), signum)
        time.sleep(1.0)  # the handler raises here

    monkeypatch.setattr(writer, "write_parquet", signalled)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out)])
    assert result.exit_code == code, result.output
    assert result.output == f"{word}\n"
    assert not out.exists() and _leftovers(tmp_path) == []


def test_an_import_broken_by_an_interrupt_is_reported_as_the_interrupt(tmp_path, monkeypatch):
    """A signal landing in an extension module's initialisation surfaces as ImportError
    ("initialization failed"), the KeyboardInterrupt swallowed: still exit 130, not an internal
    error (exit 3)."""
    from simulator import signals
    from simulator.scenario import sites_load

    def broken_import(*_args, **_kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
        except KeyboardInterrupt:
            pass  # what the extension's init does with it
        raise ImportError("initialization failed")

    monkeypatch.setattr(sites_load, "load_any", broken_import)   # what dcsim validate loads with
    previous = signals.install()
    try:
        result = runner.invoke(app, ["validate", str(_scenario(tmp_path))])
    finally:
        signals.restore(previous)
    assert result.exit_code == 130, result.output
    assert result.output == "interrupted\n"
    assert signals.pending() is None  # reported once, then forgotten


def _dcsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator.cli", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DCSIM_DEBUG"}


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (Linux: the SigCgt mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _sigterm_when(proc: subprocess.Popen, ready) -> tuple[str, str]:
    try:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
@pytest.mark.parametrize("when", ["start-up", "simulating"])
def test_sigterm_at_start_up_or_during_a_run_exits_143_cleanly(tmp_path, when):
    """start-up: the signal is sent the moment the handler is installed (entry.py, before typer,
    Rich, NumPy or the scenario load); simulating: three seconds in, the run is simulating."""
    scenario = _scenario(tmp_path / "in", LONG)
    proc = subprocess.Popen(_dcsim("run", str(scenario), "-o", str(tmp_path / "out"), "--no-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    start = time.monotonic()
    if when == "start-up":
        stdout, stderr = _sigterm_when(proc, lambda: _catches_sigterm(proc.pid))
    else:
        stdout, stderr = _sigterm_when(proc, lambda: time.monotonic() - start > 3.0)
    assert proc.returncode == 143, (proc.returncode, stderr)
    assert stderr == "terminated\n" and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid``; a thread that ends while they are listed is skipped."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_sigterm_stops_a_sweep_and_its_workers_at_once(tmp_path):
    """Workers busy with variants: the sweep exits 143 within seconds (the pending variants are
    cancelled and the workers stopped, not run to the end) and leaves no worker behind. 24
    variants of a simulated year, so that on a fast, idle machine the sweep is still running when
    the signal comes 8 s in (6 variants finished in under 8 s there)."""
    scenario = _scenario(tmp_path / "in", VALID.replace("horizon: 1d, sample_interval: 1h",
                                                        "horizon: 1y, sample_interval: 10min").replace(
        "tokens: 1B", "tokens: 1e13"))
    proc = subprocess.Popen(_dcsim("sweep", str(scenario), "-o", str(tmp_path / "out"), "--workers", "2",
                                   "--axis", "simulation.seed=" + ",".join(map(str, range(1, 25)))),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    start = time.monotonic()
    workers: list[int] = []
    sent: list[float] = []

    def busy() -> bool:
        workers[:] = _children(proc.pid)
        if len(workers) >= 2 and time.monotonic() - start > 8.0:
            sent.append(time.monotonic())
            return True
        return False

    stdout, stderr = _sigterm_when(proc, busy)
    assert proc.returncode == 143, (proc.returncode, stderr)
    assert stderr == "terminated\n" and stdout == ""
    # A liveness bound, not a speed target: well under a second here, where running the pending
    # variants to the end (the executor's default) took about half a minute with 6 variants.
    assert time.monotonic() - sent[0] < 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    time.sleep(0.5)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in
                Path(f"/proc/{w}/stat").read_text().split()[2]], "workers left running"


# ----------------------------------------------------------------------------- heartbeat
def test_a_heartbeat_line_without_progress_bars(tmp_path, monkeypatch):
    from simulator import api
    from simulator.cli import progress

    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.05)
    real = api.simulate

    def slow(loaded, progress=None):
        def tick(now, horizon):
            progress(now, horizon)
            time.sleep(0.002)

        result = real(loaded, progress=tick)
        progress(7200.0, 7200.0)
        time.sleep(0.5)  # several heartbeats at the end
        return result

    monkeypatch.setattr(api, "simulate", slow)
    scenario = _scenario(tmp_path / "in")
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out"), "--no-progress",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    beats = result.stderr.splitlines()
    assert len(beats) >= 2 and all("still running" in b for b in beats), result.stderr
    assert re.fullmatch(r"dcsim run bad-input: still running, 100\.0% of 2\.00 h simulated, \d+m\d\ds elapsed",
                        beats[-1]), beats[-1]
    assert json.loads(result.stdout)["out"] == str(tmp_path / "out")  # stdout stays clean JSON


def test_heartbeat_words_the_progress_and_stops(capsys):
    from simulator.cli.progress import Heartbeat

    with Heartbeat("dcsim sweep s", lambda done, total: f"{done:.0f} of {total:.0f} variant(s) done",
                   interval=0.02) as beat:
        assert beat.line() == "dcsim sweep s: still running, starting, 0m00s elapsed"
        beat.update(3, 10)
        time.sleep(0.1)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1] == "dcsim sweep s: still running, 3 of 10 variant(s) done, 0m00s elapsed"
    assert Heartbeat("dcsim run \x1b[2J", lambda _d, _t: "", 1).line().startswith("dcsim run \\x1b[2J: ")
    time.sleep(0.05)
    assert capsys.readouterr().err == ""  # stopped with the block
