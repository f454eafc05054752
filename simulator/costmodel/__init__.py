"""Analytic cost models of Transformers on accelerators (pure functions and kernels).

The kernels are compiled by Numba or run as plain Python, as simulator/costmodel/jit.py decides
(``DCSIM_JIT``); that module also places Numba's on-disk cache.
"""
