"""Predicted vs published: Korthikanti et al. 2022 (arXiv:2205.05198) Table 5 and Figure 1.

    python benchmarks/accuracy_korthikanti.py

GPT models of 22B, 175B, 530B and 1T on 8 to 512 A100-80GB GPUs (DGX A100, 8 x 200 Gb/s HDR),
with the paper's Table 3 configurations (benchmarks/reference/training_scale/
korthikanti2022_table5.csv): iteration time with full recomputation (tensor parallelism
without sequence parallelism) and with sequence parallelism plus selective recomputation, on
the megatron-2022 stack (fp16 with fp32 master weights, unfused attention, dropout, no
overlap of the data-parallel, parameter or pipeline communication). Activation memory of the
first pipeline stage against Figure 1 (values as digitised by Calculon,
korthikanti2022_activation_memory.md): the tensor-parallel baseline without recomputation and
the paper's sequence parallelism plus selective recomputation. Nothing here is fitted.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TABLE5 = Path(__file__).parent / "reference" / "training_scale" / "korthikanti2022_table5.csv"
SEQ = 2048

# Figure 1, GiB per GPU (Calculon's digitisation): TP baseline activations, TP+SP+selective.
FIGURE1_GIB = {"22B": (59.25, 9.5625), "175B (GPT-3)": (66.84375, 12.3515625),
               "530B (MT-NLG)": (114.0234375, 23.076171875), "1T": (131.25, 26.5625)}


def _setup():
    from simulator.costmodel.comm import CommModel
    from simulator.costmodel.device import DeviceModel
    from simulator.costmodel.precision import Recipe
    from simulator.domain.catalog import shipped_catalog

    catalog = shipped_catalog()
    device = DeviceModel.from_name("a100-sxm-80gb")
    comm = CommModel.for_node(catalog.nodes.get("dgx-a100"), device.spec)
    stack = catalog.stacks.get("megatron-2022")
    return device, comm, lambda recompute: Recipe.from_stack(stack, "fp16-mixed", recompute, "adamw-fused")


def _cases():
    from simulator.domain.specs import ModelSpec

    with TABLE5.open() as f:
        for r in csv.DictReader(f):
            model = ModelSpec(name=r["model"], layers=int(r["layers"]), hidden=int(r["hidden"]),
                              heads=int(r["heads"]), vocab=int(r["vocab"]), max_seq=SEQ, tied_embeddings=True)
            yield r, model


def _layout(r: dict, sp: bool):
    from simulator.domain.layout import ParallelLayout

    return ParallelLayout(tp=int(r["tp"]), pp=int(r["pp"]), dp=int(r["dp"]), interleave=int(r["vp_interleave_m"]),
                          sp=sp, micro_batch=int(r["micro_batch"]), zero=0)


def step_rows() -> list[dict]:
    """Table 5: iteration time, full recomputation and SP + selective recomputation."""
    from simulator.costmodel.parallel import evaluate

    device, comm, recipe = _setup()
    out = []
    for r, model in _cases():
        for mode, column, sp in (("full", "iter_time_full_recompute_s", False),
                                 ("selective", "iter_time_sp_plus_selective_s", True)):
            res = evaluate(model, device, int(r["gpus"]), int(r["global_batch"]), SEQ, _layout(r, sp), recipe(mode),
                           comm)
            out.append({"case": f"{r['model']} {'full recompute' if mode == 'full' else 'SP + selective'}",
                        "predicted": res["step_time_at_tdp_s"], "published": float(r[column]), "breakdown": res})
    return out


def memory_rows() -> list[dict]:
    """Figure 1: activation memory of the first stage (GiB)."""
    from simulator.costmodel.parallel import evaluate

    device, comm, recipe = _setup()
    out = []
    for r, model in _cases():
        base, present = FIGURE1_GIB[r["model"]]
        for what, recompute, sp, published in (("TP baseline", "none", False, base),
                                               ("TP+SP+selective", "selective", True, present)):
            res = evaluate(model, device, int(r["gpus"]), int(r["global_batch"]), SEQ, _layout(r, sp),
                           recipe(recompute), comm)
            out.append({"case": f"{r['model']} {what}", "predicted": res["activations_bytes"] / 2**30,
                        "published": published})
    return out


def main() -> int:
    for title, rows, unit in (("Table 5 iteration time", step_rows(), "s"),
                              ("Figure 1 activation memory", memory_rows(), "GiB")):
        print(f"== {title}")
        errors = []
        for row in rows:
            err = row["predicted"] / row["published"] - 1
            errors.append(abs(err))
            print(f"{row['case']:<34} {row['predicted']:9.2f} {row['published']:9.2f} {unit:<4} {100 * err:+6.1f}%")
        print(f"mean |error| {100 * sum(errors) / len(errors):.1f}%, max {100 * max(errors):.1f}%\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
