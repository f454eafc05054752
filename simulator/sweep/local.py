"""Run variants: in this process, on a local process pool, or on a Dask cluster.

Every variant is a pure ``run_variant(raw, base_dir) -> dict`` (sweep/variant.py), so any
executor that maps a function over picklable arguments can run a sweep.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from simulator import signals
from simulator.sweep.cache import ResultCache, scenario_key
from simulator.sweep.dask import map_on_dask
from simulator.sweep.grid import Variant
from simulator.sweep.variant import run_variant


def run_all(variants: list[Variant], base_dir: str, source: str | None = None, workers: int = 1,
            cache_dir: str | None = None, dask_address: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Results in variant order; cached ones are not run again."""
    cache = ResultCache(cache_dir)
    keys = [scenario_key(v.raw, base_dir) for v in variants]
    results: list[dict | None] = [cache.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    done = len(variants) - len(todo)
    if progress:
        progress(done, len(variants))
    if dask_address:
        outputs = map_on_dask(dask_address, [variants[i].raw for i in todo], base_dir, source)
        for i, out in zip(todo, outputs, strict=True):
            results[i] = out
            cache.put(keys[i], out)
    elif workers <= 1:
        for i in todo:
            out = run_variant(variants[i].raw, base_dir, source)
            results[i] = out
            cache.put(keys[i], out)
            done += 1
            if progress:
                progress(done, len(variants))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool, signals.stopping(pool):
            with signals.quiet_threads():  # the pool's threads leave the signals to the main one
                futures = {i: pool.submit(run_variant, variants[i].raw, base_dir, source) for i in todo}
            for i in todo:
                out = futures[i].result()
                results[i] = out
                cache.put(keys[i], out)
                done += 1
                if progress:
                    progress(done, len(variants))
    return [r for r in results if r is not None]
