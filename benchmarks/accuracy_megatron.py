"""Predicted vs published per-GPU throughput for Megatron-LM's Table 1 (Narayanan et al., SC21).

    python benchmarks/accuracy_megatron.py

GPT models of 1.7B to 1T parameters on 32 to 3072 A100-80GB GPUs in DGX A100 nodes (8 x 200
Gb/s HDR InfiniBand), sequence 2048, vocabulary 51200, with the paper's tensor/pipeline
degrees and global batch sizes. The 2021 software stack is modelled as it was: fp16 mixed
precision with fp32 master weights, full activation recomputation, unfused attention (no
flash attention) with fused softmax, and the data-parallel all-reduce after the backward
pass (no overlap). Micro-batch size and interleaving are not in the table: for each row the
fastest micro-batch (1, 2, 4, 8) and interleaving (1, 2, 4) that fit in memory are used.

Throughput is counted as the paper does (section 5.1): F = 96 B s l h^2 (1 + s/6h + V/16lh)
FLOPs per step (forward, backward and the recomputed forward), divided by step time and GPUs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEQ = 2048
VOCAB = 51200

# (billions of parameters, heads, hidden, layers, tp, pp, GPUs, global batch, published TFLOP/s per GPU)
TABLE1 = (
    (1.7, 24, 2304, 24, 1, 1, 32, 512, 137),
    (3.6, 32, 3072, 30, 2, 1, 64, 512, 138),
    (7.5, 32, 4096, 36, 4, 1, 128, 512, 142),
    (18.4, 48, 6144, 40, 8, 1, 256, 1024, 135),
    (39.1, 64, 8192, 48, 8, 2, 512, 1536, 138),
    (76.1, 80, 10240, 60, 8, 4, 1024, 1792, 140),
    (145.6, 96, 12288, 80, 8, 8, 1536, 2304, 148),
    (310.1, 128, 16384, 96, 8, 16, 1920, 2160, 155),
    (529.6, 128, 20480, 105, 8, 35, 2520, 2520, 163),
    (1008.0, 160, 25600, 128, 8, 64, 3072, 3072, 163),
)


def paper_flops(batch: int, layers: int, hidden: int) -> float:
    """Narayanan et al. (2021), eq. in section 5.1 (includes the recomputed forward pass)."""
    return 96.0 * batch * SEQ * layers * hidden**2 * (1 + SEQ / (6 * hidden) + VOCAB / (16 * layers * hidden))


def rows() -> list[dict]:
    from simulator.costmodel import memory as mem
    from simulator.costmodel.comm import CommModel
    from simulator.costmodel.device import DeviceModel
    from simulator.costmodel.parallel import evaluate
    from simulator.costmodel.precision import Recipe
    from simulator.domain.catalog import shipped_catalog
    from simulator.domain.layout import ParallelLayout, layout_problems
    from simulator.domain.specs import ModelSpec

    catalog = shipped_catalog()
    device = DeviceModel.from_name("a100-sxm-80gb")
    comm = CommModel.for_node(catalog.nodes.get("dgx-a100"), device.spec)
    recipe = Recipe("fp16-mixed", "full", "adamw-fused", "standard", overlap_grad_reduce=False,
                    overlap_param_gather=False, overlap_p2p=False, dropout=True)
    usable = mem.usable_bytes(device.spec.hbm)
    out = []
    for params_b, heads, hidden, layers, tp, pp, gpus, batch, published in TABLE1:
        model = ModelSpec(name=f"gpt-{params_b}b", layers=layers, hidden=hidden, heads=heads,
                          vocab=VOCAB, max_seq=SEQ, tied_embeddings=True)
        dp = gpus // (tp * pp)
        best = None
        for micro in (1, 2, 4, 8):
            for v in (1, 2, 4):
                layout = ParallelLayout(tp=tp, pp=pp, dp=dp, interleave=v, micro_batch=micro)
                if layout_problems(layout, gpus=gpus, global_batch=batch, domain=comm.scaleup_domain,
                                   heads=model.heads, layers=model.layers, experts=model.experts):
                    continue
                r = evaluate(model, device, gpus, batch, SEQ, layout, recipe, comm)
                if r["peak_memory_bytes"] > usable:
                    continue
                if best is None or r["step_time_at_tdp_s"] < best[0]["step_time_at_tdp_s"]:
                    best = (r, layout)
        if best is None:
            continue
        r, layout = best
        predicted = paper_flops(batch, layers, hidden) / r["step_time_at_tdp_s"] / gpus / 1e12
        out.append({"case": f"{params_b:g}B tp{tp} pp{pp} dp{dp} (mb{layout.micro_batch} v{layout.interleave})",
                    "predicted": predicted, "published": float(published), "breakdown": r})
    return out


def main() -> int:
    print(f"{'case':<40} {'pred':>7} {'paper':>7} {'error':>7}   step  bubble  tp-comm  pp-comm  dp-comm")
    errors = []
    for row in rows():
        r = row["breakdown"]
        err = row["predicted"] / row["published"] - 1
        errors.append(abs(err))
        print(f"{row['case']:<40} {row['predicted']:7.1f} {row['published']:7.1f} {100 * err:+6.1f}%  "
              f"{r['step_time_at_tdp_s']:6.2f} {r['bubble_s']:6.2f} {r['tp_comm_s']:8.2f} "
              f"{r['pp_comm_s']:8.2f} {r['dp_comm_exposed_s']:8.2f}")
    print(f"mean |error| {100 * sum(errors) / len(errors):.1f}%, max {100 * max(errors):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
