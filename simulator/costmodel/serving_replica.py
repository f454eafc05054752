"""A serving replica set up once: its precision, engine settings, KV budget and per-cap iteration
models; and its behaviour under load from the iteration-level simulation
(costmodel/serving_sim.py): the maximum sustained throughput, and closed-loop latency and
throughput at N concurrent clients.

Speculative decoding (Leviathan et al., 2023; Chen et al., 2023): a draft proposes ``k`` tokens
that the target verifies in one step of ``k + 1`` tokens per sequence; with a per-token
acceptance rate ``a`` a step yields (1 - a^(k+1)) / (1 - a) tokens on average (accepted + 1).
The draft is a smaller model (its own weights and KV cache in the replica's memory) or
MTP/EAGLE-style heads costed as ``draft_layers`` layers of the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.serving_iteration import (
    ItCol,
    IterationModel,
    IterationProfile,
    build_iteration_model,
    iteration_profile,
)
from simulator.costmodel.serving_memory import KvBudget, kv_budget, kv_bytes_per_token, weights_bytes_per_gpu
from simulator.costmodel.serving_sim import OUT_LEN, SCHED_LEN, OutCol, SchedCol, simulate
from simulator.domain.precision import ServingPrecision
from simulator.domain.specs import EngineSpec, ModelSpec
from simulator.errors import DoesNotFitError

GIB = float(2**30)
VLLM_WATERMARK = 0.01          # vLLM BlockSpaceManager watermark: 1% of blocks kept free for admissions
MAX_ITERATIONS = 400_000


@dataclass(frozen=True)
class Speculation:
    """Speculative decoding: ``draft`` model (None: MTP/EAGLE heads of ``draft_layers`` target
    layers), ``draft_tokens`` proposed per step, per-token ``acceptance`` rate."""

    draft_tokens: int
    acceptance: float
    draft: ModelSpec | None = None
    draft_layers: int = 1

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens per target step: accepted + 1."""
        a, k = self.acceptance, self.draft_tokens
        if a >= 1.0:
            return k + 1.0
        return (1.0 - a ** (k + 1)) / (1.0 - a)


@dataclass(frozen=True)
class Workload:
    """Prompt and output lengths the requests cycle through (fixed: one of each)."""

    prompts: np.ndarray
    outputs: np.ndarray

    @classmethod
    def fixed(cls, prompt: int, output: int) -> Workload:
        return cls(np.array([float(prompt)]), np.array([float(output)]))

    @property
    def varied(self) -> bool:
        return len(self.prompts) > 1

    @property
    def mean_prompt(self) -> float:
        return float(np.mean(self.prompts))

    @property
    def mean_output(self) -> float:
        return float(np.mean(self.outputs))

    @property
    def max_context(self) -> float:
        return float(np.max(self.prompts + self.outputs))


@dataclass(frozen=True)
class EngineSettings:
    """An engine's catalog entry with the deployment's overrides applied."""

    engine: EngineSpec
    gpu_memory_utilization: float
    max_num_seqs: int
    max_num_batched_tokens: int
    block_size: int
    chunked_prefill: bool

    @classmethod
    def of(cls, engine: EngineSpec, gpu_memory_utilization: float | None = None, max_num_seqs: int | None = None,
           max_num_batched_tokens: int | None = None, block_size: int | None = None,
           chunked_prefill: bool | None = None) -> EngineSettings:
        return cls(engine,
                   engine.gpu_memory_utilization if gpu_memory_utilization is None else gpu_memory_utilization,
                   engine.max_num_seqs if max_num_seqs is None else max_num_seqs,
                   engine.max_num_batched_tokens if max_num_batched_tokens is None else max_num_batched_tokens,
                   engine.block_size if block_size is None else block_size,
                   engine.chunked_prefill if chunked_prefill is None else chunked_prefill)


@dataclass(frozen=True)
class LoadPoint:
    """A replica's steady state at one load (closed loop of ``clients``, or saturated)."""

    clients: float
    requests_per_s: float
    output_tokens_per_s: float
    ttft_mean_s: float
    ttft_p99_s: float
    tpot_mean_s: float
    tpot_p99_s: float
    e2e_mean_s: float
    running_mean: float          # sequences in the batch, time-weighted
    decode_iteration_s: float    # mean time of an iteration that decodes
    board_power_w: float         # mean per accelerator
    preemptions_per_request: float
    kv_used_share: float
    prefill_busy_share: float = 0.0  # share of time in iterations that carry prompt tokens

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Replica:
    """One replica of ``tp`` accelerators serving ``model`` (see module docstring)."""

    model: ModelSpec
    device: DeviceModel
    comm: CommModel
    tp: int
    prec: ServingPrecision
    settings: EngineSettings
    workload: Workload
    prefix_cache_hit: float = 0.0
    speculation: Speculation | None = None
    phase: int = 0                       # 0 both, 1 prefill only, 2 decode only
    budget: KvBudget = field(init=False)
    _models: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        s = self.settings
        self.budget = kv_budget(self.model, self.prec, s.engine, self.device.spec.hbm, self.tp,
                                s.gpu_memory_utilization, s.max_num_batched_tokens, s.max_num_seqs, s.block_size)
        spec = self.speculation
        if spec is not None and spec.draft is not None:
            draft_w = weights_bytes_per_gpu(spec.draft, self.prec, self.tp)
            per_token = self.budget.kv_bytes_per_token + kv_bytes_per_token(spec.draft, self.prec.kv_bytes, self.tp)
            self.budget = replace(self.budget, kv_bytes=self.budget.kv_bytes - draft_w, kv_bytes_per_token=per_token)
        self._check_fits()

    def _check_fits(self) -> None:
        b = self.budget
        need_tokens = self.workload.max_context if self.settings.engine.admission == "reserve" \
            else float(np.max(self.workload.prompts)) + 1.0
        blocks = math.ceil(need_tokens / b.block_tokens) * b.block_tokens
        if b.kv_tokens < blocks:
            fixed = b.weights_bytes + b.activation_bytes + b.reserve_bytes
            need = fixed + blocks * b.kv_bytes_per_token
            util = self.settings.gpu_memory_utilization
            total = self.settings.engine.memory_fraction_of == "total"
            available = util * b.hbm_bytes if total else b.hbm_bytes - (1.0 - util) * max(b.hbm_bytes - fixed, 0.0)
            whole = "the device" if total else "what the model leaves free"
            raise DoesNotFitError(
                f"{self.model.name} ({self.prec.label}) on {self.tp} x {self.device.name} "
                f"({self.settings.engine.name}): "
                f"one request of {int(need_tokens):,} tokens needs {need / GIB:.1f} GiB per accelerator (weights "
                f"{b.weights_bytes / GIB:.1f} GiB, activations {b.activation_bytes / GIB:.1f} GiB, runtime reserve "
                f"{b.reserve_bytes / GIB:.1f} GiB, KV cache {blocks * b.kv_bytes_per_token / GIB:.2f} GiB); the "
                f"engine may use {available / GIB:.1f} GiB of {b.hbm_bytes / GIB:.1f} GiB (gpu_memory_utilization "
                f"{util:g} of {whole}) (raise gpus_per_replica, quantise, or "
                "shorten the requests)", need, available)

    # ------------------------------------------------------------------ iteration models
    def max_tokens(self) -> int:
        s = self.settings
        longest = int(np.max(self.workload.prompts + self.workload.outputs))
        top = s.max_num_batched_tokens if s.chunked_prefill else max(s.max_num_batched_tokens, longest)
        k = self.speculation.draft_tokens if self.speculation else 0
        return int(max(top, s.max_num_seqs * (k + 1)))

    def _profile(self, which: str) -> IterationProfile:
        if which not in self._models:
            s = self.settings
            if which == "target":
                self._models[which] = iteration_profile(self.model, self.device, self.comm, self.tp, self.prec,
                                                        s.engine, self.max_tokens(), s.max_num_seqs)
            else:
                spec = self.speculation
                assert spec is not None
                draft = spec.draft if spec.draft is not None else self.model.model_copy(
                    update={"layers": spec.draft_layers, "name": f"{self.model.name}-mtp"})
                self._models[which] = iteration_profile(draft, self.device, self.comm, self.tp, self.prec, s.engine,
                                                        s.max_num_seqs, s.max_num_seqs)
        return self._models[which]

    def iteration_model(self, cap_w: float) -> IterationModel:
        """The target's iteration costs at ``cap_w``."""
        key = ("target", round(cap_w, 6))
        if key not in self._models:
            self._models[key] = build_iteration_model(self._profile("target"), cap_w)
        return self._models[key]

    def draft_model(self, cap_w: float) -> IterationModel:
        """The draft's (a separate model, or MTP/EAGLE heads as target layers) at ``cap_w``."""
        key = ("draft", round(cap_w, 6))
        if key not in self._models:
            self._models[key] = build_iteration_model(self._profile("draft"), cap_w)
        return self._models[key]

    # ------------------------------------------------------------------ simulation
    def saturating_clients(self) -> int:
        """Enough closed-loop clients that the queue never empties."""
        s = self.settings.max_num_seqs
        return int(s + s // 2 + 16)

    def run(self, cap_w: float, clients: int, warmup: int | None = None, measure: int | None = None,
            stagger_s: float | None = None) -> LoadPoint:
        """Simulate ``clients`` closed-loop clients at board cap ``cap_w``, their first requests
        ``stagger_s`` apart (default: evenly over one request's time alone, the phases a steady
        closed loop settles into)."""
        if stagger_s is None:
            stagger_s = self.alone(cap_w).e2e_mean_s / clients if clients > 1 else 0.0
        s = self.settings
        spec = self.speculation
        it = self.iteration_model(cap_w)
        draft = self.draft_model(cap_w) if spec is not None else it
        varied = self.workload.varied
        if warmup is None:
            warmup = max(clients, 1)
        if measure is None:
            measure = max(3 * clients, 64) if varied else max(2 * clients, 8)
        sc = np.zeros(SCHED_LEN)
        sc[SchedCol.MAX_SEQS] = s.max_num_seqs
        sc[SchedCol.BUDGET] = s.max_num_batched_tokens
        sc[SchedCol.CHUNKED] = 1.0 if s.chunked_prefill else 0.0
        sc[SchedCol.RESERVE] = 1.0 if s.engine.admission == "reserve" else 0.0
        sc[SchedCol.BLOCK] = s.block_size
        sc[SchedCol.KV_BLOCKS] = self.budget.kv_tokens // s.block_size
        sc[SchedCol.GRAPHS] = 1.0 if s.engine.cuda_graphs else 0.0
        sc[SchedCol.GRAPH_MAX] = s.engine.cuda_graph_max_batch
        sc[SchedCol.MIXED_GRAPHS] = 1.0 if s.engine.mixed_graphs else 0.0
        sc[SchedCol.ITER_OVERHEAD_S] = s.engine.iteration_overhead
        sc[SchedCol.SEQ_OVERHEAD_S] = s.engine.sequence_overhead
        sc[SchedCol.OVERLAP] = 1.0 if s.engine.overlap_scheduler else 0.0
        sc[SchedCol.PREFIX_HIT] = self.prefix_cache_hit
        sc[SchedCol.SPEC_K] = spec.draft_tokens if spec is not None else 0.0
        sc[SchedCol.SPEC_TOKENS] = spec.tokens_per_step if spec is not None else 1.0
        sc[SchedCol.PHASE] = self.phase
        sc[SchedCol.CLIENTS] = clients
        sc[SchedCol.WARMUP] = warmup
        sc[SchedCol.MEASURE] = measure
        sc[SchedCol.MAX_ITERS] = MAX_ITERATIONS
        sc[SchedCol.WATERMARK] = VLLM_WATERMARK if s.engine.admission == "paged" else 0.0
        sc[SchedCol.STAGGER_S] = stagger_s
        ttft = np.full(measure, np.nan)
        tpot = np.full(measure, np.nan)
        e2e = np.full(measure, np.nan)
        out = np.zeros(OUT_LEN)
        simulate(sc, self.workload.prompts, self.workload.outputs, *it.arrays(), *draft.arrays(), ttft, tpot, e2e, out)  # type: ignore[call-arg]
        if out[OutCol.STATUS] == 1.0:
            raise DoesNotFitError(f"{self.model.name}: a request can never be admitted: its KV blocks exceed the "
                                  f"cache ({self.budget.kv_tokens:,} tokens)", 0.0, 0.0)
        return self._point(clients, out, ttft, tpot, e2e, it)

    def _point(self, clients, out, ttft, tpot, e2e, it: IterationModel) -> LoadPoint:
        n = int(out[OutCol.COMPLETED])
        span = out[OutCol.T_END] - out[OutCol.T_START]
        if n == 0 or span <= 0:
            nan = math.nan
            return LoadPoint(clients, 0.0, 0.0, nan, nan, nan, nan, nan, 0.0, nan, it.scalars[ItCol.IDLE_W], nan, 0.0)
        ttft, tpot, e2e = ttft[:n], tpot[:n], e2e[:n]

        def stat(x, q=None):
            x = x[np.isfinite(x)]
            if len(x) == 0:
                return math.nan
            return float(np.mean(x)) if q is None else float(np.percentile(x, q))

        dec_iters = out[OutCol.DECODE_ITERS]
        wait, wait_p99 = self._desync_wait(out, span, clients)
        e2e_mean = stat(e2e)
        slower = e2e_mean / (e2e_mean + wait) if e2e_mean > 0 else 1.0
        return LoadPoint(
            clients=float(clients), requests_per_s=n / span * slower,
            output_tokens_per_s=out[OutCol.OUTPUT_TOKENS] / span * slower,
            ttft_mean_s=stat(ttft) + wait, ttft_p99_s=stat(ttft, 99) + wait_p99, tpot_mean_s=stat(tpot),
            tpot_p99_s=stat(tpot, 99), e2e_mean_s=e2e_mean + wait, running_mean=out[OutCol.RUNNING] / span,
            decode_iteration_s=out[OutCol.DECODE_TIME] / dec_iters if dec_iters > 0 else math.nan,
            board_power_w=out[OutCol.ENERGY_J] / span,
            preemptions_per_request=out[OutCol.PREEMPTIONS] / n,
            kv_used_share=out[OutCol.KV_USED] / span / max(self.budget.kv_tokens // self.settings.block_size, 1),
            prefill_busy_share=out[OutCol.PREFILL_TIME] / span)

    def admitted_estimate(self) -> int:
        """Sequences the KV cache admits at once, roughly (for sizing runs): whole requests with
        ``reserve`` admission, the mean context with ``paged``."""
        w = self.workload
        per = w.mean_prompt + w.mean_output if self.settings.engine.admission == "reserve" \
            else w.mean_prompt + 0.5 * w.mean_output
        fit = self.budget.kv_tokens / max(per * (1.0 - 0.0) + self.settings.block_size / 2.0, 1.0)
        return int(max(1, min(self.settings.max_num_seqs, fit)))

    def _desync_wait(self, out, span, clients: int) -> tuple[float, float]:
        """Mean and 99th-percentile wait of a new request for the prompt stage when clients are
        not in lock-step: in a real closed loop the clients' phases drift apart (network and
        tokenisation jitter, iterations of uneven length), so new requests reach the scheduler
        as a Poisson stream at the loop's rate; the prompt stage, busy a share rho of the time
        for s seconds per prompt, then queues them as an M/D/1 server (Pollaczek-Khinchine:
        W = rho s / (2 (1 - rho)); tail taken as exponential, as in costmodel/queueing.py). The
        simulation itself is deterministic and keeps the clients evenly spaced, so it never
        sees this wait. Not added where requests already queue for admission in the
        simulation (a saturated replica), scaled down as its queue fills; with ``clients``
        clients a request can only queue behind the other clients' prompts, so the wait is
        scaled by (clients - 1) / clients (none for a single client)."""
        prompts = out[OutCol.PROMPTS]
        busy = out[OutCol.PREFILL_TIME]
        if prompts <= 0 or busy <= 0 or self.phase == 2:
            return 0.0, 0.0
        waiting = out[OutCol.WAITING] / span
        rho = min(busy / span, 0.98)
        s = busy / prompts
        weight = max(1.0 - waiting, 0.0) * (clients - 1.0) / clients
        mean = weight * rho * s / (2.0 * (1.0 - rho))
        if mean <= 0:
            return 0.0, 0.0
        p99 = mean / rho * math.log(rho / 0.01) if rho > 0.01 else 0.0
        return mean, p99

    def alone(self, cap_w: float) -> LoadPoint:
        """One client: a request with the replica to itself."""
        key = ("alone", round(cap_w, 6))
        if key not in self._models:
            self._models[key] = self.run(cap_w, 1, stagger_s=0.0)
        return self._models[key]

    def saturated(self, cap_w: float) -> LoadPoint:
        """The maximum sustained throughput: every request queued at once (the offline benchmark)."""
        n = self.admitted_estimate()
        return self.run(cap_w, self.saturating_clients(), warmup=n, measure=max(2 * n, 64), stagger_s=0.0)
