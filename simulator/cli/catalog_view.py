"""``dcsim catalog`` tables: for each kind of entry the numbers a planner looks for (an
accelerator's TDP, HBM, bandwidth, dense peak FLOP/s and price; a node's accelerators and power;
a model's size; ...), written with their units (domain.units.human), and each entry's source in
full. The JSON form is every field of every entry in SI units (``model_dump``)."""

from __future__ import annotations

from collections.abc import Callable

from simulator.costmodel.transformer import param_count
from simulator.domain.catalog import Catalog
from simulator.domain.units import human

Column = tuple[str, bool, Callable[[object, Catalog], str]]   # header, numeric, cell


def _h(field: str, kind: str) -> Callable[[object, Catalog], str]:
    return lambda e, _c: human(getattr(e, field), kind)


def _flops(dtype: str) -> Callable[[object, Catalog], str]:
    return lambda e, _c: human(e.peak_flops.get(dtype), "flops")  # type: ignore[attr-defined]


def _text(field: str) -> Callable[[object, Catalog], str]:
    return lambda e, _c: "" if getattr(e, field, None) is None else str(getattr(e, field))


def _node_power(e, catalog: Catalog) -> str:
    """Accelerators at TDP plus the host: the node's nameplate power."""
    try:
        accel = catalog.accelerators.get(e.accelerator)
    except Exception:
        return "—"
    return human(e.accelerators_per_node * accel.tdp + e.host_power, "power")


def _params(e, _catalog: Catalog) -> str:
    return human(param_count(e), "count")


def _heads(e, _catalog: Catalog) -> str:
    return f"{e.heads}/{e.kv_heads or e.heads}"


def _experts(e, _catalog: Catalog) -> str:
    return "dense" if e.experts <= 1 else f"{e.top_k} of {e.experts}"


COLUMNS: dict[str, list[Column]] = {
    "accelerators": [
        ("vendor", False, _text("vendor")), ("TDP", True, _h("tdp", "power")),
        ("idle", True, _h("idle_power", "power")), ("HBM", True, _h("hbm", "bytes")),
        ("HBM bandwidth", True, _h("hbm_bw", "bandwidth")), ("bf16 dense", True, _flops("bf16")),
        ("fp8 dense", True, _flops("fp8")),
        ("scale-up", True, lambda e, _c: f"{human(e.scaleup.bw, 'bandwidth')} x {e.scaleup.domain}"),  # type: ignore[attr-defined]
        ("price", True, _h("price", "money")),
    ],
    "nodes": [
        ("accelerator", False, lambda e, _c: f"{e.accelerators_per_node} x {e.accelerator}"),  # type: ignore[attr-defined]
        ("node power at TDP", True, _node_power), ("host power", True, _h("host_power", "power")),
        ("host idle", True, _h("host_idle_power", "power")),
        ("NICs", True, lambda e, _c: f"{e.nics} x {human(e.nic_bw, 'bandwidth')}"),  # type: ignore[attr-defined]
        ("rack units", True, _text("rack_units")), ("price", True, _h("price", "money")),
    ],
    "models": [
        ("parameters", True, _params), ("layers", True, _text("layers")), ("hidden", True, _text("hidden")),
        ("heads/kv", True, _heads), ("MLP", False, _text("mlp")), ("vocab", True, _text("vocab")),
        ("experts", True, _experts),
    ],
    "switches": [
        ("technology", False, _text("technology")),
        ("ports", True, lambda e, _c: f"{e.ports} x {human(e.port_bw, 'bandwidth')}"),  # type: ignore[attr-defined]
        ("power", True, _h("power", "power")), ("latency", True, _h("latency", "time")),
        ("price", True, _h("price", "money")),
    ],
    "optics": [
        ("bandwidth", True, _h("bw", "bandwidth")), ("power", True, _h("power", "power")),
        ("price", True, _h("price", "money")),
    ],
    "climates": [
        ("mean", True, lambda e, _c: f"{e.mean:.1f} C"),  # type: ignore[attr-defined]
        ("annual swing", True, lambda e, _c: f"±{e.annual_amplitude:.1f} K"),  # type: ignore[attr-defined]
        ("daily swing", True, lambda e, _c: f"±{e.diurnal_amplitude:.1f} K"),  # type: ignore[attr-defined]
    ],
    "chillers": [
        ("condenser", False, _text("condenser")), ("COP at rating", True, _text("cop_ref")),
        ("least part load", True, _h("min_plr", "fraction")),
    ],
    "nics": [
        ("bandwidth", True, lambda e, _c: f"{e.ports} x {human(e.bw, 'bandwidth')}"),  # type: ignore[attr-defined]
        ("power", True, _h("power", "power")), ("price", True, _h("price", "money")),
    ],
    "servers": [
        ("role", False, _text("role")), ("power", True, _h("power", "power")),
        ("sizing power", True, _h("max_power", "power")), ("price", True, _h("price", "money")),
    ],
    "facility_costs": [
        ("category", False, _text("category")), ("per", False, _text("per")),
        ("price", True, lambda e, _c: f"${e.price:,.4g}"),  # type: ignore[attr-defined]
        ("plant", False, _text("plant")),
    ],
    "engines": [
        ("version", False, _text("version")), ("memory use", True, _h("gpu_memory_utilization", "fraction")),
        ("max seqs", True, _text("max_num_seqs")), ("max batched tokens", True, _text("max_num_batched_tokens")),
        ("chunked prefill", False, _text("chunked_prefill")), ("CUDA graphs", False, _text("cuda_graphs")),
    ],
    "stacks": [
        ("attention", False, _text("attention")), ("TP overlap", False, _text("tp_comm_overlap")),
        ("DP overlap", False, _text("overlap_grad_reduce")), ("GEMM efficiency", True, _text("gemm_efficiency")),
    ],
    "fleets": [
        ("failures / 1000 node-days", True, lambda e, _c: f"{sum(c.rate for c in e.classes):.3g}"),  # type: ignore[attr-defined]
        ("classes", False, lambda e, _c: ", ".join(f"{c.name} ({c.scope})" for c in e.classes)),  # type: ignore[attr-defined]
    ],
}


def catalog_table(kind: str, catalog: Catalog) -> tuple[list[str], list[list[str]], list[bool]]:
    """(columns, rows, numeric flags) of one kind: name, its key numbers, its source in full."""
    columns = COLUMNS.get(kind, [])
    headers = ["name", *(c[0] for c in columns), "source"]
    numeric = [False, *(c[1] for c in columns), False]
    rows = [[e.name, *(cell(e, catalog) for _, _, cell in columns), e.source or ""]
            for e in getattr(catalog, kind).entries]
    return headers, rows, numeric
