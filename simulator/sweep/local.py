"""Run variants: in this process, on a local process pool, or on a Dask cluster.

Every variant is a pure ``run_variant(raw, base_dir) -> dict`` (its summary and costs), so any
executor that maps a function over picklable arguments can run a sweep.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from simulator.sweep.cache import ResultCache, scenario_key
from simulator.sweep.grid import Variant


def run_variant(raw: dict, base_dir: str, source: str | None = None) -> dict:
    """Simulate one variant and return its headline numbers (picklable)."""
    from simulator import api
    from simulator.scenario.load import load_scenario

    result = api.simulate(load_scenario(raw, base_dir=base_dir, source=source))
    return {"summary": result.summary_dict, "costs": result.costs_dict}


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
        from simulator.sweep.dask import map_on_dask

        outputs = map_on_dask(dask_address, [variants[i].raw for i in todo], base_dir, source)
        for i, out in zip(todo, outputs, strict=True):
            results[i] = out
            cache.put(keys[i], out)
    elif workers <= 1:
        for i in todo:
            results[i] = run_variant(variants[i].raw, base_dir, source)
            cache.put(keys[i], results[i])
            done += 1
            if progress:
                progress(done, len(variants))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {i: pool.submit(run_variant, variants[i].raw, base_dir, source) for i in todo}
            for i in todo:
                results[i] = futures[i].result()
                cache.put(keys[i], results[i])
                done += 1
                if progress:
                    progress(done, len(variants))
    return [r for r in results if r is not None]
