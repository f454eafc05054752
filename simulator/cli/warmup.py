"""``dcsim warmup``: compile (or load from the on-disk cache) every Numba kernel a run, an
estimate or a layout search uses, so the first real command pays no compilation. `make run`
runs it before the run; after an install or an upgrade it takes about a minute, then a second.

Numba compiles a kernel for the argument types of its first call, so the only faithful warm-up
is to make those calls: a small scenario with an automatic layout (the layout search), failures
and an inference service is planned and simulated for an hour, and one training and one serving
estimate are made. The cache folder is the one simulator/costmodel/jit.py chose. With
``DCSIM_JIT=0`` the kernels run as plain Python: there is nothing to compile, and nothing is run.
"""

from __future__ import annotations

import os
import time
from types import ModuleType
from typing import Any

from simulator.cli.apps import app
from simulator.cli.errors import handle_errors
from simulator.cli.options import FormatOpt
from simulator.cli.output import OutputFormat, print_json, print_rows

# The smallest scenario that plans and runs every kernel family: training with an automatic
# layout (search, parallel evaluation, collectives, memory), failures (checkpoint plan) and
# an inference service (serving iteration and simulation).
WARMUP_SCENARIO: dict = {
    "name": "warmup",
    "simulation": {"horizon": "1h", "sample_interval": "15min", "seed": 1},
    "site": {"power_envelope": "2MW", "climate": "temperate"},
    "cluster": {"racks": [{"name": "h100", "node": "dgx-h100", "nodes_per_rack": 4, "count": 4}]},
    "failures": {"node_mtbf": "264d", "repair_time": "2d", "restart_time": "10min",
                 "node_checkpoint_bw": "5GB/s", "storage_bw": "200GB/s"},
    "workloads": {
        "training": [{"name": "train", "model": "llama3-8b", "tokens": "1B", "global_batch": 256, "seq": 4096,
                      "gpus": 64, "precision": "bf16-mixed", "layout": "auto"}],
        "inference": [{"name": "serve", "model": "llama3-8b", "replicas": 8, "arrival_rate": "20/s",
                       "prompt_tokens": 1024, "output_tokens": 256, "max_batch": 32}],
    },
}


def numba_kernels() -> list[tuple[str, Any]]:
    """(module.name, dispatcher) of every Numba kernel in the cost-model package."""
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import simulator.costmodel as package

    found: list[tuple[str, Any]] = []
    for info in pkgutil.iter_modules(package.__path__):
        module: ModuleType = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
                found.append((f"{info.name}.{name}", value))
    return found


def warm() -> dict:
    """Make the calls that compile or load every kernel; what was done and how long it took."""
    from simulator import api
    from simulator.costmodel import jit

    if not jit.COMPILED:                 # DCSIM_JIT=0: plain Python kernels, Numba never loaded
        return {"kernels": 0, "kernels_compiled": 0, "wall_s": 0.0, "cpu_s": 0.0, "cache_dir": "",
                "interpreted": True}

    start = time.perf_counter()
    cpu = time.process_time()
    api.simulate(api.load_scenario(WARMUP_SCENARIO))
    api.estimate_train("gpt3-1.3b", "h100-sxm", micro_batch=4, seq=2048)
    api.estimate_serve("llama3-8b", "h100-sxm", prompt=1024, output=256, concurrency=[1, 8])
    kernels = numba_kernels()
    compiled = [name for name, k in kernels if k.signatures]
    return {"kernels": len(kernels), "kernels_compiled": len(compiled),
            "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "cache_dir": os.environ.get("NUMBA_CACHE_DIR", "")}


@app.command("warmup")
@handle_errors
def warmup_cmd(fmt: FormatOpt = OutputFormat.table):
    """Compile or load every Numba kernel into the on-disk cache (a minute after an install,
    about a second once cached), so the first run or estimate pays no compilation."""
    done = warm()
    if fmt == OutputFormat.json:
        print_json(done)
        return
    if done.get("interpreted"):
        print_rows("dcsim warmup", [("kernels", "interpreted (DCSIM_JIT=0): nothing to compile")], OutputFormat.table)
        return
    print_rows("dcsim warmup", [
        ("kernels ready", f"{done['kernels_compiled']} of {done['kernels']} (the rest are helpers "
                          "compiled inside others)"),
        ("time", f"{done['wall_s']:.1f} s wall, {done['cpu_s']:.1f} s CPU"),
        ("cache", done["cache_dir"])], OutputFormat.table)
