"""The ``dcsim`` command line: run, validate, estimate, sweep, compare, catalog, schema.

Errors print as messages (one line per problem) with exit code 2 for bad input and 1 for a
model that does not fit; never a traceback unless DCSIM_DEBUG=1. Heavy imports (numba, pandas)
happen inside the commands that need them, so ``--help`` and ``validate`` stay fast.
"""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - typer on click
    from click import exceptions as _cx

from simulator.domain.precision import ATTENTIONS, OPTIMIZERS, PRECISIONS, RECOMPUTES, SERVING_PRECISIONS
from simulator.errors import DcsimError, InputError, Problem


def _usage_line(err: _cx.ClickException, args: list[str]) -> str:
    """A bad flag or argument as one line: ``--flag: what is wrong (got 'value'); see ... --help``."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    if isinstance(err, _cx.NoSuchOption):
        near = sorted(err.possibilities or ())
        tip = f"; did you mean {near[0]}?" if len(near) == 1 else (
            f" (possible options: {', '.join(near)})" if near else "")
        return f"{err.option_name}: unknown option{tip}{hint}"
    param = getattr(err, "param", None)
    message = err.message if isinstance(err, _cx.BadParameter) else err.format_message()
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.replace(prefix, "")
    message = message[:1].lower() + message[1:]
    if param is None:
        where = getattr(err, "option_name", None) or "usage"
        message = message.removeprefix(f"option '{where}' ")
        return f"{where}: {message.rstrip('.')}{hint}"
    names = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    if param.param_type_name == "option" and names:
        where = names[0]
    else:
        where = str(getattr(param, "metavar", None) or param.name or "argument").upper()
    if isinstance(err, _cx.MissingParameter):
        return f"{where}: missing {param.param_type_name}{hint}"
    value = _raw_value(param, args)
    shown = f" (got {value!r})" if value is not None and repr(value) not in message else ""
    return f"{where}: {message.rstrip('.')}{shown}{hint}"


def _raw_value(param, args: list[str]) -> str | None:
    """The text given on the command line for option ``param``, as typed."""
    if param.param_type_name != "option":
        return None
    for i, token in enumerate(args):
        for opt in param.opts:
            if token == opt and i + 1 < len(args):
                return args[i + 1]
            if token.startswith(opt + "="):
                return token[len(opt) + 1:]
    return None


class DcsimGroup(TyperGroup):
    """Usage errors (a bad flag, a missing argument) print as one ``error:`` line like every other
    dcsim error, with exit code 2, instead of a usage panel."""

    def _report(self, err: _cx.ClickException, args: list[str]):
        if isinstance(err, _cx.NoArgsIsHelpError):
            raise err
        _err(f"error: {_usage_line(err, args)}")
        raise typer.Exit(err.exit_code) from None

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, list(args), parent=parent, **extra)
        except _cx.ClickException as err:
            self._report(err, list(args))

    def invoke(self, ctx):
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except _cx.ClickException as err:
            self._report(err, args)


app = typer.Typer(
    cls=DcsimGroup,
    name="dcsim",
    help="Datacenter capacity-planning simulator for AI clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
estimate_app = typer.Typer(help="Analytic cost of one training step, prefill or decode step.",
                           no_args_is_help=True)
app.add_typer(estimate_app, name="estimate")


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of the allowed values of a flag, from the one table that owns them."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)  # type: ignore[return-value]


Recompute = _choices("Recompute", RECOMPUTES)
PrecisionName = _choices("PrecisionName", PRECISIONS)
OptimizerName = _choices("OptimizerName", OPTIMIZERS)
AttentionName = _choices("AttentionName", ATTENTIONS)
ServePrecision = _choices("ServePrecision", SERVING_PRECISIONS)


def _err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


def handle_errors(func):
    """Turn dcsim errors into messages and exit codes; no tracebacks for users."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except InputError as err:
            for line in err.lines():
                _err(f"error: {line}")
            raise typer.Exit(err.exit_code) from None
        except DcsimError as err:
            _err(f"error: {err}")
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            _err("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise  # the reader went away (| head): typer exits quietly
        except Exception as err:
            if os.environ.get("DCSIM_DEBUG"):
                raise
            _err(f"internal error: {type(err).__name__}: {err} (set DCSIM_DEBUG=1 for a traceback)")
            raise typer.Exit(3) from None

    return wrapper


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(_clean(data), indent=2, sort_keys=True, default=_json_default) + "\n")


def print_rows(title: str, rows: list[tuple[str, str]], fmt: OutputFormat) -> None:
    """A two-column table: rich in a terminal, Markdown with --format md."""
    if fmt == OutputFormat.md:
        lines = [f"### {title}", "", "| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def _h(value: float, kind: str) -> str:
    from simulator.domain.units import human

    return human(value, kind)


def _under_flag(err: InputError, flag: str) -> InputError:
    """``err`` with every line led by ``flag``, so the user sees which option held the bad input."""
    return InputError([Problem(flag, p.format(err.source)) for p in err.problems])


@contextmanager
def _blame(flag: str):
    """Report any bad input found inside the block under the command-line ``flag``."""
    try:
        yield
    except InputError as err:
        raise _under_flag(err, flag) from None


def _estimate_model(model: str, catalog):
    """--model as a ModelSpec: a catalog name, or a spec file read relative to the working folder."""
    from simulator.domain.model_ref import resolve_model

    with _blame("--model"):
        return resolve_model(model, catalog, None, path="")


def _estimate_accelerator(accelerator: str, catalog) -> str:
    """--accelerator as its catalog name (aliases and case resolved)."""
    with _blame("--accelerator"):
        return catalog.accelerators.get(accelerator, "").name


def _fabric_names(spec, lines: dict[str, int], accelerator: str | None, catalog) -> list[Problem]:
    """Catalog names in a fabric file that do not exist, and a node that holds another accelerator
    (not checked when ``accelerator`` is None: --accelerator itself was bad)."""
    problems: list[Problem] = []
    for key, table in (("node", catalog.nodes), ("switch", catalog.switches), ("optic", catalog.optics)):
        name = getattr(spec, key)
        if name is None:
            continue
        try:
            entry = table.get(name, key)
        except InputError as err:
            problems += [replace(p, line=lines.get(key)) for p in err.problems]
            continue
        held = catalog.accelerators.get(entry.accelerator).name if key == "node" else None
        if held is not None and accelerator is not None and held != accelerator:
            problems.append(Problem("node", f"node {entry.name} holds {entry.accelerator}, not {accelerator}",
                                    line=lines.get(key)))
    return sorted(problems, key=lambda p: p.line or 0)


def _check_fabric(fabric: Path, accelerator: str | None, catalog) -> None:
    """Read and check --fabric before any estimate: YAML, keys, and the catalog names it gives."""
    from simulator.domain.validation import validate_model
    from simulator.domain.yaml_io import load_yaml_file
    from simulator.scenario.schema import FabricFile

    with _blame("--fabric"):
        doc = load_yaml_file(fabric)
        data = doc.data if doc.data is not None else {}
        spec = validate_model(FabricFile, data, doc.lines, str(fabric))
        problems = _fabric_names(spec, doc.lines, accelerator, catalog)
        if problems:
            raise InputError(problems, str(fabric))


def _attempt(problems: list[Problem], func, *args):
    """``func(*args)``, or None with its input problems added to ``problems`` (to report all at once)."""
    try:
        return func(*args)
    except InputError as err:
        problems.extend(err.problems)
        return None


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


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a model spec YAML.")]
AccelOpt = Annotated[str, typer.Option("--accelerator", "-a", help="Catalog accelerator name (e.g. h100-sxm).")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


class LayoutChoice(str, Enum):
    auto = "auto"


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
    precision: Annotated[PrecisionName, typer.Option(help="Precision recipe.")] = PrecisionName.bf16_amp,
    recompute: Annotated[Recompute, typer.Option(help="Activation recomputation.")] = Recompute.none,
    optimizer: Annotated[OptimizerName, typer.Option(help="Optimizer implementation.")] = OptimizerName.adamw_foreach,
    attention: Annotated[AttentionName | None, typer.Option(help="Attention kernel (default: flash, or the stack's).")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """Time, memory, throughput and MFU of one training step (one GPU, or a parallel layout)."""
    from simulator import api
    from simulator.domain.units import parse_quantity
    from simulator.errors import UnitError

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
    chosen = "auto" if layout is not None else None
    if explicit or gpus > 1:
        chosen = chosen or dict(explicit, sequence_parallel=sequence_parallel)
    price = None
    if gpu_hour_cost is not None:
        try:
            price = parse_quantity(gpu_hour_cost, "money")
        except UnitError as err:
            raise InputError([Problem("--gpu-hour-cost", str(err))]) from None
    r = api.estimate_train(spec, device, micro_batch, seq, gpus=gpus, precision=precision.value,
                           recompute=recompute.value, optimizer=optimizer.value, global_batch=global_batch,
                           base_dir=Path.cwd(), attention=attention.value if attention else None, layout=chosen,
                           fabric=fabric, gpu_hour_usd=price, stack=stack, overlap_grad_reduce=overlap_grad_reduce)
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


@estimate_app.command("prefill")
@handle_errors
def estimate_prefill_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=1_000_000, help="Prompts in the batch.")],
    prompt: Annotated[int, typer.Option("--prompt", "-p", min=1, max=10_000_000, help="Prompt length (tokens).")],
    fmt: FormatOpt = OutputFormat.table,
):
    """Latency and throughput of prefilling a batch of prompts."""
    from simulator import api

    spec, device = _estimate_inputs(model, accelerator)
    r = api.estimate_prefill(spec, device, batch, prompt, base_dir=Path.cwd())
    if fmt == OutputFormat.json:
        print_json(r)
        return
    print_rows(f"prefill: {r['model']} on {r['accelerator']} (batch {batch} x {prompt})", [
        ("latency", _h(r["latency_s"], "time")),
        ("tokens/s", f"{r['tokens_per_s']:,.0f}"),
        ("KV cache", _h(r["kv_cache_bytes"], "bytes")),
        ("peak memory", _h(r["peak_memory_bytes"], "bytes")),
        ("avg board power", _h(r["avg_power_w"], "power")),
    ], fmt)


@estimate_app.command("decode")
@handle_errors
def estimate_decode_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=1_000_000, help="Sequences decoding together.")],
    context: Annotated[int, typer.Option("--context", "-c", min=0, max=10_000_000, help="Tokens already in each KV cache.")],
    fmt: FormatOpt = OutputFormat.table,
):
    """Time per decode step (one token per sequence) and throughput."""
    from simulator import api

    spec, device = _estimate_inputs(model, accelerator)
    r = api.estimate_decode(spec, device, batch, context, base_dir=Path.cwd())
    if fmt == OutputFormat.json:
        print_json(r)
        return
    print_rows(f"decode: {r['model']} on {r['accelerator']} (batch {batch}, context {context})", [
        ("step time", _h(r["step_time_s"], "time")),
        ("tokens/s", f"{r['tokens_per_s']:,.0f}"),
        ("KV cache", _h(r["kv_cache_bytes"], "bytes")),
        ("peak memory", _h(r["peak_memory_bytes"], "bytes")),
        ("avg board power", _h(r["avg_power_w"], "power")),
    ], fmt)


def _quantity_flag(flag: str, text: str, kind: str) -> float:
    """A flag's value with its unit, or the flag named in the error."""
    from simulator.domain.units import parse_quantity
    from simulator.errors import UnitError

    try:
        return parse_quantity(text, kind)
    except UnitError as err:
        raise InputError([Problem(flag, str(err))]) from None


@estimate_app.command("serve")
@handle_errors
def estimate_serve_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    gpus_per_replica: Annotated[int, typer.Option("--gpus-per-replica", "-t", min=1, max=4096, help="Accelerators per replica (tensor parallel).")] = 1,
    prompt: Annotated[int, typer.Option("--prompt", "-p", min=1, max=10_000_000, help="Prompt length (tokens).")] = 1024,
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=1, max=10_000_000, help="Generated tokens per request.")] = 256,
    max_batch: Annotated[int, typer.Option("--max-batch", "-b", min=1, max=1_000_000, help="Requests in flight per replica.")] = 64,
    rate: Annotated[str | None, typer.Option(help="Requests to serve, e.g. '50/s': also size the replicas for the SLO.")] = None,
    ttft: Annotated[str, typer.Option(help="Time-to-first-token target, e.g. '2s'.")] = "2s",
    tpot: Annotated[str, typer.Option(help="Time-per-output-token target, e.g. '60ms'.")] = "100ms",
    slo_share: Annotated[float, typer.Option(min=0.5, max=0.99999, help="Share of requests that must meet the TTFT target.")] = 0.99,
    gpu_hour_cost: Annotated[str | None, typer.Option(help="Price per GPU-hour (e.g. '$2.5'): also report $ per million generated tokens.")] = None,
    precision: Annotated[ServePrecision, typer.Option(help="Serving precision.")] = ServePrecision.bf16,
    fmt: FormatOpt = OutputFormat.table,
):
    """A continuously batched serving replica: capacity, and the replicas a request rate needs
    within its latency targets (closed forms, no simulation)."""
    from simulator import api

    spec, device = _estimate_inputs(model, accelerator)
    rate_per_s = _quantity_flag("--rate", rate, "rate") if rate is not None else None
    price = _quantity_flag("--gpu-hour-cost", gpu_hour_cost, "money") if gpu_hour_cost is not None else None
    r = api.estimate_serve(spec, device, gpus_per_replica, prompt, output_tokens, max_batch, rate_per_s,
                           _quantity_flag("--ttft", ttft, "time"), _quantity_flag("--tpot", tpot, "time"),
                           slo_share, precision.value, price)
    if fmt == OutputFormat.json:
        print_json(r)
        return
    rows = [
        ("prefill (time to first token, alone)", _h(r["prefill_s"], "time")),
        ("time per token at a full batch", _h(r["tpot_full_batch_s"], "time")),
        ("capacity per replica", f"{r['capacity_per_replica_per_s']:,.2f} requests/s"),
        ("generated tokens/s per replica", f"{r['output_tokens_per_s_per_replica']:,.0f}"),
        ("memory per GPU (weights + full KV cache)", f"{_h(r['memory_per_gpu_bytes'], 'bytes')} of "
                                                     f"{_h(r['usable_memory_per_gpu_bytes'], 'bytes')} usable"),
    ]
    if "replicas" in r:
        rows += [
            ("replicas for the targets", f"{r['replicas']:,} ({r['gpus']:,} GPUs), {100 * r['utilisation']:.0f}% busy"),
            ("mean batch in flight", f"{r['batch']:.1f}"),
            ("time per output token", _h(r["tpot_s"], "time")),
            ("mean time to first token", _h(r["ttft_mean_s"], "time")),
            ("requests within the TTFT target", f"{100 * r['slo_share']:.2f}%"),
            ("mean board power", _h(r["board_power_w"], "power")),
        ]
        if "usd_per_mtoken" in r:
            rows.append(("$ per million generated tokens", f"${r['usd_per_mtoken']:.2f}"))
    title = f"serve: {r['model']} on {r['gpus_per_replica']} x {r['accelerator']} per replica"
    print_rows(title, rows, fmt)


@app.command("catalog")
@handle_errors
def catalog_cmd(
    kind: Annotated[str | None, typer.Argument(help="accelerators, models, nodes, switches, optics, climates")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """List catalog entries (and where their numbers come from)."""
    from simulator.domain.catalog import INTERNAL_KINDS, KINDS, shipped_catalog

    catalog = shipped_catalog()
    kinds = [kind] if kind else [k for k in KINDS if k not in INTERNAL_KINDS]
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown catalog kind '{k}'; known: {', '.join(KINDS)}")
    if fmt == OutputFormat.json:
        print_json({k: [e.model_dump(mode="json") for e in getattr(catalog, k).entries] for k in kinds})
        return
    for k in kinds:
        rows = [(e.name, (e.source or "")[:90]) for e in getattr(catalog, k).entries]
        print_rows(k, rows, fmt)


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


@app.command("validate")
@handle_errors
def validate_cmd(scenario: ScenarioArg):
    """Check a scenario without running it: every problem, with its YAML path, exit code 2. Runs
    the same planning as `dcsim run` (layouts, memory, the idle site), so what validates runs."""
    from simulator.scenario.load import load_scenario

    loaded = load_scenario(scenario)
    from simulator.engine.planning import plan_run  # the cost model (Numba) only for a clean scenario

    try:
        plan = plan_run(loaded)
    except InputError as err:
        raise loaded.locate(err) from None
    sc = loaded.scenario
    gpus = sum(g.gpus_total for g in plan.groups)
    sys.stdout.write(f"ok: {sc.name}: {len(sc.cluster.racks)} rack group(s), {gpus} accelerators, "
                     f"{len(sc.workloads.training)} training job(s), {len(sc.workloads.inference)} inference "
                     f"service(s), horizon {_h(sc.simulation.horizon, 'time')}\n")


def _check_out(out: Path, force: bool) -> None:
    """Refuse an output folder that cannot be written before spending time on a simulation."""
    if out.exists() and not out.is_dir():
        raise InputError([Problem("--out", f"{out} is a file, not an output folder")])
    if out.exists() and not force:
        raise InputError([Problem("--out", f"output folder {out} already exists (use --force to "
                                           "replace it)")])
    ancestor = out.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError([Problem("--out", f"cannot create {out}: {ancestor} is not a folder")])
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError([Problem("--out", f"cannot create {out}: {ancestor} is not writable")])


def _progress_bar(enabled: bool):
    """A rich progress bar over simulated time, or nothing when output is not a terminal."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    # On stderr, so stdout stays clean for --format json/md even when a bar is forced on.
    progress = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                        TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    task = progress.add_task("run", total=1.0)

    def update(now: float, horizon: float) -> None:
        progress.update(task, completed=now / horizon)

    return progress, update


@contextmanager
def _interruptible():
    """Ctrl-C raises KeyboardInterrupt as usual, and again at the next progress tick if the first
    one was swallowed: Numba's compiler callbacks (ctypes) ignore exceptions raised inside them
    and report them as unraisable, which is kept quiet here. Yields the check for each tick."""
    hit = []

    def handler(signum, _frame):
        hit.append(signum)
        raise KeyboardInterrupt

    def check() -> None:
        if hit:
            raise KeyboardInterrupt

    def quiet(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:                      # not the main thread: leave Ctrl-C as it is
        yield check
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, quiet
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook


@app.command("run")
@handle_errors
def run_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")] = Path("out"),
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar (default: when on a terminal).")] = None,
):
    """Simulate a scenario and write summary.json, costs.json, Parquet tables and report.html."""
    from simulator import api

    loaded = api.load_scenario(scenario)
    _check_out(out, force)
    show = sys.stderr.isatty() if progress is None else progress
    bar, update_bar = _progress_bar(show)
    try:
        with _interruptible() as check, bar if bar is not None else nullcontext():
            def tick(now: float, horizon: float) -> None:
                check()
                if update_bar is not None:
                    update_bar(now, horizon)

            result = api.simulate(loaded, progress=tick)
    except InputError as err:  # found while building the run: name the file and lines too
        raise loaded.locate(err) from None
    result.write(out, force=force)
    if fmt == OutputFormat.json:
        print_json({"summary": result.summary_dict, "costs": result.costs_dict, "out": str(out)})
        return
    if fmt == OutputFormat.md:
        sys.stdout.write(result.markdown())
        return
    from simulator.report.fmt import fmt_tokens
    from simulator.report.tables import reliability_table, services_headline_rows

    s, c = result.summary_dict, result.costs_dict
    print_rows(f"{s['scenario']}: {_h(s['horizon_s'], 'time')} simulated -> {out}", [
        ("facility energy", _h(s["facility_energy_j"], "energy")),
        ("IT energy", _h(s["it_energy_j"], "energy")),
        ("PUE", f"{s['pue_mean']:.3f}"),
        ("peak facility power", f"{_h(s['peak_facility_power_w'], 'power')} of {_h(s['power_envelope_w'], 'power')}"),
        ("GPU utilisation", f"{100 * s['gpu_utilization_mean']:.1f}%"),
        ("jobs finished", f"{s['jobs_finished']} / {s['jobs_total']}"),
        ("tokens trained", fmt_tokens(s["tokens_trained"])),
        *services_headline_rows(s, c),
        ("energy cost", f"${s['energy_cost_usd']:,.0f}"),
        ("total cost", f"${c['total_usd']:,.0f}"),
        ("$/GPU-hour", f"${c['usd_per_gpu_hour']:.2f}"),
        ("carbon", f"{s['carbon_kg'] / 1000:,.1f} t CO2e"),
        *reliability_table(s).rows,
    ], OutputFormat.table)


@app.command("sweep")
@handle_errors
def sweep_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: sweep.parquet and sweep.json.")] = Path("out-sweep"),
    axis: Annotated[list[str] | None, typer.Option("--axis", help="PATH=V1,V2,... (repeatable; adds to the scenario's sweep.axes).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Local worker processes.")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="dask.distributed scheduler address, or 'local'.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Folder of cached variant results (reused when unchanged).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output folder if it exists.")] = False,
    fmt: FormatOpt = OutputFormat.table,
):
    """Run every combination of axis values; one row of headline numbers per variant."""
    from simulator import api
    from simulator.sweep.grid import expand, parse_axis
    from simulator.sweep.local import run_all
    from simulator.sweep.table import sweep_frame

    loaded = api.load_scenario(scenario)
    if out.exists() and not force:
        raise InputError(f"output folder {out} already exists (use --force to replace it)")
    axes = dict(loaded.scenario.sweep.axes) if loaded.scenario.sweep else {}
    for text in axis or []:
        path, values = parse_axis(text)
        axes[path] = values
    variants = expand(loaded, axes)
    bar, callback = _progress_bar(sys.stderr.isatty())

    def tick(done: int, total: int) -> None:
        if callback is not None:
            callback(done, total)

    if bar is not None:
        with bar:
            results = run_all(variants, str(loaded.base_dir), loaded.source, workers, cache and str(cache), dask, tick)
    else:
        results = run_all(variants, str(loaded.base_dir), loaded.source, workers, cache and str(cache), dask)
    frame = sweep_frame(variants, results)
    from simulator.report.writer import dumps, write_outputs

    write_outputs(out, {"sweep.parquet": frame, "sweep.json": dumps({"axes": axes, "rows": frame.to_dict("records")})},
                  force=force)
    if fmt == OutputFormat.json:
        print_json({"axes": axes, "rows": frame.to_dict("records"), "out": str(out)})
        return
    shown = [c for c in frame.columns if c in axes or c in ("tokens_trained", "pue_mean", "total_usd",
                                                             "usd_per_mtoken", "capped_fraction")]
    rows = [(", ".join(f"{k}={row[k]}" for k in axes) or "base",
             "  ".join(f"{c}={row[c]:.4g}" for c in shown if c not in axes)) for row in frame.to_dict("records")]
    print_rows(f"sweep of {len(variants)} variant(s) -> {out}", rows, fmt)


@app.command("compare")
@handle_errors
def compare_cmd(
    baseline: Annotated[Path, typer.Argument(help="Baseline JSON (tracked metrics) or a run folder.")],
    current: Annotated[Path, typer.Argument(help="A run folder written by `dcsim run` (or a metrics JSON).")],
    tol: Annotated[list[str] | None, typer.Option("--tol", help="Tolerance override METRIC=REL, e.g. pue_mean=0.01 (repeatable).")] = None,
    update: Annotated[bool, typer.Option("--update", help="Write CURRENT's metrics into BASELINE instead of comparing.")] = False,
    fmt: FormatOpt = OutputFormat.table,
):
    """Compare a run with a baseline; exit 1 when a metric moved beyond its tolerance (CI gate)."""
    from simulator.report.compare import compare, metrics_of, write_baseline

    now = metrics_of(current)
    if update:
        write_baseline(now, baseline)
        sys.stdout.write(f"wrote {baseline}\n")
        return
    tolerances: dict[str, float] = {}
    for item in tol or []:
        name, _, value = item.partition("=")
        try:
            tolerances[name] = float(value)
        except ValueError:
            raise InputError([Problem("--tol", f"expected METRIC=REL (a number), got {item!r}")]) from None
        if not tolerances[name] >= 0:
            raise InputError([Problem("--tol", f"tolerance must be >= 0, got {item!r}")])
    rows = compare(metrics_of(baseline), now, tolerances)
    failed = [r for r in rows if not r.ok]
    if fmt == OutputFormat.json:
        print_json({"ok": not failed, "rows": [{"metric": r.metric, "baseline": r.baseline, "current": r.current,
                                                 "change": r.change, "tolerance": r.tolerance, "ok": r.ok}
                                                for r in rows]})
    else:
        table = [(r.metric, f"{r.baseline!s:>14} -> {r.current!s:<14} {100 * r.change:+.4f}% "
                            f"(tol {100 * r.tolerance:g}%) {'ok' if r.ok else 'REGRESSION'}") for r in rows]
        print_rows(f"compare {baseline} -> {current}", table, fmt)
    if failed:
        _err(f"{len(failed)} metric(s) outside tolerance: {', '.join(r.metric for r in failed)}")
        raise typer.Exit(1)


@app.command("schema")
@handle_errors
def schema_cmd(fmt: FormatOpt = OutputFormat.json):
    """Print the JSON Schema of a scenario file (or the Markdown reference with --format md)."""
    if fmt == OutputFormat.md:
        from simulator.scenario.reference import scenario_reference

        sys.stdout.write(scenario_reference() + "\n")
        return
    from simulator.scenario.schema import Scenario

    print_json(Scenario.model_json_schema())


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
