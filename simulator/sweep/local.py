"""Run variants: in this process, on a local process pool, or on a Dask cluster.

Every variant is a pure ``run_variant(raw, base_dir) -> dict`` (sweep/variant.py), so any
executor that maps a function over picklable arguments can run a sweep. Each result is written to
the cache as soon as it arrives, so an interrupted sweep resumed with the same ``--cache``
recomputes nothing that was done.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial

from simulator import signals
from simulator.sweep.cache import ResultCache, scenario_key
from simulator.sweep.dask import map_on_dask
from simulator.sweep.grid import Variant
from simulator.sweep.variant import run_variant


def _on_pool(run: Callable[[dict], dict], raws: list[dict], workers: int) -> Iterator[tuple[int, dict]]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool, signals.stopping(pool):
        with signals.quiet_threads():  # the pool's threads leave the signals to the main one
            futures = {pool.submit(run, raw): i for i, raw in enumerate(raws)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_all(variants: list[Variant], base_dir: str, source: str | None = None, workers: int = 1,
            cache_dir: str | None = None, dask_address: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """One result per variant, in variant order (``{"error": ...}`` for a variant that failed);
    cached ones are not run again."""
    cache = ResultCache(cache_dir)
    keys = [scenario_key(v.raw, base_dir) for v in variants]
    results: list[dict | None] = [cache.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    done = len(variants) - len(todo)
    if progress:
        progress(done, len(variants))
    run = partial(run_variant, base_dir=base_dir, source=source)
    raws = [variants[i].raw for i in todo]
    if dask_address:
        arrivals: Iterator[tuple[int, dict]] = map_on_dask(dask_address, run, raws, workers)
    elif workers <= 1 or len(todo) <= 1:
        arrivals = ((k, run(raw)) for k, raw in enumerate(raws))
    else:
        arrivals = _on_pool(run, raws, min(workers, len(todo)))
    for k, out in arrivals:
        i = todo[k]
        results[i] = out
        if out.get("kind") != "internal":
            cache.put(keys[i], out)
        done += 1
        if progress:
            progress(done, len(variants))
    return [r if r is not None else {"error": "not run", "kind": "internal"} for r in results]
