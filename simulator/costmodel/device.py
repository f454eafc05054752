"""Device model: turns FLOPs and bytes of one kernel into time, and kernels into board power.

Time of a kernel = in-stream overhead + max(compute time, memory time) (roofline, Williams et
al., 2009) where
- GEMM compute runs at ``peak * f / (1 + m0/M + n0/N + k0/K)``: a smooth efficiency surface
  fitted by least squares on log time to the H100 GEMM table (benchmarks/calibrate.py);
  the fitted per-call intercept is the host's dispatch time of one eager op, which the step
  model charges on the host timeline, not on the GPU (see costmodel/timeline.py);
- flash attention runs at a fraction of peak that falls off at short sequences and small heads;
- memory traffic moves at the achieved copy bandwidth (fitted: ~90% of datasheet on H100),
  reached only by large kernels: a kernel moving B bytes gets B / (B + B_half) of it (Hockney's
  n_1/2, 1991), so every kernel has a floor of kernel_overhead + B_half / bandwidth even when
  replayed in a CUDA graph, and small-batch decode's GEMVs and elementwise kernels run well
  below the copy bandwidth.

Power: compute-bound kernels at full clock demand ``P_c = idle + (tdp - idle) / c_tdp^alpha``
where ``c_tdp`` is the clock the board holds at its TDP under a sustained GEMM (measured: 685 of
767 TFLOP/s on H100, i.e. 0.893) and ``alpha`` the DVFS exponent (P_dyn ~ f V^2, V ~ f: 3);
memory-bound kernels draw the measured copy power; gaps draw idle power. Under a cap the clock
``c`` is lowered until the average power meets it; compute-bound time scales as 1/c.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.specs import AcceleratorSpec


# Device-vector indices (consumed by Numba kernels).
class DeviceCol(IntEnum):
    """Columns of the device vector the Numba kernels read."""

    PEAK = 0
    GEMM_FRAC = 1
    M0 = 2
    N0 = 3
    K0 = 4
    MEM_BW = 5
    KERNEL_OVERHEAD = 6
    HOST_GEMM = 7
    HOST_OP = 8
    ATTN_PEAK = 9
    ATTN_FWD = 10
    ATTN_BWD = 11
    ATTN_SEQ0 = 12
    ATTN_HD0 = 13
    IDLE_W = 14
    TDP_W = 15
    MEM_W = 16
    COMPUTE_W = 17
    DVFS = 18
    UNITS = 19
    HBM_BYTES = 20
    HOST_BWD_FACTOR = 21
    MEM_HALF = 22


DEVICE_VECTOR_LEN = len(DeviceCol)

# Backward ops are launched by the autograd engine in C++, without the Python module and
# dispatcher layers the forward pays; we charge them half the forward dispatch time.
HOST_BACKWARD_FACTOR = 0.5

# Which peak and which fitted GEMM curve each compute dtype uses.
_GEMM_CURVE_FOR = {"bf16": "bf16", "fp16": "bf16", "fp8": "bf16", "tf32": "bf16", "int8": "bf16", "fp32": "fp32"}


@dataclass(frozen=True)
class DeviceModel:
    """An accelerator with its calibration, ready for the kernels (see ``vector``)."""

    spec: AcceleratorSpec
    calibration: dict

    @classmethod
    def from_name(cls, name: str, catalog: Catalog | None = None, path: str = "") -> DeviceModel:
        catalog = catalog or shipped_catalog()
        spec = catalog.accelerators.get(name, path)
        return cls(spec, catalog.calibration_for(spec.calibration, path))

    @property
    def name(self) -> str:
        return self.spec.name

    def peak(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype``; dtypes the device lacks fall back to bf16 (emulated)."""
        peaks: dict[str, float] = {str(k): v for k, v in self.spec.peak_flops.items()}
        return peaks.get(dtype, peaks["bf16"])

    def compute_power_w(self) -> float:
        """Board power the compute units would draw flat out at full clock (above TDP: capped),
        from the sustained 8192^3 bf16 GEMM that holds the board at TDP at a measured clock:
        TDP = idle + (P - idle) * clock^alpha + (memory draw above idle) * (its memory time /
        its compute time) (timeline.busy_power)."""
        p = self.calibration["power"]
        idle, tdp = self.spec.idle_power, self.spec.tdp
        clock = p.clock_at_tdp_compute_bound
        curve = self.calibration["gemm"]["bf16"]
        size = 8192.0
        compute_s = 2.0 * size**3 / (self.peak("bf16") * curve.peak_fraction
                                     / (1.0 + curve.m0 / size + curve.n0 / size + curve.k0 / size) * clock)
        memory_s = 3.0 * size**2 * 2.0 / (self.calibration["memory_bw_fraction"] * self.spec.hbm_bw)
        memory_w = (self.memory_power_w() - idle) * memory_s / compute_s
        return idle + (tdp - idle - memory_w) / clock ** p.dvfs_exponent

    def memory_power_w(self) -> float:
        return self.calibration["power"].memory_bound_fraction_of_tdp * self.spec.tdp

    def vector(self, compute_dtype: str = "bf16", attention_dtype: str = "bf16") -> np.ndarray:
        """Flat float64 parameters for the Numba kernels, for one compute dtype."""
        cal = self.calibration
        curve = cal["gemm"][_GEMM_CURVE_FOR.get(compute_dtype, "bf16")]
        attn = cal["attention"]
        v = np.zeros(DEVICE_VECTOR_LEN)
        v[DeviceCol.PEAK] = self.peak(compute_dtype)
        v[DeviceCol.GEMM_FRAC] = curve.peak_fraction
        v[DeviceCol.M0], v[DeviceCol.N0], v[DeviceCol.K0] = curve.m0, curve.n0, curve.k0
        v[DeviceCol.MEM_BW] = cal["memory_bw_fraction"] * self.spec.hbm_bw
        v[DeviceCol.KERNEL_OVERHEAD] = cal["kernel_overhead"]
        v[DeviceCol.HOST_GEMM] = cal["host_gemm_dispatch"]
        v[DeviceCol.HOST_OP] = cal["host_op_dispatch"]
        v[DeviceCol.ATTN_PEAK] = self.peak(attention_dtype)
        v[DeviceCol.ATTN_FWD], v[DeviceCol.ATTN_BWD] = attn.fwd_fraction, attn.bwd_fraction
        v[DeviceCol.ATTN_SEQ0], v[DeviceCol.ATTN_HD0] = attn.seq0, attn.head_dim0
        v[DeviceCol.IDLE_W] = self.spec.idle_power
        v[DeviceCol.TDP_W] = self.spec.tdp
        v[DeviceCol.MEM_W] = self.memory_power_w()
        v[DeviceCol.COMPUTE_W] = self.compute_power_w()
        v[DeviceCol.DVFS] = cal["power"].dvfs_exponent
        v[DeviceCol.UNITS] = self.spec.compute_units
        v[DeviceCol.HBM_BYTES] = self.spec.hbm
        v[DeviceCol.HOST_BWD_FACTOR] = HOST_BACKWARD_FACTOR
        v[DeviceCol.MEM_HALF] = cal.get("memory_half_bytes") or 0.0
        return v
