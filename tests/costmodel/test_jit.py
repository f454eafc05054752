"""simulator/costmodel/jit.py: in the default (compiled) mode every kernel is exactly what
``numba.njit(cache=True)`` made before the decorator existed; the interpreted mode is checked in
its own processes (tests/cli/test_jit_modes.py), since the mode is fixed at import."""

from __future__ import annotations

import os

import pytest

from simulator.costmodel import jit, search, timeline


def test_the_mode_follows_dcsim_jit():
    assert jit.COMPILED is (os.environ.get("DCSIM_JIT", "").strip() != "0")


@pytest.mark.skipif(not jit.COMPILED, reason="the suite runs with DCSIM_JIT=0")
def test_compiled_kernels_are_cached_nopython_dispatchers():
    from numba.core.caching import FunctionCache
    from numba.core.registry import CPUDispatcher

    for kernel in (timeline.play, search.enumerate_layouts, search.stage_splits):
        assert isinstance(kernel, CPUDispatcher)
        assert kernel.targetoptions["nopython"] is True
        assert isinstance(kernel._cache, FunctionCache)  # cache=True: loaded from disk after the first compile
    # The decorator also compiles functions of other modules (the domain's layout rule).
    assert search.stage_splits.py_func.__module__ == "simulator.domain.layout"
