"""Signs of life for the long commands (run, sweep, plan): a Rich progress bar on a terminal, and
without one (``--no-progress``, a pipe, a CI log) a heartbeat line on stderr every minute, so a
35-minute run is never silent. Both sit on stderr: stdout stays clean for --format json/md.

``ticking`` is what a command uses: it handles SIGINT and SIGTERM for the block
(simulator/signals.py), shows the bar or starts the heartbeat, and yields the ``tick(done,
total)`` to hand to the simulation, which also re-raises an interrupt a callback swallowed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from simulator import signals
from simulator.cli.output import safe

HEARTBEAT_S = 60.0  # seconds between heartbeat lines; tests inject a shorter interval


def progress_bar(enabled: bool, label: str = "simulating"):
    """A rich progress bar (and its update function), or (None, None) when not enabled."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                        TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    task = progress.add_task("run", total=1.0)

    def update(done: float, total: float) -> None:
        progress.update(task, completed=done / total if total else 0.0)

    return progress, update


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"


class Heartbeat:
    """Every ``interval`` seconds, one line on stderr: what is running, how far, for how long.
    ``describe(done, total)`` words the progress (simulated time, variants, plans)."""

    def __init__(self, what: str, describe: Callable[[float, float], str], interval: float | None = None):
        self.what = what
        self.describe = describe
        self.interval = HEARTBEAT_S if interval is None else interval
        self.done = 0.0
        self.total = 0.0
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._beat, name="dcsim-heartbeat", daemon=True)

    def update(self, done: float, total: float) -> None:
        self.done, self.total = done, total

    def line(self) -> str:
        progress = self.describe(self.done, self.total) if self.total else "starting"
        return safe(f"{self.what}: still running, {progress}, {_clock(time.monotonic() - self._start)} elapsed")

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sys.stderr.write(self.line() + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # stderr closed (the reader went away): stay quiet
                return

    def __enter__(self) -> Heartbeat:
        self._start = time.monotonic()
        with signals.quiet_threads():  # SIGINT/SIGTERM go to the main thread, never this one
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


@contextmanager
def ticking(show_bar: bool, what: str, describe: Callable[[float, float], str],
            label: str = "simulating") -> Iterator[Callable[[float, float], None]]:
    """SIGINT/SIGTERM handled, and a bar (``show_bar``) or a heartbeat for the block; yields the
    progress callback ``tick(done, total)``."""
    bar, update_bar = progress_bar(show_bar, label)
    with signals.handling() as check:
        if bar is not None:
            with bar:
                def tick(done: float, total: float) -> None:
                    check()
                    update_bar(done, total)

                yield tick
            return
        with Heartbeat(what, describe) as beat:
            def beat_tick(done: float, total: float) -> None:
                check()
                beat.update(done, total)

            yield beat_tick
