"""Scenarios for the engine's scaling benchmarks (benchmarks/test_engine_scaling.py): many
hand-written training jobs on one site, and the busy 100,000-GPU year. Built as dicts, so no
file is needed; every job's layout is given so planning does no search."""

from __future__ import annotations


def many_jobs(n_jobs: int, days: float | None = None) -> dict:
    """``n_jobs`` Llama-3-8B jobs of 64 GPUs each (about a day each), submitted 40 minutes apart
    to a 4,096-GPU site whose envelope caps the boards while it is busy; about 45 run at once,
    and the queue stays short (arrivals below the site's throughput), so the cost measured is
    the engine's, not a growing queue's."""
    days = days if days is not None else n_jobs / 36.0 + 4.0
    gpus = 4096
    jobs = [{"name": f"j{i}", "model": "llama3-8b", "tokens": f"{40 + 10 * (i % 5)}B", "global_batch": 256,
             "micro_batch": 1, "seq": 4096, "gpus": 64, "start": f"{40 * i}min", "precision": "bf16-mixed",
             "priority": i % 3, "layout": {"tp": 2, "pp": 1}} for i in range(n_jobs)]
    return {
        "name": f"many-jobs-{n_jobs}",
        "simulation": {"horizon": f"{days}d", "sample_interval": "15min", "seed": 3},
        "site": {"power_envelope": f"{gpus * 1.0:.0f}kW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "h100", "node": "dgx-h100", "nodes_per_rack": 4, "count": gpus // 32}]},
        "workloads": {"training": jobs},
    }


def busy_year(services: bool = True, days: int = 365) -> dict:
    """100,000 GPUs (3,125 racks of 4 DGX H100) for a year, 5-minute samples: 500 training jobs
    of 256 to 8,192 GPUs arriving through the year, node failures with checkpoint/restart, and
    two inference services (``days`` shortens it, with as many jobs per day, for profiling)."""
    racks = 3125
    jobs = []
    n_jobs = 500 * days // 365
    for i in range(n_jobs):
        gpus = 256 * 2 ** ((i * 7) % 6)
        jobs.append({"name": f"t{i}", "model": "llama3-8b" if i % 2 else "llama3-70b",
                     "tokens": f"{20 + (i * 13) % 200}B", "global_batch": 2048, "micro_batch": 1, "seq": 4096,
                     "gpus": gpus, "start": f"{i * 0.7:.2f}d", "precision": "bf16-mixed",
                     "layout": {"tp": 8, "pp": 1} if i % 2 else {"tp": 8, "pp": 4}})
    sc = {
        "name": "busy-year-100k",
        "simulation": {"horizon": f"{days}d", "sample_interval": "5min", "seed": 5},
        "site": {"power_envelope": f"{racks * 32 * 1.6:.0f}kW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "h100", "node": "dgx-h100", "nodes_per_rack": 4, "count": racks,
                               "spare_nodes": 64}]},
        "failures": {"node_mtbf": "264d", "repair_time": "2d", "restart_time": "10min",
                     "node_checkpoint_bw": "5GB/s", "storage_bw": "1TB/s"},
        "workloads": {"training": jobs},
    }
    if services:
        sc["workloads"]["inference"] = [
            {"name": "chat", "model": "llama3-70b", "replicas": 256, "gpus_per_replica": 4,
             "arrival_rate": "200/s", "daily_profile": "diurnal", "prompt_tokens": 2048,
             "output_tokens": 512, "max_batch": 64},
            {"name": "code", "model": "llama3-8b", "replicas": 512, "arrival_rate": "1000/s",
             "prompt_tokens": 4096, "output_tokens": 128, "max_batch": 32}]
    return sc
