"""How the cost model's kernels run: the one owner of Numba in dcsim.

Every kernel of this package is a plain Python function restricted to what Numba compiles
(scalars, flat NumPy arrays, loops), decorated with ``kernel``, never with ``numba.njit``
directly. The mode is read once, when this module is first imported, from ``DCSIM_JIT``:

- ``1`` or unset (compiled): ``kernel`` is ``numba.njit(cache=True)``. A kernel compiles on its
  first call, or loads from the on-disk cache configured below, then runs at machine speed.
  Layout searches, simulations, sweeps and plans call kernels millions of times: they need it.
- ``0`` (interpreted): ``kernel`` returns the function itself and Numba is never imported.
  Importing Numba and loading the cached kernels costs about 0.7 s CPU, while evaluating one
  layout as plain Python takes milliseconds: ``dcsim estimate train`` with a given layout runs
  this way (simulator/entry.py) unless the user sets ``DCSIM_JIT`` themselves.

Both modes run the same source on the same IEEE doubles, so they give the same numbers
(tests/cli/test_jit_modes.py compares the CLI's output byte for byte).

Numba's on-disk cache only notices edits to the file holding a kernel, not to the kernels it
calls in other files; a stale caller then runs against a changed callee. So the cache lives in
a folder named after a hash of every source file of this package and of the domain package
(whose scalar rules the kernels compile): any edit starts a new cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from simulator.errors import InputError, Problem

F = TypeVar("F", bound=Callable)

MODES = {"0": False, "1": True}


def _compiled_from_env() -> bool:
    """``DCSIM_JIT`` as a mode: unset or empty means compiled; anything but 0 or 1 is refused."""
    value = os.environ.get("DCSIM_JIT", "").strip()
    if value == "":
        return True
    if value not in MODES:
        raise InputError([Problem("DCSIM_JIT", "must be 0 (interpreted kernels) or 1 (compiled, the default)",
                                  value)])
    return MODES[value]


def _cache_dir() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    # The kernels also compile the domain's scalar rules (domain/layout.py).
    for file in [*sorted(here.glob("*.py")), *sorted((here.parent / "domain").glob("*.py"))]:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    base = os.environ.get("DCSIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "dcsim")
    return os.path.join(base, f"numba-{digest.hexdigest()[:16]}")


def _prune(base: str, keep: int) -> None:
    """Remove all but the ``keep`` most recently used caches (each source edit makes a new one)."""
    if not os.path.isdir(base):
        return
    old = sorted((e for e in os.scandir(base) if e.name.startswith("numba-") and e.is_dir()),
                 key=lambda e: e.stat().st_mtime, reverse=True)[keep:]
    for entry in old:
        shutil.rmtree(entry.path, ignore_errors=True)


def _configure_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    path = _cache_dir()
    try:
        if not os.path.isdir(path):
            _prune(os.path.dirname(path), keep=3)
        os.makedirs(path, exist_ok=True)
    except OSError:
        return
    os.environ["NUMBA_CACHE_DIR"] = path
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:  # numba was imported first (e.g. in a notebook)
        numba_config.CACHE_DIR = path  # type: ignore[attr-defined]


COMPILED: bool = _compiled_from_env()

if COMPILED:
    _configure_numba_cache()  # before Numba is imported: it reads NUMBA_CACHE_DIR once
    from numba import njit as _njit


def kernel(fn: F) -> F:
    """``fn`` as a cost-model kernel: Numba-compiled (cached on disk) or, with DCSIM_JIT=0, itself."""
    if COMPILED:
        return cast(F, _njit(cache=True)(fn))  # a Dispatcher, called as fn is
    return fn
