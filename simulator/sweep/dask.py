"""Run variants on a dask.distributed cluster (``pip install 'dcsim[dask]'``): 'local' starts a
``LocalCluster`` of ``workers`` processes with one thread each (a simulation holds the GIL), any
other address is an existing scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from simulator.errors import InputError, Problem


def map_on_dask(address: str, run: Callable[[dict], dict], raws: list[dict],
                workers: int = 1) -> Iterator[tuple[int, dict]]:
    """(position, result) for every raw scenario, as each finishes."""
    try:  # an optional dependency: imported only when a sweep asks for Dask
        from dask.distributed import Client, LocalCluster, as_completed  # noqa: PLC0415
    except ImportError:
        raise InputError([Problem("--dask", "dask.distributed is not installed: pip install 'dcsim[dask]'")]) from None
    if not raws:
        return
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, min(workers, len(raws))), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        cluster = None
        client = Client(address)
    try:
        futures = client.map(run, raws, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            yield position[future.key], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
