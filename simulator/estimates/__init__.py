"""Quick analytic estimates over the cost model, without simulation: a training step, an
inference iteration (prefill or decode), a serving replica's capacity and sizing. Each returns a
typed result with ``to_dict()`` (the numbers ``dcsim estimate --format json`` prints).

The names below load their module on first use, so ``dcsim estimate train`` imports neither the
serving models nor the other estimates (each module loads only what it uses)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.estimates.inference import InferenceResult, estimate_inference
    from simulator.estimates.serve import ServeResult, estimate_serve
    from simulator.estimates.train import ParallelTrain, SingleDeviceTrain, estimate_train

_HOMES = {
    "InferenceResult": "inference", "estimate_inference": "inference",
    "ServeResult": "serve", "estimate_serve": "serve",
    "ParallelTrain": "train", "SingleDeviceTrain": "train", "estimate_train": "train",
}

__all__ = ["InferenceResult", "ParallelTrain", "ServeResult", "SingleDeviceTrain", "estimate_inference",
           "estimate_serve", "estimate_train"]


def __getattr__(name: str):
    """``simulator.estimates.<name>``: imported from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'simulator.estimates' has no attribute {name!r}")
    return getattr(importlib.import_module(f"simulator.estimates.{home}"), name)
