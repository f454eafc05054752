"""Catalog entry models: Transformer architectures, accelerators, nodes, switches, optics, climates.

These are the things a scenario names; each shipped entry carries a ``source`` saying where
its numbers come from. A user may write a model spec file with the same fields by hand.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from simulator.domain.quantities import (
    BytesPerS,
    Celsius,
    Count,
    Frozen,
    Kelvin,
    NonNegBytes,
    NonNegCount,
    NonNegSeconds,
    NonNegUsd,
    NonNegWatts,
    OutdoorCelsius,
    PositiveBytes,
    PositiveBytesPerS,
    PositiveFlopPerS,
    PositiveSeconds,
    PositiveWatts,
)
from simulator.domain.units import human

DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4")
Dtype = Literal["fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"]

# The largest model dimensions dcsim accepts: ten times and more the largest published models
# (Llama 3.1 405B: 126 layers, hidden 16,384, 128 heads, ffn 53,248; PaLM 540B: hidden 18,432;
# Megatron 1T: hidden 25,600; DeepSeek-V3: 256 experts; Gemma: 256k vocabulary), and small
# enough that the cost model's tables stay small (their rows grow with the layers: a
# ten-million-layer model asked for a 143 GiB table) and every product of dimensions stays exact.
MODEL_LIMITS = {
    "layers": 1024,
    "hidden": 262_144,
    "heads": 16_384,
    "kv_heads": 16_384,
    "head_dim": 16_384,
    "ffn_hidden": 1_048_576,
    "vocab": 4_194_304,
    "experts": 4096,
    "top_k": 4096,
    "max_seq": 100_000_000,
}


class ModelSpec(Frozen):
    """A Transformer: dense or mixture-of-experts, multi-head, grouped-query or multi-query attention."""

    name: str = Field(min_length=1, max_length=100, description="Model name.")
    layers: Count = Field(description="Transformer blocks.")
    hidden: Count = Field(description="Model (residual stream) width.")
    heads: Count = Field(description="Attention (query) heads.")
    kv_heads: Count | None = Field(None, description="Key/value heads (GQA/MQA when < heads); default heads.")
    head_dim: Count | None = Field(None, description="Width of one head; default hidden / heads.")
    ffn_hidden: Count | None = Field(None, description="MLP inner width (per expert); default 4*hidden.")
    mlp: Literal["gelu", "swiglu", "relu"] = Field(
        "gelu", description="MLP type: gelu/relu (2 matrices) or swiglu (3).")
    vocab: Count = Field(description="Vocabulary size.")
    experts: Count = Field(1, description="Experts per MoE layer (1 = dense).")
    top_k: Count = Field(1, description="Experts each token is routed to.")
    causal: bool = Field(True, description="Causal (decoder) attention; false for encoders such as BERT.")
    norm: Literal["layernorm", "rmsnorm"] = Field("layernorm", description="Normalisation layer type.")
    bias: bool = Field(True, description="Linear layers carry biases.")
    position: Literal["learned", "rope", "none"] = Field("learned", description="Position encoding.")
    tied_embeddings: bool | None = Field(
        None, description="Output projection shares the input embedding; default: tied for GPT-style "
                          "models with learned positions (GPT-2/3), untied otherwise (Llama, Mixtral).")
    max_seq: Count | None = Field(None, description="Longest sequence the model was trained for.")
    aliases: tuple[str, ...] = Field((), description="Other names this entry answers to.")
    source: str | None = Field(None, description="Where the numbers come from.")

    @field_validator(*MODEL_LIMITS)
    @classmethod
    def _within_limits(cls, value: int | None, info: ValidationInfo) -> int | None:
        limit = MODEL_LIMITS[str(info.field_name)]
        if value is not None and value > limit:
            raise ValueError(f"at most {limit:,} (dcsim's limit: ten times the largest published models; "
                             "the cost model's tables grow with it)")
        return value

    @field_validator("kv_heads")
    @classmethod
    def _divides_heads(cls, kv_heads: int | None, info: ValidationInfo) -> int | None:
        heads = info.data.get("heads")
        if kv_heads is not None and heads is not None and heads % kv_heads:
            raise ValueError(f"must divide heads ({heads})")
        return kv_heads

    @field_validator("top_k")
    @classmethod
    def _within_experts(cls, top_k: int, info: ValidationInfo) -> int:
        experts = info.data.get("experts")
        if experts is not None and top_k > experts:
            raise ValueError(f"cannot exceed experts ({experts})")
        return top_k

    @model_validator(mode="after")
    def _check(self):
        if self.head_dim is None and self.hidden % self.heads:
            raise ValueError(
                f"hidden ({self.hidden}) must be a multiple of heads ({self.heads}), or give head_dim"
            )
        return self

    @property
    def ties_embeddings(self) -> bool:
        if self.tied_embeddings is not None:
            return self.tied_embeddings
        return self.position == "learned"

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def d_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def d_ffn(self) -> int:
        return self.ffn_hidden or 4 * self.hidden


class ScaleUp(Frozen):
    """The accelerator's scale-up link (NVLink, Infinity Fabric, ICI): per-direction bandwidth."""

    bw: PositiveBytesPerS = Field(description="Per-accelerator, per-direction scale-up bandwidth.")
    domain: Count = Field(8, description="Accelerators in one scale-up domain.")
    latency: PositiveSeconds = Field(2.5e-6, description="One-hop latency.")
    topology: Literal["switched", "torus3d"] = Field("switched", description="Scale-up topology.")
    in_switch_reduction: bool = Field(
        False, description="The switches reduce in the network (NVLink SHARP / NVLS, Hopper and later).")


class AcceleratorSpec(Frozen):
    """One accelerator: peak dense FLOP/s per dtype, HBM, power, scale-up link, price."""

    name: str
    aliases: tuple[str, ...] = ()
    vendor: str
    kind: Literal["gpu", "tpu"]
    peak_flops: dict[Dtype, PositiveFlopPerS] = Field(description="Dense peak FLOP/s per dtype.")
    hbm: PositiveBytes = Field(description="Device memory capacity.")
    hbm_bw: PositiveBytesPerS = Field(description="Device memory bandwidth.")
    compute_units: Count = Field(description="SMs (NVIDIA), CUs (AMD) or TensorCores (TPU).")
    tdp: PositiveWatts = Field(description="Board power limit.")
    idle_power: NonNegWatts = Field(description="Board power at idle.")
    scaleup: ScaleUp
    price: NonNegUsd = Field(0.0, description="Unit price.")
    calibration: str = Field(description="Name of the efficiency-curve profile in calibration.yaml.")
    source: str

    @field_validator("peak_flops")
    @classmethod
    def _has_bf16(cls, peak_flops: dict) -> dict:
        if "bf16" not in peak_flops:
            raise ValueError(f"needs at least a bf16 entry (got {', '.join(peak_flops) or 'none'})")
        return peak_flops

    @field_validator("idle_power")
    @classmethod
    def _below_tdp(cls, idle_power: float, info: ValidationInfo) -> float:
        tdp = info.data.get("tdp")
        if tdp is not None and idle_power >= tdp:
            raise ValueError(f"must be below tdp ({human(tdp, 'power')})")
        return idle_power


class FanSpec(Frozen):
    """A server's own fans: power = max_power * speed^3 (fan affinity law); speed rises with the
    load from ``idle_speed`` to ``full_load_speed`` at ``reference_inlet``, and by ``speed_per_c``
    per degree of inlet air above it (capped at 1)."""

    max_power: NonNegWatts = Field(description="All fans of one server at 100% speed.")
    idle_speed: float = Field(0.3, ge=0, le=1)
    full_load_speed: float = Field(0.8, gt=0, le=1)
    reference_inlet: Celsius = Field(25.0, ge=-50, le=60)
    speed_per_c: float = Field(0.0092, ge=0, le=1, description="Speed added per degree C of inlet air "
                                                                "above the reference.")
    source: str


class NodeSpec(Frozen):
    """A server: accelerators, host power (everything but accelerators and fans), fans, NICs, price."""

    name: str
    aliases: tuple[str, ...] = ()
    accelerator: str
    accelerators_per_node: Count
    host_power: NonNegWatts
    host_idle_power: NonNegWatts
    nics: Count
    nic_bw: PositiveBytesPerS
    rack_units: Count = 4
    price: NonNegUsd = 0.0
    fans: FanSpec | None = Field(None, description="The server's fans (their power is not in host_power); "
                                                   "none: fans are counted in host_power.")
    source: str

    @field_validator("host_idle_power")
    @classmethod
    def _within_host_power(cls, idle: float, info: ValidationInfo) -> float:
        host_power = info.data.get("host_power")
        if host_power is not None and idle > host_power:
            raise ValueError(f"cannot exceed host_power ({human(host_power, 'power')})")
        return idle


class SwitchSpec(Frozen):
    """A network switch (without transceivers)."""

    name: str
    aliases: tuple[str, ...] = ()
    technology: Literal["infiniband", "ethernet", "nvlink"]
    ports: Count
    port_bw: PositiveBytesPerS
    power: NonNegWatts
    latency: PositiveSeconds
    price: NonNegUsd = 0.0
    source: str


class OpticSpec(Frozen):
    """A transceiver or cable end."""

    name: str
    aliases: tuple[str, ...] = ()
    bw: BytesPerS = Field(gt=0)
    power: NonNegWatts
    price: NonNegUsd = 0.0
    source: str


class ClimateSpec(Frozen):
    """A built-in outdoor weather profile: dry bulb = annual + daily cosine + AR(1) weather noise;
    the dew point follows its own annual cosine (humidity changes slowly), and the wet bulb
    follows from both (domain/psychro.py)."""

    name: str
    aliases: tuple[str, ...] = ()
    mean: OutdoorCelsius
    annual_amplitude: Kelvin = Field(ge=0, le=100)
    diurnal_amplitude: Kelvin = Field(ge=0, le=100)
    warmest_day: int = Field(ge=1, le=366)
    warmest_hour: float = Field(ge=0, lt=24)
    noise_std: Kelvin = Field(ge=0, le=50)
    noise_corr_hours: float = Field(gt=0)
    dew_point_mean: OutdoorCelsius | None = Field(
        None, description="Mean dew point; default: the dew point of 50% relative humidity hour by hour.")
    dew_point_amplitude: Kelvin = Field(0.0, ge=0, le=50, description="Annual swing of the dew point.")
    dew_point_peak_day: int | None = Field(None, ge=1, le=366, description="Most humid day; default warmest_day.")
    source: str


class CollectiveProfileSpec(Frozen):
    """A tier profile of the collective cost model (costmodel/collectives.py): per protocol the
    achieved share of a tier's link bandwidth and the per-call and per-step latencies NCCL's
    tuner prices each (algorithm, protocol) with; the link bandwidth comes from the hardware.
    Optional protocols default to off (efficiency 0); optional latencies to the Simple ones."""

    name: str
    aliases: tuple[str, ...] = ()
    kind: Literal["scaleup", "scaleout"] = "scaleup"
    source: str
    efficiency: float = Field(gt=0, le=1, description="Simple ring/tree bus bandwidth / link bandwidth.")
    latency: NonNegSeconds = Field(description="Simple per-step latency (also all-to-all per peer).")
    base_latency: NonNegSeconds = Field(0.0, description="Simple per-call latency.")
    ll128_efficiency: float = Field(0.0, ge=0, le=1, description="LL128 bus bandwidth share; 0 = off.")
    ll128_base_latency: NonNegSeconds = 0.0
    ll128_latency: NonNegSeconds = 0.0
    ll_efficiency: float = Field(0.0, ge=0, le=1, description="LL bus bandwidth share; 0 = off.")
    ll_base_latency: NonNegSeconds = 0.0
    ll_latency: NonNegSeconds = 0.0
    half_size: NonNegBytes = Field(0.0, description="Buffer at which half the bandwidth is reached.")
    innet_efficiency: float = Field(0.0, ge=0, le=1, description="In-network reduction share; 0 = none.")
    innet_base_latency: NonNegSeconds = 0.0
    innet_latency: NonNegSeconds | None = Field(None, description="Default: latency.")
    p2p_efficiency: float | None = Field(None, gt=0, le=1, description="Send/recv share; default: efficiency.")
    p2p_latency: NonNegSeconds | None = Field(None, description="Default: latency.")
    call_floor: NonNegSeconds = Field(0.0, description="Least time of one synchronising call.")


def scaleup_domain(node: NodeSpec, accel: AcceleratorSpec) -> int:
    """Accelerators that reach each other over the scale-up link: a switched link (NVLink,
    Infinity Fabric) within the node, at most the link's own domain; a torus (ICI) its slice."""
    if accel.scaleup.topology == "switched":
        return min(node.accelerators_per_node, accel.scaleup.domain)
    return accel.scaleup.domain


class EngineSpec(Frozen):
    """A serving engine at one version: how it budgets KV memory, schedules iterations (continuous
    batching, chunked prefill, admission), and what it costs per iteration beyond the GPU kernels
    (costmodel/serving_engine.py). Every value comes from the engine's own defaults or a
    published measurement, named in ``source``."""

    name: str
    aliases: tuple[str, ...] = ()
    version: str = Field(description="Engine version the values describe.")
    gpu_memory_utilization: float = Field(gt=0, le=1, description=(
        "Share of device memory the engine may use (weights, activations, KV cache); with "
        "memory_fraction_of: free, the share of what is free after weights and activations."))
    memory_fraction_of: Literal["total", "free"] = Field("total", description=(
        "'total': KV = fraction x HBM - weights - activations - reserve (vLLM, SGLang); 'free': "
        "KV = fraction x (HBM - weights - activations - reserve) (TensorRT-LLM)."))
    runtime_reserve: NonNegBytes = Field(description=(
        "Memory outside the engine's tensors: CUDA context, cuBLAS workspaces, NCCL buffers, CUDA graphs."))
    block_size: Count = Field(16, description="KV-cache block (page) size in tokens.")
    max_num_seqs: Count = Field(description="Most sequences in one iteration (max batch size).")
    max_num_batched_tokens: Count = Field(description="Most tokens (prefill + decode) in one iteration.")
    chunked_prefill: bool = Field(description="Split prompts into chunks that fill the token budget.")
    admission: Literal["paged", "reserve"] = Field(description=(
        "'paged': admit while the prompt's blocks fit, grow blocks per token, preempt (recompute) the "
        "newest sequence when they run out (vLLM, SGLang); 'reserve': admit only when blocks for the "
        "whole prompt and output fit (TensorRT-LLM GUARANTEED_NO_EVICT)."))
    cuda_graphs: bool = Field(description="Decode-only iterations replay a CUDA graph (no per-kernel launch).")
    cuda_graph_max_batch: NonNegCount = Field(0, description="Largest decode batch captured in a graph.")
    mixed_graphs: bool = Field(False, description=(
        "Mixed prefill/decode iterations also run as (piecewise) graphs, attention launched outside."))
    host_launch: NonNegSeconds = Field(description="Host time to launch one kernel outside a graph.")
    host_gemm_launch: NonNegSeconds | None = Field(None, description=(
        "Host time to launch one GEMM outside a graph, where it differs (eager PyTorch's F.linear); "
        "default host_launch."))
    iteration_overhead: NonNegSeconds = Field(description=(
        "CPU time per iteration outside the GPU kernels: scheduling, input preparation, sampling."))
    sequence_overhead: NonNegSeconds = Field(description="Further CPU time per running sequence per iteration.")
    overlap_scheduler: bool = Field(description="The CPU prepares iteration i+1 while the GPU runs iteration i.")
    custom_all_reduce: bool = Field(description=(
        "TP all-reduces inside one scale-up domain use the engine's one-shot/two-shot kernels when "
        "faster than NCCL."))
    kernel_fusion: Literal["none", "norms", "full"] = Field("none", description=(
        "Elementwise work fused into neighbouring kernels: 'norms' (residual add + norm), 'full' (also "
        "SwiGLU and quantisation in GEMM epilogues, RoPE and the KV write in attention)."))
    prefill_attention_speedup: float = Field(gt=0, le=4, description=(
        "Throughput of the prompt-attention kernel relative to FlashAttention-2 (the device calibration's "
        "kernel); held to at most 80% of peak."))
    decode_attention_bw_fraction: float = Field(gt=0, le=1, description=(
        "Achieved share of copy bandwidth of the paged decode-attention kernel."))
    source: str


class ChillerSpec(Frozen):
    """A chiller's performance curves in the EnergyPlus Chiller:Electric:EIR form:
    P = Q / COP_ref * EIRFT(x, y) * EIRFPLR(PLR) / PLR, with x the leaving chilled-water
    temperature and y the condenser-side temperature (outdoor dry bulb for an air-cooled
    chiller, entering condenser water for a water-cooled one), both in C.

    Outside the curve's ranges the COP follows the Carnot lift (engine/chillers.py), with the
    refrigerant ``evaporator_approach`` below the chilled water and ``condenser_approach`` above
    the condenser-side temperature; below the lowest y the condensing pressure is held (no gain).
    """

    name: str
    aliases: tuple[str, ...] = ()
    condenser: Literal["air", "water"] = Field(description="What carries the heat away from the condenser.")
    cop_ref: float = Field(gt=0.5, le=30, description="Full-load COP at the curve's rating point.")
    eir_ft: tuple[float, float, float, float, float, float] = Field(
        description="Biquadratic EIRFT coefficients c1..c6: c1 + c2 x + c3 x^2 + c4 y + c5 y^2 + c6 x y.")
    x_range: tuple[float, float] = Field(description="Chilled-water temperatures the EIRFT curve covers (C).")
    y_range: tuple[float, float] = Field(description="Condenser-side temperatures the EIRFT curve covers (C).")
    eir_fplr: tuple[float, float, float] = Field(description="Quadratic EIRFPLR coefficients in the part-load ratio.")
    min_plr: float = Field(0.1, gt=0, le=1, description="Below this part-load ratio the chiller cycles.")
    evaporator_approach: Kelvin = Field(2.0, ge=0, le=20)
    condenser_approach: Kelvin = Field(10.0, ge=0, le=40)
    source: str

    @field_validator("x_range", "y_range")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        if not bounds[0] < bounds[1]:
            raise ValueError(f"needs low < high, got {list(bounds)}")
        return bounds



class NicSpec(Frozen):
    """A network adapter (its power is inside its server's; the catalog holds its price)."""

    name: str
    aliases: tuple[str, ...] = ()
    bw: PositiveBytesPerS = Field(description="Bandwidth per port.")
    ports: Count = 1
    power: NonNegWatts
    price: NonNegUsd = 0.0
    source: str


class ServerSpec(Frozen):
    """A support server beside the accelerator nodes: storage, management, fabric manager, login."""

    name: str
    aliases: tuple[str, ...] = ()
    role: Literal["storage", "management", "fabric-manager", "cpu"]
    power: NonNegWatts = Field(description="Typical draw while the cluster runs.")
    max_power: NonNegWatts = Field(description="Sizing load (UPS, cooling design).")
    price: NonNegUsd = 0.0
    rack_units: Count = 1
    storage_ports: int = Field(0, ge=0, le=64, description="Ports on the storage network.")
    frontend_ports: int = Field(0, ge=0, le=64, description="Ports on the front-end (in-band) network.")
    oob_ports: int = Field(1, ge=0, le=64, description="Ports on the out-of-band management network.")
    source: str

    @field_validator("max_power")
    @classmethod
    def _at_least_typical(cls, max_power: float, info: ValidationInfo) -> float:
        power = info.data.get("power")
        if power is not None and max_power < power:
            raise ValueError(f"must be at least power ({human(power, 'power')})")
        return max_power


class FacilityCostSpec(Frozen):
    """A facility capital cost per unit of what it is sized by (engine record -> report/cost.py)."""

    name: str
    aliases: tuple[str, ...] = ()
    category: Literal["building", "electrical", "cooling"]
    per: Literal["w-it", "w-ups", "w-generator", "w-plant-heat", "w-liquid-heat", "w-chiller", "w-room-heat",
                 "rack", "rear-door-rack", "w-immersion-heat", "w-adiabatic-heat"] = Field(
        description="What one unit is: a W of design IT load, of UPS or generator capacity, of the design heat "
                    "of a plant (of its type) or of the room air, direct-liquid or immersion heat, of installed "
                    "chiller capacity, or a rack position.")
    price: NonNegUsd = Field(description="USD per unit.")
    plant: str | None = Field(None, description="For cooling items: the plant type it belongs to.")
    source: str
