"""``dcsim estimate serve``: a serving replica as its engine schedules it -- maximum sustained
throughput, closed-loop curves (``--concurrency``), replica sizing for a rate (``--rate``),
speculative decoding, prefix caching and disaggregated prefill/decode; each bad flag named."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.apps import estimate_app
from simulator.cli.errors import _quantity_flag, handle_errors
from simulator.cli.estimate import _estimate_inputs
from simulator.cli.options import AccelOpt, ActOpt, EngineOpt, FormatOpt, KvOpt, ModelOpt, WeightsOpt
from simulator.cli.output import OutputFormat, _h, print_json, print_rows
from simulator.errors import InputError, Problem


def _concurrency(text: str) -> list[int]:
    """'1,5,25' as client counts, each 1 to 100,000."""
    values = []
    for part in text.replace(" ", "").split(","):
        try:
            n = int(part)
        except ValueError:
            raise InputError([Problem("--concurrency", "a comma-separated list of client counts, e.g. 1,5,25",
                                      text)]) from None
        if not 1 <= n <= 100_000:
            raise InputError([Problem("--concurrency", "client counts are 1 to 100,000", n)])
        values.append(n)
    return values


@estimate_app.command("serve")
@handle_errors
def estimate_serve_cmd(
    model: ModelOpt,
    accelerator: AccelOpt,
    gpus_per_replica: Annotated[int, typer.Option("--gpus-per-replica", "--tp", "-t", min=1, max=4096, help="Accelerators per replica (tensor parallel).")] = 1,
    prompt: Annotated[int, typer.Option("--prompt", "-p", min=1, max=10_000_000, help="Prompt length (tokens; the mean with --prompt-sigma).")] = 1024,
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=1, max=10_000_000, help="Generated tokens per request (the mean with --output-sigma).")] = 256,
    prompt_sigma: Annotated[float, typer.Option(min=0, max=5, help="Lognormal spread (log-space sigma) of prompt lengths; 0: fixed.")] = 0.0,
    output_sigma: Annotated[float, typer.Option(min=0, max=5, help="Lognormal spread of output lengths; 0: fixed.")] = 0.0,
    lengths: Annotated[Path | None, typer.Option(help="CSV of (prompt, output) token counts the requests cycle through.")] = None,
    max_batch: Annotated[int | None, typer.Option("--max-batch", "--max-num-seqs", "-b", min=1, max=1_000_000, help="Most sequences in flight per replica (default: the engine's; as many as the KV cache admits up to it).")] = None,
    max_num_batched_tokens: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="Token budget per iteration (default: the engine's).")] = None,
    gpu_memory_utilization: Annotated[float | None, typer.Option(help="Share of device memory the engine uses (default: the engine's, 0.90).")] = None,
    chunked_prefill: Annotated[bool | None, typer.Option("--chunked-prefill/--no-chunked-prefill", help="Split prompts to fill the token budget (default: the engine's).")] = None,
    concurrency: Annotated[str | None, typer.Option(help="Closed-loop clients, e.g. 1,5,25,50,100: latency and throughput at each.")] = None,
    rate: Annotated[str | None, typer.Option(help="Requests to serve, e.g. '50/s': also size the replicas for the SLO.")] = None,
    ttft: Annotated[str, typer.Option(help="Time-to-first-token target, e.g. '2s'.")] = "2s",
    tpot: Annotated[str, typer.Option(help="Time-per-output-token target, e.g. '60ms'.")] = "100ms",
    slo_share: Annotated[float, typer.Option(min=0.5, max=0.99999, help="Share of requests that must meet the TTFT target.")] = 0.99,
    gpu_hour_cost: Annotated[str | None, typer.Option(help="Price per GPU-hour (e.g. '$2.5'): also report $ per million generated tokens.")] = None,
    precision: WeightsOpt = "bf16",
    kv_precision: KvOpt = None,
    activations: ActOpt = None,
    engine: EngineOpt = None,
    prefix_cache_hit: Annotated[float, typer.Option(help="Share of prompt tokens found in the prefix cache (0-1).")] = 0.0,
    draft_model: Annotated[str | None, typer.Option(help="Speculative decoding: draft model (catalog name or spec file).")] = None,
    mtp_layers: Annotated[int | None, typer.Option(min=1, max=64, help="Speculative decoding with MTP/EAGLE heads of this many target layers.")] = None,
    draft_tokens: Annotated[int | None, typer.Option(help="Draft tokens proposed per step (default 3).")] = None,
    acceptance: Annotated[float | None, typer.Option(help="Per-token acceptance rate of the draft (0-1, default 0.7).")] = None,
    prefill_gpus: Annotated[int | None, typer.Option(min=1, max=4096, help="Disaggregated: accelerators per prefill replica.")] = None,
    prefill_replicas: Annotated[int | None, typer.Option(min=1, max=100_000, help="Disaggregated: prefill replicas.")] = None,
    prefill_accelerator: Annotated[str | None, typer.Option(help="Disaggregated: the prefill pool's accelerator.")] = None,
    decode_gpus: Annotated[int | None, typer.Option(min=1, max=4096, help="Disaggregated: accelerators per decode replica.")] = None,
    decode_replicas: Annotated[int | None, typer.Option(min=1, max=100_000, help="Disaggregated: decode replicas.")] = None,
    decode_accelerator: Annotated[str | None, typer.Option(help="Disaggregated: the decode pool's accelerator.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="With several --concurrency values: write the latency-throughput plot (PNG) and table (CSV) here.")] = None,
    fmt: FormatOpt = OutputFormat.table,
):
    """A serving replica as its engine schedules it: maximum sustained throughput at the batch
    its KV cache admits, closed-loop latency curves, and the replicas a request rate needs."""
    from simulator.estimates import estimate_serve

    spec, device = _estimate_inputs(model, accelerator)
    rate_per_s = _quantity_flag("--rate", rate, "rate") if rate is not None else None
    price = _quantity_flag("--gpu-hour-cost", gpu_hour_cost, "money") if gpu_hour_cost is not None else None
    clients = _concurrency(concurrency) if concurrency is not None else None
    pools = {"prefill_gpus": prefill_gpus, "prefill_replicas": prefill_replicas,
             "prefill_accelerator": prefill_accelerator, "decode_gpus": decode_gpus,
             "decode_replicas": decode_replicas, "decode_accelerator": decode_accelerator}
    disaggregation = pools if any(v is not None for v in pools.values()) else None
    r = estimate_serve(
        spec, device, gpus_per_replica, prompt, output_tokens, max_batch, rate_per_s,
        _quantity_flag("--ttft", ttft, "time"), _quantity_flag("--tpot", tpot, "time"), slo_share, precision,
        price, base_dir=Path.cwd(), concurrency=clients, disaggregation=disaggregation,
        kv_precision=kv_precision, activations=activations, engine=engine,
        gpu_memory_utilization=gpu_memory_utilization, max_num_batched_tokens=max_num_batched_tokens,
        chunked_prefill=chunked_prefill, prompt_sigma=prompt_sigma, output_sigma=output_sigma,
        lengths=lengths, prefix_cache_hit=prefix_cache_hit, draft_model=draft_model, draft_tokens=draft_tokens,
        acceptance=acceptance, mtp_layers=mtp_layers).to_dict()
    if out is not None and clients:
        _write_curve(r, out)
    if fmt == OutputFormat.json:
        print_json(r)
        return
    _print_serve(r, fmt)


def _print_serve(r: dict, fmt) -> None:
    rows = [
        ("engine", f"{r['engine']} {r['engine_version']}"),
        ("precision", f"weights {r['precision']}, activations {r['activations']}, KV cache {r['kv_precision']}"),
        ("KV cache per GPU", f"{_h(r['kv_cache_bytes_per_gpu'], 'bytes')} ({r['kv_cache_tokens']:,} tokens)"),
        ("memory per GPU", f"{_h(r['memory_per_gpu_bytes'], 'bytes')} of {_h(r['hbm_per_gpu_bytes'], 'bytes')}: "
                           f"weights {_h(r['weights_bytes_per_gpu'], 'bytes')}, activations "
                           f"{_h(r['activation_bytes_per_gpu'], 'bytes')}, runtime reserve "
                           f"{_h(r['runtime_reserve_bytes_per_gpu'], 'bytes')}"),
        ("time to first token, alone", _h(r["prefill_s"], "time")),
        ("batch at maximum throughput", f"{r['batch']:.1f} sequences"),
        ("time per token at maximum throughput", _h(r["tpot_full_batch_s"], "time")),
        ("maximum throughput per replica", f"{r['output_tokens_per_s_per_replica']:,.0f} output tokens/s, "
                                           f"{r['capacity_per_replica_per_s']:,.2f} requests/s"),
    ]
    if r.get("preemptions_per_request"):
        rows.append(("preemptions per request", f"{r['preemptions_per_request']:.3f}"))
    if "tokens_per_step" in r:
        rows.append(("speculative decoding", f"{r['draft_model']}, {r['draft_tokens']} draft tokens, "
                                             f"{r['tokens_per_step']:.2f} tokens per step"))
    if r.get("prefix_cache_hit"):
        rows.append(("prefix cache hit", f"{100 * r['prefix_cache_hit']:.0f}% of prompt tokens"))
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
    if "disaggregated" in r:
        d = r["disaggregated"]
        rows += [
            ("disaggregated: prefill pool", f"{d['prefill_replicas']} x {d['prefill_gpus_per_replica']} "
                                            f"{d['prefill_accelerator']}, {d['prefill_capacity_per_s']:,.2f} requests/s"),
            ("disaggregated: decode pool", f"{d['decode_replicas']} x {d['decode_gpus_per_replica']} "
                                           f"{d['decode_accelerator']}, {d['decode_capacity_per_s']:,.2f} requests/s"),
            ("disaggregated: output tokens/s", f"{d['output_tokens_per_s']:,.0f} ({d['output_tokens_per_s_per_gpu']:,.0f} "
                                               f"per GPU), {d['bottleneck']}-bound"),
            ("disaggregated: first token", f"{_h(d['ttft_s'], 'time')} (KV hand-off {_h(d['kv_transfer_s'], 'time')})"),
        ]
    title = f"serve: {r['model']} on {r['gpus_per_replica']} x {r['accelerator']} per replica"
    print_rows(title, rows, fmt)
    if "curve" in r:
        curve = [(f"{p['concurrency']:g} clients",
                  f"TTFT {_h(p['ttft_mean_s'], 'time')} (p99 {_h(p['ttft_p99_s'], 'time')}), "
                  f"TPOT {_h(p['tpot_mean_s'], 'time')}, {p['output_tokens_per_s_per_replica']:,.0f} tokens/s, "
                  f"{p['requests_per_s_per_replica']:,.2f} requests/s") for p in r["curve"]]
        print_rows("closed loop (each client sends its next request when the last completes)", curve, fmt)


def _write_curve(r: dict, out: Path) -> None:
    """The latency-throughput curve as curve.csv and curve.png under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(r["curve"])
    frame.to_csv(out / "curve.csv", index=False)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(frame["output_tokens_per_s_per_replica"], frame["tpot_mean_s"] * 1e3, "o-")
    axes[0].set_xlabel("output tokens/s per replica")
    axes[0].set_ylabel("mean time per output token (ms)")
    axes[1].plot(frame["output_tokens_per_s_per_replica"], frame["ttft_mean_s"], "o-", label="mean")
    axes[1].plot(frame["output_tokens_per_s_per_replica"], frame["ttft_p99_s"], "s--", label="p99")
    axes[1].set_xlabel("output tokens/s per replica")
    axes[1].set_ylabel("time to first token (s)")
    axes[1].legend()
    for ax, (_, row) in zip([axes[0]] * len(frame), frame.iterrows(), strict=False):
        ax.annotate(f"{row['concurrency']:g}", (row["output_tokens_per_s_per_replica"], row["tpot_mean_s"] * 1e3))
    fig.suptitle(f"{r['model']} on {r['gpus_per_replica']} x {r['accelerator']} ({r['engine']}): closed loop")
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=120)
    plt.close(fig)
