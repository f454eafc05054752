"""``dcsim estimate train|prefill|decode|serve``: the cost model's answers without a simulation
(simulator/estimates/), each bad flag named by its flag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import estimate_app
from simulator.cli.errors import _attempt, _blame, _quantity_flag, handle_errors
from simulator.cli.options import (
    AccelOpt,
    ActOpt,
    FormatOpt,
    IterEngineOpt,
    KvOpt,
    LayoutChoice,
    ModelOpt,
    ServingTp,
    WeightsOpt,
)
from simulator.cli.output import OutputFormat, _h, print_json, print_rows
from simulator.domain.precision import (
    DEFAULT_OPTIMIZER,
    DEFAULT_RECOMPUTE,
    DEFAULT_TRAINING_PRECISION,
    AttentionKernel,
    OptimizerName,
    RecomputeMode,
    TrainingPrecision,
)
from simulator.errors import InputError, Problem


def _estimate_model(model: str, catalog):
    """--model as a ModelSpec: a catalog name, or a spec file read relative to the working folder."""
    from simulator.domain.model_ref import resolve_model

    with _blame("--model"):
        return resolve_model(model, catalog, None, path="")


def _estimate_accelerator(accelerator: str, catalog) -> str:
    """--accelerator as its catalog name (aliases and case resolved)."""
    with _blame("--accelerator"):
        return catalog.accelerators.get(accelerator, "").name


def _check_fabric(fabric: Path, accelerator: str | None, catalog) -> None:
    """Read and check --fabric before any estimate: YAML, keys, and the catalog names it gives."""
    from simulator.estimates.inputs import read_fabric

    with _blame("--fabric"):
        read_fabric(fabric, accelerator, catalog)


def _estimate_inputs(model: str, accelerator: str, fabric: Path | None = None):
    """(model spec, accelerator name) checked up front, so each bad one is named by its flag."""
    from simulator.domain.catalog import shipped_catalog

    catalog = shipped_catalog()
    problems: list[Problem] = []
    spec = _attempt(problems, _estimate_model, model, catalog)
    device = _attempt(problems, _estimate_accelerator, accelerator, catalog)
    if fabric is not None:
        _attempt(problems, _check_fabric, fabric, device, catalog)
    if problems:
        raise InputError(problems)
    return spec, device


@estimate_app.command("train")
@handle_errors
def estimate_train_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    seq: Annotated[int, typer.Option("--seq", "-s", min=1, max=10_000_000, help="Sequence length (tokens).")],
    micro_batch: Annotated[int | None, typer.Option("--micro-batch", "-b", min=1, max=1_000_000, help="Sequences per micro-batch (searched with --layout auto when omitted).")] = None,
    gpus: Annotated[int, typer.Option(min=1, max=10_000_000, help="Accelerators the job runs on.")] = 1,
    tp: Annotated[int | None, typer.Option(min=1, max=4096, help="Tensor-parallel degree.")] = None,
    pp: Annotated[int | None, typer.Option(min=1, max=4096, help="Pipeline-parallel degree.")] = None,
    dp: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="Data-parallel degree (default gpus/(tp*pp)).")] = None,
    ep: Annotated[int, typer.Option(min=1, max=4096, help="Expert-parallel degree.")] = 1,
    zero: Annotated[int | None, typer.Option(min=0, max=3, help="ZeRO stage (0-3); default 1 with dp > 1.")] = None,
    interleave: Annotated[int, typer.Option(min=1, max=64, help="Pipeline chunks per stage (interleaved 1F1B).")] = 1,
    cp: Annotated[int, typer.Option(min=1, max=4096, help="Context-parallel degree (ranks splitting each sequence).")] = 1,
    first_stage_layers: Annotated[int, typer.Option(min=0, max=100_000, help="Layers of the first pipeline stage (0: even split).")] = 0,
    last_stage_layers: Annotated[int, typer.Option(min=0, max=100_000, help="Layers of the last pipeline stage (0: even split).")] = 0,
    tp_comm_overlap: Annotated[bool | None, typer.Option("--tp-comm-overlap/--no-tp-comm-overlap", help="Overlap TP collectives with GEMMs (default: the stack's).")] = None,
    stack: Annotated[str | None, typer.Option(help="Software stack (catalog stacks: megatron-2021, mlperf-2023, nemo-2024, ...).")] = None,
    overlap_grad_reduce: Annotated[bool | None, typer.Option("--overlap-grad-reduce/--no-overlap-grad-reduce", help="DP gradient reduction overlaps the backward pass (default: the stack's).")] = None,
    sequence_parallel: Annotated[bool, typer.Option("--sp/--no-sp", help="Sequence parallelism with tp > 1.")] = True,
    layout: Annotated[LayoutChoice | None, typer.Option(help="'auto': search every layout that fits, take the fastest.")] = None,
    fabric: Annotated[Path | None, typer.Option(help="Fabric YAML (node, oversubscription, topology, switch, optic).")] = None,
    global_batch: Annotated[int | None, typer.Option(min=1, help="Sequences per optimizer step (default micro-batch x gpus).")] = None,
    gpu_hour_cost: Annotated[str | None, typer.Option(help="Price per GPU-hour (e.g. '$2.5'): also report the cheapest GPU count per token.")] = None,
    precision: Annotated[TrainingPrecision, typer.Option(help="Precision recipe (default: a scenario job's, domain/precision.py).")] = DEFAULT_TRAINING_PRECISION,
    recompute: Annotated[RecomputeMode, typer.Option(help="Activation recomputation.")] = DEFAULT_RECOMPUTE,
    optimizer: Annotated[OptimizerName, typer.Option(help="Optimizer implementation.")] = DEFAULT_OPTIMIZER,
    attention: Annotated[AttentionKernel | None, typer.Option(help="Attention kernel (default: flash, or the stack's).")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """Time, memory, throughput and MFU of one training step (one GPU, or a parallel layout)."""
    from simulator.estimates.train import estimate_train

    spec, device = _estimate_inputs(model, accelerator, fabric)
    explicit = {k: v for k, v in {"tp": tp, "pp": pp, "dp": dp, "zero": zero, "tp_comm_overlap": tp_comm_overlap}.items()
                if v is not None}
    for key, value in (("ep", ep), ("interleave", interleave), ("cp", cp)):
        if value > 1:
            explicit[key] = value
    for key, value in (("first_stage_layers", first_stage_layers), ("last_stage_layers", last_stage_layers)):
        if value > 0:
            explicit[key] = value
    if layout is not None and explicit:
        raise InputError([Problem("--layout", "auto searches tp/cp/pp/dp/ep/zero/interleave and stage sizes; give either --layout auto or explicit degrees")])
    chosen: str | dict | None = "auto" if layout is not None else None
    if explicit or gpus > 1:
        chosen = chosen or dict(explicit, sequence_parallel=sequence_parallel)
    price = _quantity_flag("--gpu-hour-cost", gpu_hour_cost, "money") if gpu_hour_cost is not None else None
    r = estimate_train(spec, device, micro_batch, seq, gpus=gpus, precision=precision,
                       recompute=recompute, optimizer=optimizer, global_batch=global_batch,
                       base_dir=Path.cwd(), attention=attention, layout=chosen, fabric=fabric,
                       gpu_hour_usd=price, stack=stack, overlap_grad_reduce=overlap_grad_reduce).to_dict()
    if fmt == OutputFormat.json:
        print_json(r)
        return
    title = f"train step: {r['model']} on {r['gpus']} x {r['accelerator']}"
    rows = [("step time", _h(r["step_time_s"], "time"))]
    if "layout_name" in r:
        rows.insert(0, ("layout", f"{r['layout_name']} ({r['layouts_evaluated']:,} evaluated)"))
    rows += [
        ("tokens/s", f"{r['tokens_per_s']:,.0f}"),
        ("MFU", f"{100 * r['mfu']:.1f}%"),
        ("model FLOPs/step", _h(r["model_flops_per_step"], "flop")),
        ("peak memory per GPU", _h(r["peak_memory_bytes"], "bytes")),
        ("avg board power", _h(r["avg_power_w"], "power")),
    ]
    for key in ("bubble_s", "tp_comm_s", "cp_comm_s", "pp_comm_s", "dp_comm_exposed_s", "ep_comm_s", "optimizer_s"):
        if r.get("breakdown", {}).get(key):
            rows.append((key.removesuffix("_s").replace("_", " "), _h(r["breakdown"][key], "time")))
    if r.get("cheapest"):
        c = r["cheapest"]
        rows.append(("$/M tokens at this size", f"${r['usd_per_mtoken']:.2f}"))
        rows.append(("cheapest per token", f"{c['gpus']} GPUs, ${c['usd_per_mtoken']:.2f}/M tokens"))
    print_rows(title, rows, fmt)


def _print_iteration(r: dict, title: str, time_key: str, time_label: str, fmt) -> None:
    if fmt == OutputFormat.json:
        print_json(r)
        return
    print_rows(title, [
        (time_label, _h(r[time_key], "time")),
        ("tokens/s", f"{r['tokens_per_s']:,.0f}"),
        ("precision", f"weights {r['precision']}, activations {r['activations']}, KV cache {r['kv_precision']}"),
        ("engine", r["engine"]),
        ("KV cache per GPU", _h(r["kv_cache_bytes"], "bytes")),
        ("peak memory per GPU", _h(r["peak_memory_bytes"], "bytes")),
        ("avg board power", _h(r["avg_power_w"], "power")),
    ], fmt)


@estimate_app.command("prefill")
@handle_errors
def estimate_prefill_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=1_000_000, help="Prompts in the batch.")],
    prompt: Annotated[int, typer.Option("--prompt", "-p", min=1, max=10_000_000, help="Prompt length (tokens).")],
    tp: ServingTp = 1,
    precision: WeightsOpt = "bf16",
    kv_precision: KvOpt = None,
    activations: ActOpt = None,
    engine: IterEngineOpt = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """Latency and throughput of prefilling a batch of prompts in one iteration."""
    from simulator.estimates.inference import estimate_inference

    spec, device = _estimate_inputs(model, accelerator)
    r = estimate_inference(spec, device, "prefill", batch, prompt, precision, base_dir=Path.cwd(), tp=tp,
                           kv_precision=kv_precision, activations=activations, engine=engine).to_dict()
    _print_iteration(r, f"prefill: {r['model']} on {tp} x {r['accelerator']} (batch {batch} x {prompt})",
                     "latency_s", "latency", fmt)


@estimate_app.command("decode")
@handle_errors
def estimate_decode_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=1_000_000, help="Sequences decoding together.")],
    context: Annotated[int, typer.Option("--context", "-c", min=0, max=10_000_000, help="Tokens already in each KV cache.")],
    tp: ServingTp = 1,
    precision: WeightsOpt = "bf16",
    kv_precision: KvOpt = None,
    activations: ActOpt = None,
    engine: IterEngineOpt = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """Time per decode step (one token per sequence) and throughput."""
    from simulator.estimates.inference import estimate_inference

    spec, device = _estimate_inputs(model, accelerator)
    r = estimate_inference(spec, device, "decode", batch, context, precision, base_dir=Path.cwd(), tp=tp,
                           kv_precision=kv_precision, activations=activations, engine=engine).to_dict()
    _print_iteration(r, f"decode: {r['model']} on {tp} x {r['accelerator']} (batch {batch}, context {context})",
                     "step_time_s", "step time", fmt)
