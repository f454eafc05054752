"""Quick analytic estimates over the cost model, without simulation: a training step, an
inference iteration (prefill or decode), a serving replica's capacity and sizing. Each returns a
typed result with ``to_dict()`` (the numbers ``dcsim estimate --format json`` prints)."""

from simulator.estimates.inference import InferenceResult, estimate_inference
from simulator.estimates.serve import ServeResult, estimate_serve
from simulator.estimates.train import ParallelTrain, SingleDeviceTrain, estimate_train

__all__ = ["InferenceResult", "ParallelTrain", "ServeResult", "SingleDeviceTrain", "estimate_inference",
           "estimate_serve", "estimate_train"]
