"""dcsim: a datacenter capacity-planning simulator for AI clusters.

Public API (imported lazily, so ``import simulator`` stays fast):
``load_scenario``, ``simulate``, ``Result``, ``estimate_train``, ``estimate_prefill``,
``estimate_decode``, and the error root ``DcsimError``.
"""

from __future__ import annotations

from simulator.errors import DcsimError, InputError

__all__ = ["DcsimError", "InputError", "Result", "estimate_decode", "estimate_prefill", "estimate_train",
           "load_scenario", "simulate"]

_API = {"Result", "estimate_decode", "estimate_prefill", "estimate_train", "load_scenario", "simulate"}


def __getattr__(name: str):
    if name in _API:
        from simulator import api

        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
