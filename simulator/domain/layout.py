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


LAYOUT_LEN = len(LayoutCol)


@dataclass(frozen=True)
class ParallelLayout:
    """Degrees of tensor (tp), pipeline (pp, with ``interleave`` chunks per stage), data (dp)
    and expert (ep) parallelism, the ZeRO stage, sequence parallelism and the micro-batch."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1
    zero: int = 0
    interleave: int = 1
    sp: bool = False
    micro_batch: int = 1

    @classmethod
    def from_degrees(cls, gpus: int, micro_batch: int, *, tp: int = 1, pp: int = 1, dp: int | None = None,
                     ep: int = 1, zero: int = 1, interleave: int = 1,
                     sequence_parallel: bool = True) -> ParallelLayout:
        """A layout as a planner writes it: dp defaults to gpus / (tp*pp); sequence parallelism
        only means something with tp > 1."""
        dp = dp if dp is not None else max(gpus // (tp * pp), 1)
        return cls(tp, pp, dp, ep, zero, interleave, bool(sequence_parallel and tp > 1), micro_batch)

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def name(self) -> str:
        """A short label such as 'tp8-pp4-dp16-mb1' (plus ep/zero/interleave when used)."""
        parts = [f"tp{self.tp}", f"pp{self.pp}", f"dp{self.dp}"]
        if self.ep > 1:
            parts.append(f"ep{self.ep}")
        if self.interleave > 1:
            parts.append(f"v{self.interleave}")
        if self.zero:
            parts.append(f"z{self.zero}")
        parts.append(f"mb{self.micro_batch}")
        return "-".join(parts)

    def to_row(self, cost_index: int = 0) -> np.ndarray:
        row = np.zeros(LAYOUT_LEN)
        row[LayoutCol.TP], row[LayoutCol.PP], row[LayoutCol.DP] = self.tp, self.pp, self.dp
        row[LayoutCol.EP], row[LayoutCol.ZERO], row[LayoutCol.V] = self.ep, self.zero, self.interleave
        row[LayoutCol.SP], row[LayoutCol.MB], row[LayoutCol.COST] = float(self.sp), self.micro_batch, cost_index
        return row

    @classmethod
    def from_row(cls, row: np.ndarray) -> ParallelLayout:
        return cls(int(row[LayoutCol.TP]), int(row[LayoutCol.PP]), int(row[LayoutCol.DP]), int(row[LayoutCol.EP]),
                   int(row[LayoutCol.ZERO]), int(row[LayoutCol.V]), bool(row[LayoutCol.SP] > 0.5),
                   int(row[LayoutCol.MB]))

    def as_dict(self) -> dict[str, int]:
        """The layout as written in outputs (every degree an integer)."""
        return {"tp": self.tp, "pp": self.pp, "dp": self.dp, "ep": self.ep, "zero": self.zero,
                "interleave": self.interleave, "sp": int(self.sp), "micro_batch": self.micro_batch}


class Violation(IntFlag):
    """Ways a layout can be invalid for a job (a bit each, so the kernel returns them at once)."""

    PRODUCT = 1          # tp * pp * dp != gpus
    TP_DOMAIN = 2        # tp does not divide the scale-up domain
    TP_HEADS = 4         # tp does not divide the attention heads
    PP_LAYERS = 8        # layers do not split into pp * interleave chunks
    V_NEEDS_PP = 16      # interleaving without pipelining
    BATCH = 32           # global batch not a multiple of micro_batch * dp
    V_MICRO = 64         # interleaved schedule with micro-batches not a multiple of pp
    EP = 128             # ep does not divide the experts, or exceeds dp * tp


def layout_violations(tp, pp, dp, ep, v, b, gpus, domain, heads, layers, experts, global_batch):
    """Bitwise OR of ``Violation`` flags for one layout (0: valid). Integer arithmetic only: the
    search kernel compiles this very function with Numba."""
    bad = 0
    if tp * pp * dp != gpus:
        bad |= 1
    if tp > domain or domain % tp != 0:
        bad |= 2
    if heads % tp != 0:
        bad |= 4
    if pp > layers or layers % (pp * v) != 0:
        bad |= 8
    if v > 1 and pp == 1:
        bad |= 16
    if global_batch % (b * dp) != 0:
        bad |= 32
    elif v > 1 and (global_batch // (b * dp)) % pp != 0:
        bad |= 64
    if ep > 1 and (experts % ep != 0 or ep > dp * tp):
        bad |= 128
    return bad


def layout_problems(layout: ParallelLayout, *, gpus: int, global_batch: int, domain: int, heads: int | None,
                    layers: int | None, experts: int | None) -> list[tuple[str, str]]:
    """Each violation of ``layout`` as (field, message): the field is the layout key at fault
    ("" for the layout as a whole, "global_batch" for the job's batch). Model dimensions given
    as None (the model could not be read) are not checked."""
    lay = layout
    heads = lay.tp if heads is None else heads
    layers = lay.pp * lay.interleave if layers is None else layers
    experts = max(lay.ep, 1) if experts is None else experts
    bad = Violation(layout_violations(lay.tp, lay.pp, lay.dp, lay.ep, lay.interleave, lay.micro_batch, gpus,
                                      domain, heads, layers, experts, global_batch))
    out: list[tuple[str, str]] = []
    if Violation.PRODUCT in bad:
        split = lay.tp * lay.pp
        why = f" (tp*pp = {split} does not divide {gpus})" if gpus % split else ""
        out.append(("", f"tp*pp*dp = {lay.gpus} but gpus = {gpus}{why}"))
    if Violation.TP_DOMAIN in bad:
        out.append(("tp", f"tensor parallelism {lay.tp} must divide the scale-up domain ({domain} accelerators)"))
    if Violation.TP_HEADS in bad:
        out.append(("tp", f"tp {lay.tp} does not divide the {heads} attention heads"))
    if Violation.PP_LAYERS in bad:
        if lay.pp > layers:
            out.append(("pp", f"{lay.pp} pipeline stages but the model has {layers} layers"))
        else:
            out.append(("pp", f"{layers} layers do not split into pp*interleave = {lay.pp * lay.interleave} "
                              "equal chunks"))
    if Violation.V_NEEDS_PP in bad:
        out.append(("interleave", "interleave needs pp > 1"))
    if lay.gpus != gpus and gpus % (lay.tp * lay.pp):
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
    return out


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def no_layout_reason(*, gpus: int, global_batch: int, domain: int, heads: int, layers: int,
                     micro_batches: tuple[int, ...]) -> str:
    """Why no layout of ``gpus`` accelerators is valid for a job (the first constraint that no
    combination of degrees meets), for an error message."""
    tps = [tp for tp in divisors(domain) if heads % tp == 0 and gpus % tp == 0]
    if not tps:
        return (f"no layout of {gpus} GPUs: no tensor-parallel degree divides {gpus}, the {heads} attention heads "
                f"and the scale-up domain of {domain}")
    splits = [(tp, pp, gpus // (tp * pp)) for tp in tps for pp in divisors(gpus // tp)
              if pp <= layers and layers % pp == 0]
    if not splits:
        return (f"no layout of {gpus} GPUs: after tensor parallelism ({', '.join(map(str, tps))}) no pipeline "
                f"depth divides both the rest and the {layers} layers")
    dps = sorted({dp for _, _, dp in splits})
    sizes = ", ".join(map(str, micro_batches))
    return (f"no layout of {gpus} GPUs: global_batch {global_batch} is not a multiple of micro_batch*dp for "
            f"any data-parallel degree left over ({', '.join(map(str, dps[:8]))}{', ...' if len(dps) > 8 else ''}) "
            f"and micro-batch ({sizes})")
