"""SIGINT (Ctrl-C) and SIGTERM (``timeout``, CI cancellation, systemd, Kubernetes) handled alike.

Either signal raises ``Interrupted`` (a ``KeyboardInterrupt``, so every ``finally`` and every
``except BaseException`` cleanup runs: the atomic writer removes its ``.OUT.tmp-*`` folder), and
the command line exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM) after one line,
``interrupted`` or ``terminated``, never a traceback. A second signal while the first is being
handled is recorded but raises nothing, so it cannot cut the cleanup short (SIGKILL still works).

``install`` is called by simulator/entry.py before anything heavy is imported (the first instant
of the console script) and again by each long command (``handling``), which also re-raises an
interrupt a Numba callback swallowed at the next progress tick. Standard library only.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM arrived; ``exit_code`` is 128 + its number, as shells report it."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def message(self) -> str:
        return NAMES.get(signal.Signals(self.signum), "interrupted")


def exit_code_of(err: BaseException) -> int:
    """The exit code for an interrupt: 130 for a plain KeyboardInterrupt (SIGINT)."""
    return getattr(err, "exit_code", 128 + signal.SIGINT)


def message_of(err: BaseException) -> str:
    return getattr(err, "message", "interrupted")


_received: list[int] = []


def _handler(signum: int, _frame: object) -> None:
    _received.append(signum)
    if len(_received) == 1:
        raise Interrupted(signum)
    # A later signal: the first is already unwinding (cleanup running); let it finish.


def pending() -> Interrupted | None:
    """The interrupt received since ``install``, if any (for re-raising a swallowed one)."""
    return Interrupted(_received[0]) if _received else None


def take_pending() -> Interrupted | None:
    """The interrupt received, if any, forgotten from now on: for reporting an error that an
    interrupt caused (an extension module's import fails with ImportError when the signal lands
    in its initialisation) as the interrupt it was, not as an internal error."""
    found = pending()
    _received.clear()
    return found


def install() -> dict[int, object]:
    """Handle SIGINT and SIGTERM alike from now on; returns the previous handlers. Outside the
    main thread (where Python cannot set handlers) nothing changes. A signal received earlier
    and swallowed (by a callback that ignores exceptions) stays pending for ``check``."""
    previous: dict[int, object] = {}
    try:
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, _handler)
    except ValueError:  # not the main thread
        restore(previous)
        return {}
    return previous


def restore(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


@contextmanager
def handling() -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM raise ``Interrupted`` inside the block; yields ``check``, to call at each
    progress tick: it raises the interrupt again if a callback swallowed it (Numba's compiler
    callbacks, via ctypes, ignore exceptions and report them as unraisable, kept quiet here)."""

    def check() -> None:
        if _received:
            raise Interrupted(_received[0])

    def quiet(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous = install()
    previous_hook, sys.unraisablehook = sys.unraisablehook, quiet
    try:
        yield check
    except Exception as err:  # an error an interrupt caused (a failed import, a broken pool)
        if _received:
            raise Interrupted(_received[0]) from err
        raise
    finally:
        restore(previous)
        sys.unraisablehook = previous_hook
        _received.clear()  # handled: the next command in this process starts afresh


@contextmanager
def stopping(pool: Any) -> Iterator[None]:
    """On an interrupt inside the block, stop the ``ProcessPoolExecutor`` ``pool`` at once: cancel
    what it has not started and terminate its workers (their results are no longer wanted),
    instead of the executor's default of running every pending task before it exits."""
    try:
        yield
    except KeyboardInterrupt:
        workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.kill()  # SIGKILL: workers started under ``quiet_threads`` block SIGTERM
        raise


@contextmanager
def quiet_threads() -> Iterator[None]:
    """Threads started inside the block (an executor's manager and feeder threads, the heartbeat)
    never take SIGINT or SIGTERM: the kernel hands a process signal to any thread that does not
    block it, and only one landing on the main thread wakes it from a wait at once. Worker
    processes started inside the block inherit the mask too: a terminal's Ctrl-C (sent to the
    whole process group) reaches only the parent, which stops them (``stopping``). Outside the
    main thread, or where ``pthread_sigmask`` is missing, nothing changes."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
