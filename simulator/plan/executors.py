"""Where candidate plans are simulated: in this process, on a local pool of worker processes, or
on a dask.distributed cluster ('local' starts a LocalCluster of ``workers`` processes)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

from simulator import signals
from simulator.errors import InputError, Problem
from simulator.plan.evaluate import simulate_candidate
from simulator.plan.search import RunBatch


@contextmanager
def executor(base_dir: str, source: str | None, workers: int = 1, dask: str | None = None) -> Iterator[RunBatch]:
    """A ``run_batch(raws) -> outcomes`` (in order) for the life of the context."""
    run = partial(simulate_candidate, base_dir=base_dir, source=source)
    if dask is not None:
        try:  # an optional dependency, loaded only when asked for
            from dask.distributed import Client, LocalCluster  # noqa: PLC0415
        except ImportError:
            raise InputError([Problem("--dask", "dask.distributed is not installed: pip install 'dcsim[dask]'")]) \
                from None
        if dask == "local":
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, \
                    Client(cluster) as client:
                yield lambda raws: client.gather(client.map(run, raws, pure=False))
            return
        with Client(dask) as client:
            yield lambda raws: client.gather(client.map(run, raws, pure=False))
        return
    if workers <= 1:
        yield lambda raws: [run(raw) for raw in raws]
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool, \
            signals.stopping(pool):  # an interrupt stops the workers at once (simulator/signals.py)
        def run_batch(raws):
            with signals.quiet_threads():  # the pool's threads leave the signals to the main one
                results = pool.map(run, raws)
            return list(results)

        yield run_batch
