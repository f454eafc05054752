"""Analytic cost models of Transformers on accelerators (pure functions and Numba kernels).

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
from pathlib import Path


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


_configure_numba_cache()
