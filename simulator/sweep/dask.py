"""Run variants on a dask.distributed cluster (``pip install 'dcsim[dask]'``)."""

from __future__ import annotations

from simulator.errors import InputError, Problem
from simulator.sweep.variant import run_variant


def map_on_dask(address: str, raws: list[dict], base_dir: str, source: str | None) -> list[dict]:
    """Submit ``run_variant`` for every raw scenario to the scheduler at ``address`` ('local'
    starts an in-process cluster) and gather the results in order."""
    try:  # an optional dependency: imported only when a sweep asks for Dask
        from dask.distributed import Client, LocalCluster  # noqa: PLC0415
    except ImportError:
        raise InputError([Problem("--dask", "dask.distributed is not installed: pip install 'dcsim[dask]'")]) from None
    if address == "local":
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, Client(cluster) as client:
            futures = client.map(run_variant, raws, base_dir=base_dir, source=source, pure=False)
            return client.gather(futures)
    with Client(address) as client:
        futures = client.map(run_variant, raws, base_dir=base_dir, source=source, pure=False)
        return client.gather(futures)
