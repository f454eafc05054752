"""A parallel training layout, and the one rule of which layouts are valid for a job.

``ParallelLayout`` is the only layout type: the schema's ``layout:`` mapping, ``estimate
train``'s flags and the search kernel's rows all become one. ``to_row``/``from_row`` give the
float row the Numba kernels read, its columns named by ``LayoutCol``.

``layout_violations`` is the rule (scalar arithmetic only, so the search kernel compiles the
same function with Numba); ``layout_problems`` words each violation for a person. ``dcsim
validate``, the run's planner and the layout search all go through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

import numpy as np


class LayoutCol(IntEnum):
    """Columns of a layout row (int-valued floats); COST indexes the kernel's stage-cost table."""

    TP = 0
    PP = 1
    DP = 2
    EP = 3
    ZERO = 4
    V = 5
    SP = 6
    MB = 7
    COST = 8
    CP = 9
    FIRST = 10
    LAST = 11
    TPO = 12


LAYOUT_LEN = len(LayoutCol)


@dataclass(frozen=True)
class ParallelLayout:
    """Degrees of tensor (tp), context (cp), pipeline (pp, with ``interleave`` chunks per stage),
    data (dp) and expert (ep) parallelism, the ZeRO stage, sequence parallelism and the
    micro-batch; ``first_stage_layers``/``last_stage_layers`` (0: an even split) give the first
    and last pipeline stages their own layer counts, as Megatron-LM's
    ``--decoder-first/last-pipeline-num-layers`` do (the other stages share the rest evenly);
    ``tp_comm_overlap`` overlaps the tensor-parallel collectives with the GEMMs that consume or
    produce them (Megatron-LM ``--tp-comm-overlap``, Transformer Engine userbuffers)."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1
    zero: int = 0
    interleave: int = 1
    sp: bool = False
    micro_batch: int = 1
    cp: int = 1
    first_stage_layers: int = 0
    last_stage_layers: int = 0
    tp_comm_overlap: bool = False

    @classmethod
    def from_degrees(cls, gpus: int, micro_batch: int, *, tp: int = 1, pp: int = 1, dp: int | None = None,
                     ep: int = 1, zero: int = 1, interleave: int = 1, sequence_parallel: bool = True,
                     cp: int = 1, first_stage_layers: int = 0, last_stage_layers: int = 0,
                     tp_comm_overlap: bool = False) -> ParallelLayout:
        """A layout as a planner writes it: dp defaults to gpus / (tp*cp*pp); sequence
        parallelism (and so TP overlap) only means something with tp > 1."""
        dp = dp if dp is not None else max(gpus // (tp * cp * pp), 1)
        sp = bool(sequence_parallel and tp > 1)
        return cls(tp, pp, dp, ep, zero, interleave, sp, micro_batch, cp, first_stage_layers, last_stage_layers,
                   bool(tp_comm_overlap and tp > 1))

    @property
    def gpus(self) -> int:
        return self.tp * self.cp * self.pp * self.dp

    @property
    def uneven(self) -> bool:
        return self.first_stage_layers > 0 or self.last_stage_layers > 0

    @property
    def name(self) -> str:
        """A short label such as 'tp8-pp4-dp16-mb1' (plus cp/ep/stage sizes/interleave/zero and
        'tpo' when used)."""
        parts = [f"tp{self.tp}"]
        if self.cp > 1:
            parts.append(f"cp{self.cp}")
        parts += [f"pp{self.pp}", f"dp{self.dp}"]
        if self.uneven:
            parts.append(f"f{self.first_stage_layers}l{self.last_stage_layers}")
        if self.ep > 1:
            parts.append(f"ep{self.ep}")
        if self.interleave > 1:
            parts.append(f"v{self.interleave}")
        if self.zero:
            parts.append(f"z{self.zero}")
        if self.tp_comm_overlap:
            parts.append("tpo")
        parts.append(f"mb{self.micro_batch}")
        return "-".join(parts)

    def stage_layers(self, layers: int) -> tuple[int, int, int]:
        """Layers of the first stage, of each middle stage and of the last stage (equal when
        the split is even; one stage holds them all without pipelining)."""
        return stage_split(layers, self.pp, self.first_stage_layers, self.last_stage_layers)

    def to_row(self, cost_index: int = 0) -> np.ndarray:
        row = np.zeros(LAYOUT_LEN)
        row[LayoutCol.TP], row[LayoutCol.PP], row[LayoutCol.DP] = self.tp, self.pp, self.dp
        row[LayoutCol.EP], row[LayoutCol.ZERO], row[LayoutCol.V] = self.ep, self.zero, self.interleave
        row[LayoutCol.SP], row[LayoutCol.MB], row[LayoutCol.COST] = float(self.sp), self.micro_batch, cost_index
        row[LayoutCol.CP], row[LayoutCol.FIRST], row[LayoutCol.LAST] = (self.cp, self.first_stage_layers,
                                                                        self.last_stage_layers)
        row[LayoutCol.TPO] = float(self.tp_comm_overlap)
        return row

    @classmethod
    def from_row(cls, row: np.ndarray) -> ParallelLayout:
        return cls(int(row[LayoutCol.TP]), int(row[LayoutCol.PP]), int(row[LayoutCol.DP]), int(row[LayoutCol.EP]),
                   int(row[LayoutCol.ZERO]), int(row[LayoutCol.V]), bool(row[LayoutCol.SP] > 0.5),
                   int(row[LayoutCol.MB]), int(row[LayoutCol.CP]), int(row[LayoutCol.FIRST]),
                   int(row[LayoutCol.LAST]), bool(row[LayoutCol.TPO] > 0.5))

    def as_dict(self) -> dict[str, int]:
        """The layout as written in outputs (every degree an integer)."""
        return {"tp": self.tp, "cp": self.cp, "pp": self.pp, "dp": self.dp, "ep": self.ep, "zero": self.zero,
                "interleave": self.interleave, "sp": int(self.sp), "micro_batch": self.micro_batch,
                "first_stage_layers": self.first_stage_layers, "last_stage_layers": self.last_stage_layers,
                "tp_comm_overlap": int(self.tp_comm_overlap)}


def stage_splits(layers, pp, out):
    """The (first, last) stage layer counts a search tries for ``pp`` stages, written into the
    rows of ``out``; returns how many: the even split (0, 0) when pp divides the layers, and end
    stages taking what (pp - 2) middle stages of c or c + 1 layers leave (c = ceil(layers /
    pp)), halved, each no larger than a middle stage (Llama 3: 126 layers on 16 stages as
    7 + 14 x 8 + 7). Integer arithmetic only: the search kernel compiles this function."""
    n = 0
    if pp <= 1 or layers % pp == 0:
        out[n, 0] = 0
        out[n, 1] = 0
        n += 1
    if pp <= 1:
        return n
    c0 = (layers + pp - 1) // pp
    for c in range(c0, c0 + 2):
        rest = layers - (pp - 2) * c
        first = rest // 2
        last = rest - first
        if first < 1 or last < 1 or first > c or last > c or (first == c and last == c):
            continue
        out[n, 0] = first
        out[n, 1] = last
        n += 1
    return n


def pipeline_depths(layers: int, rest: int) -> list[int]:
    """Pipeline depths dividing ``rest`` GPUs that split ``layers`` evenly or by stage_splits."""
    scratch = np.zeros((4, 2), dtype=np.int64)
    return [pp for pp in divisors(rest) if pp <= layers and stage_splits(layers, pp, scratch) > 0]


def stage_split(layers: int, pp: int, first: int, last: int) -> tuple[int, int, int]:
    """(first, middle, last) stage layer counts: the given first/last counts (0: not given) and
    the rest shared by the other stages (rounded up when it does not divide)."""
    if pp <= 1:
        return layers, layers, layers
    given = (first > 0) + (last > 0)
    rest = layers - first - last
    middle = -(-rest // (pp - given)) if pp > given else 0
    return (first or middle), middle, (last or middle)


class Violation(IntFlag):
    """Ways a layout can be invalid for a job (a bit each, so the kernel returns them at once)."""

    PRODUCT = 1          # tp * cp * pp * dp != gpus
    TP_DOMAIN = 2        # tp does not divide the scale-up domain
    TP_HEADS = 4         # tp does not divide the attention heads
    PP_LAYERS = 8        # layers do not split into pp * interleave chunks
    V_NEEDS_PP = 16      # interleaving without pipelining
    BATCH = 32           # global batch not a multiple of micro_batch * dp
    V_MICRO = 64         # interleaved schedule with micro-batches not a multiple of pp
    EP = 128             # ep does not divide the experts, or exceeds dp * tp
    CP_SEQ = 256         # the sequence does not split into 2 * cp equal chunks
    STAGES = 512         # first/last stage layer counts that cannot hold
    TPO_NEEDS_SP = 1024  # TP communication overlap without sequence parallelism


def layout_violations(tp, cp, pp, dp, ep, v, b, first, last, sp, tpo, gpus, domain, heads, layers, experts,
                      global_batch, seq):
    """Bitwise OR of ``Violation`` flags for one layout (0: valid). Integer arithmetic only: the
    search kernel compiles this very function with Numba.

    Context parallelism splits each sequence into 2*cp chunks (each rank takes one from each
    end, balancing causal attention: Megatron-LM/Transformer Engine, Llama 3 section 3.3.2).
    Uneven stages (Megatron-LM ``--decoder-first/last-pipeline-num-layers``): the stages not
    given a count share the remaining layers equally, in ``v`` chunks each, and a given count
    must itself split into ``v`` chunks, or into ``v`` once the embedding (first stage) or the
    loss (last stage) counts as one layer (Megatron-LM ``--account-for-embedding/loss-in-
    pipeline-split``; Llama 3's 7 + 14 x 8 + 7 layers on 16 stages, Dubey et al. 2024
    section 3.3.2)."""
    bad = 0
    if tp * cp * pp * dp != gpus:
        bad |= 1
    if tp > domain or domain % tp != 0:
        bad |= 2
    if heads % tp != 0:
        bad |= 4
    if pp == 1:
        if first > 0 or last > 0:
            bad |= 512
        elif layers % v != 0:
            bad |= 8
    else:
        given = (1 if first > 0 else 0) + (1 if last > 0 else 0)
        rest = layers - first - last
        middle = pp - given
        if rest < 0 or (middle == 0 and rest != 0):
            bad |= 512
        elif middle > 0 and (rest < middle or rest % (middle * v) != 0):
            bad |= 8
        if v > 1 and ((first % v != 0 and (first + 1) % v != 0) or (last % v != 0 and (last + 1) % v != 0)):
            bad |= 512
    if v > 1 and pp == 1:
        bad |= 16
    if global_batch % (b * dp) != 0:
        bad |= 32
    elif v > 1 and (global_batch // (b * dp)) % pp != 0:
        bad |= 64
    if ep > 1 and (experts % ep != 0 or ep > dp * tp):
        bad |= 128
    if cp > 1 and seq % (2 * cp) != 0:
        bad |= 256
    if tpo > 0 and sp == 0:
        bad |= 1024
    return bad


def layout_problems(layout: ParallelLayout, *, gpus: int, global_batch: int, domain: int, heads: int | None,
                    layers: int | None, experts: int | None, seq: int | None = None) -> list[tuple[str, str]]:
    """Each violation of ``layout`` as (field, message): the field is the layout key at fault
    ("" for the layout as a whole, "global_batch" for the job's batch, "seq" for its sequence).
    Model dimensions given as None (the model could not be read) are not checked."""
    lay = layout
    heads = lay.tp if heads is None else heads
    layers = max(lay.pp * lay.interleave, lay.first_stage_layers + lay.last_stage_layers + lay.pp * lay.interleave) \
        if layers is None else layers
    experts = max(lay.ep, 1) if experts is None else experts
    seq = 2 * lay.cp if seq is None else seq
    bad = Violation(layout_violations(lay.tp, lay.cp, lay.pp, lay.dp, lay.ep, lay.interleave, lay.micro_batch,
                                      lay.first_stage_layers, lay.last_stage_layers, int(lay.sp),
                                      int(lay.tp_comm_overlap), gpus, domain, heads, layers, experts, global_batch,
                                      seq))
    out: list[tuple[str, str]] = []
    split = lay.tp * lay.cp * lay.pp
    if Violation.PRODUCT in bad:
        what = "tp*cp*pp*dp" if lay.cp > 1 else "tp*pp*dp"
        why = f" ({what[:-3]} = {split} does not divide {gpus})" if gpus % split else ""
        out.append(("", f"{what} = {lay.gpus} but gpus = {gpus}{why}"))
    if Violation.TP_DOMAIN in bad:
        out.append(("tp", f"tensor parallelism {lay.tp} must divide the scale-up domain ({domain} accelerators)"))
    if Violation.TP_HEADS in bad:
        out.append(("tp", f"tp {lay.tp} does not divide the {heads} attention heads"))
    if Violation.STAGES in bad:
        out.append(_stage_problem(lay, layers))
    if Violation.PP_LAYERS in bad:
        out.append(_split_problem(lay, layers))
    if Violation.V_NEEDS_PP in bad:
        out.append(("interleave", "interleave needs pp > 1"))
    if lay.gpus != gpus and gpus % split:
        # dp itself is wrong: what follows from it (batch split, experts) would only repeat that.
        bad &= ~(Violation.BATCH | Violation.V_MICRO | Violation.EP)
    if Violation.BATCH in bad:
        out.append(("global_batch", f"global_batch {global_batch} is not a multiple of micro_batch*dp = "
                                    f"{lay.micro_batch * lay.dp}"))
    if Violation.V_MICRO in bad:
        out.append(("global_batch", f"interleaved schedules need the {global_batch // (lay.micro_batch * lay.dp)} "
                                    f"micro-batches to be a multiple of pp = {lay.pp}"))
    if Violation.EP in bad:
        if experts % lay.ep:
            out.append(("ep", f"ep {lay.ep} does not divide the {experts} experts"))
        else:
            out.append(("ep", f"ep {lay.ep} is larger than dp*tp = {lay.dp * lay.tp}"))
    if Violation.CP_SEQ in bad:
        out.append(("cp", f"context parallelism {lay.cp} splits each sequence into 2*cp = {2 * lay.cp} chunks; "
                          f"seq {seq} does not divide"))
    if Violation.TPO_NEEDS_SP in bad:
        out.append(("tp_comm_overlap", "TP communication overlap needs sequence parallelism (and tp > 1)"))
    return out


def _stage_problem(lay: ParallelLayout, layers: int) -> tuple[str, str]:
    field = "first_stage_layers" if lay.first_stage_layers else "last_stage_layers"
    if lay.pp == 1:
        return field, "first/last stage layer counts need pp > 1"
    v = lay.interleave
    if v > 1 and any(k % v and (k + 1) % v for k in (lay.first_stage_layers, lay.last_stage_layers)):
        return field, (f"with interleave {v} the first and last stages' layers ({lay.first_stage_layers}, "
                       f"{lay.last_stage_layers}) must split into {v} chunks (or {v} with the embedding or the "
                       "loss counted as a layer)")
    given = lay.first_stage_layers + lay.last_stage_layers
    if given > layers:
        return field, f"first + last stage layers = {given}, more than the model's {layers} layers"
    return field, (f"with {lay.pp} stages, first {lay.first_stage_layers} and last {lay.last_stage_layers} "
                   f"layers must add up to the model's {layers}")


def _split_problem(lay: ParallelLayout, layers: int) -> tuple[str, str]:
    if lay.pp > 1 and lay.uneven:
        given = (lay.first_stage_layers > 0) + (lay.last_stage_layers > 0)
        rest = layers - lay.first_stage_layers - lay.last_stage_layers
        middle = lay.pp - given
        return "pp", (f"the {rest} layers left after the first/last stages do not split into {middle} stages"
                      + (f" x {lay.interleave} chunks" if lay.interleave > 1 else "") + " of equal size")
    if lay.pp > layers:
        return "pp", f"{lay.pp} pipeline stages but the model has {layers} layers"
    hint = ""
    if lay.pp > 2:
        hint = " (first_stage_layers/last_stage_layers give the end stages their own counts)"
    return "pp", (f"{layers} layers do not split into pp*interleave = {lay.pp * lay.interleave} equal chunks"
                  + hint)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def no_layout_reason(*, gpus: int, global_batch: int, domain: int, heads: int, layers: int,
                     micro_batches: tuple[int, ...], cps: tuple[int, ...] = (1,)) -> str:
    """Why no layout of ``gpus`` accelerators is valid for a job (the first constraint that no
    combination of degrees meets), for an error message. Pipelines split the layers evenly or
    with uneven end stages (``stage_splits``, as the search does); ``cps`` are the context-
    parallel degrees the sequence allows."""
    tps = [tp for tp in divisors(domain) if heads % tp == 0 and gpus % tp == 0]
    if not tps:
        return (f"no layout of {gpus} GPUs: no tensor-parallel degree divides {gpus}, the {heads} attention heads "
                f"and the scale-up domain of {domain}")
    splits = [(tp, cp, pp, gpus // (tp * cp * pp)) for tp in tps for cp in cps if (gpus // tp) % cp == 0
              for pp in pipeline_depths(layers, gpus // (tp * cp))]
    if not splits:
        return (f"no layout of {gpus} GPUs: after tensor parallelism ({', '.join(map(str, tps))}) no pipeline "
                f"depth divides the rest and splits the {layers} layers into stages")
    dps = sorted({dp for *_, dp in splits})
    sizes = ", ".join(map(str, micro_batches))
    return (f"no layout of {gpus} GPUs: global_batch {global_batch} is not a multiple of micro_batch*dp for "
            f"any data-parallel degree left over ({', '.join(map(str, dps[:8]))}{', ...' if len(dps) > 8 else ''}) "
            f"and micro-batch ({sizes})")
