"""The shipped catalog: every entry loads and cites a source; look-ups; published numbers."""

from __future__ import annotations

import pytest
import yaml

from simulator.domain.catalog import (
    CATALOG_DIR,
    KINDS,
    Catalog,
    Table,
    load_entries,
    normalise_name,
    shipped_catalog,
)
from simulator.domain.specs import ModelSpec
from simulator.errors import CatalogError, InputError

GIB = 2.0**30


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return shipped_catalog()


def test_all_kinds_present(catalog):
    for kind in (
        "accelerators",
        "models",
        "nodes",
        "switches",
        "optics",
        "climates",
        "calibration",
    ):
        assert kind in KINDS
        assert len(getattr(catalog, kind).entries) >= 1, kind


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_entry_loads_and_has_a_source(kind):
    entries = load_entries(kind, CATALOG_DIR / f"{kind}.yaml")
    assert entries
    for entry in entries:
        assert isinstance(entry, KINDS[kind])
        assert isinstance(entry.source, str), entry.name
        assert entry.source.strip(), f"{kind}/{entry.name} has an empty source"


def test_every_yaml_file_in_the_catalog_folder_cites_sources():
    # Also catalog-like files read by other modules (one `source:` per entry, non-empty).
    files = sorted(CATALOG_DIR.glob("*.yaml"))
    assert files
    for file in files:
        with open(file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        assert isinstance(data, list), file.name
        for entry in data:
            source = entry.get("source")
            assert isinstance(source, str) and source.strip(), f"{file.name}: {entry.get('name')}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_names_and_aliases_are_unique_within_a_kind(kind):
    seen: dict[str, str] = {}
    for entry in load_entries(kind, CATALOG_DIR / f"{kind}.yaml"):
        for name in (entry.name, *entry.aliases):
            key = normalise_name(name)
            owner = seen.get(key, entry.name)
            assert owner == entry.name, f"{kind}: '{name}' of {entry.name} clashes with {owner}"
            seen[key] = entry.name


def test_cross_references_resolve(catalog):
    for node in catalog.nodes.entries:
        assert node.accelerator in catalog.accelerators, node.name
    for accel in catalog.accelerators.entries:
        assert accel.calibration in catalog.calibration, accel.name
        catalog.calibration_for(accel.calibration)  # base chain resolves
    for cal in catalog.calibration.entries:
        if cal.base is not None:
            assert cal.base in catalog.calibration, cal.name


def test_catalog_is_cached_and_immutable(catalog):
    assert shipped_catalog() is catalog
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass / pydantic model
        catalog.tables = {}
    with pytest.raises(Exception):  # noqa: B017
        catalog.models.get("gpt3-175b").layers = 1


# ----------------------------------------------------------------------------- look-ups
def test_normalise_name():
    assert normalise_name("Llama-2 7B") == "llama27b"
    assert normalise_name("H100_SXM") == "h100sxm"
    assert normalise_name("gpt3-1.3b") == "gpt31.3b"  # dots kept: 1.3b is not 13b


@pytest.mark.parametrize(
    ("kind", "query", "name"),
    [
        ("accelerators", "H100", "h100-sxm"),
        ("accelerators", "h100 sxm", "h100-sxm"),
        ("accelerators", "NVIDIA_H100", "h100-sxm"),
        ("accelerators", "A100", "a100-sxm-80gb"),
        ("models", "Llama-2 7B", "llama2-7b"),
        ("models", "LLAMA2-70B", "llama2-70b"),
        ("models", "GPT-3", "gpt3-175b"),
        ("models", "gpt3 1.3b", "gpt3-1.3b"),
        ("models", "gpt3-13b", "gpt3-13b"),
        ("nodes", "DGX H100", "dgx-h100"),
        ("switches", "QM9700", "quantum2-qm9700"),
        ("climates", "Phoenix", "hot-dry"),
    ],
)
def test_lookup_is_case_punctuation_insensitive_and_by_alias(catalog, kind, query, name):
    assert getattr(catalog, kind).get(query).name == name
    assert query in getattr(catalog, kind)


@pytest.mark.parametrize(
    ("kind", "query", "suggestion", "singular"),
    [
        ("models", "lama2-7b", "llama2-7b", "model"),
        ("accelerators", "h100-sxn", "h100-sxm", "accelerator"),
        ("nodes", "dgx-h10", "dgx-h100", "node"),
        ("climates", "temprate", "temperate", "climate"),
        ("switches", "qm970", "quantum2-qm9700", "switch"),
        ("optics", "osfp-400", "osfp-400g", "optic"),
    ],
)
def test_unknown_names_suggest_the_closest(catalog, kind, query, suggestion, singular):
    with pytest.raises(CatalogError) as info:
        getattr(catalog, kind).get(query, path="x.y")
    (problem,) = info.value.problems
    assert problem.path == "x.y"
    assert f"unknown {singular} '{query}'" in problem.message
    assert f"did you mean '{suggestion}'?" in problem.message
    assert "known:" in problem.message
    assert isinstance(info.value, InputError)


def test_unknown_name_with_nothing_close_lists_known(catalog):
    with pytest.raises(CatalogError) as info:
        catalog.accelerators.get("zzzzzzzzzzzz")
    message = info.value.problems[0].message
    assert "did you mean" not in message
    assert "h100-sxm" in message and "tpu-v5p" in message


def test_with_entries_adds_and_replaces_without_touching_the_original(catalog):
    custom = ModelSpec(name="gpt3-175b", layers=2, hidden=64, heads=4, vocab=100)
    new = ModelSpec(name="tiny", layers=1, hidden=32, heads=2, vocab=10, aliases=("wee",))
    changed = catalog.with_entries({"models": [custom, new]})
    assert changed.models.get("gpt3-175b").layers == 2
    assert changed.models.get("wee").name == "tiny"
    assert catalog.models.get("gpt3-175b").layers == 96
    assert "tiny" not in catalog.models
    assert len(changed.models.entries) == len(catalog.models.entries) + 1


def test_table_build_indexes_aliases():
    spec = ModelSpec(name="Foo-1", layers=1, hidden=8, heads=2, vocab=4, aliases=("bar baz",))
    table = Table.build("models", [spec])
    assert table.get("foo1") is spec
    assert table.get("BAR-BAZ") is spec


# ----------------------------------------------------------------------------- calibration
def test_calibration_base_chain_inherits_and_overrides(catalog):
    hopper = catalog.calibration_for("hopper-measured")
    ampere = catalog.calibration_for("ampere-scaled")
    raw_ampere = catalog.calibration.get("ampere-scaled")
    assert raw_ampere.base == "hopper-measured"
    assert raw_ampere.gemm is None  # not written in the file ...
    assert ampere["gemm"] == hopper["gemm"]  # ... so inherited
    assert ampere["memory_bw_fraction"] == hopper["memory_bw_fraction"]
    assert ampere["host_op_dispatch"] == hopper["host_op_dispatch"]
    assert ampere["power"] == raw_ampere.power != hopper["power"]  # overridden
    assert ampere["attention"] == raw_ampere.attention  # overridden
    assert ampere["attention"] != hopper["attention"]
    assert ampere["name"] == "ampere-scaled"
    assert ampere["source"] == raw_ampere.source


def test_calibration_partial_override_of_gemm(catalog):
    cdna = catalog.calibration_for("cdna3-published")
    hopper = catalog.calibration_for("hopper-measured")
    raw = catalog.calibration.get("cdna3-published")
    assert cdna["gemm"] == raw.gemm
    assert cdna["gemm"]["bf16"].peak_fraction < hopper["gemm"]["bf16"].peak_fraction
    assert cdna["host_gemm_dispatch"] == hopper["host_gemm_dispatch"]


def test_every_resolved_calibration_is_complete(catalog):
    for cal in catalog.calibration.entries:
        merged = catalog.calibration_for(cal.name)
        for key in ("gemm", "memory_bw_fraction", "attention", "power", "kernel_overhead"):
            assert merged.get(key) is not None, (cal.name, key)


def test_cyclic_calibration_chain_is_an_error(catalog):
    from simulator.domain.calibration_spec import CalibrationSpec

    a = CalibrationSpec(name="loop-a", source="test", base="loop-b")
    b = CalibrationSpec(name="loop-b", source="test", base="loop-a")
    tables = dict(catalog.tables)
    tables["calibration"] = Table.build("calibration", [*catalog.calibration.entries, a, b])
    with pytest.raises(CatalogError, match="cyclic"):
        Catalog(tables).calibration_for("loop-a")


# ----------------------------------------------------------------------------- datasheets
def test_h100_sxm_datasheet(catalog):
    h100 = catalog.accelerators.get("h100-sxm")
    assert h100.peak_flops["bf16"] == pytest.approx(989.4e12, rel=1e-9)
    assert h100.peak_flops["fp8"] == pytest.approx(1978.9e12, rel=1e-9)
    assert h100.hbm_bw == pytest.approx(3.35e12, rel=1e-9)
    assert h100.tdp == 700.0
    assert h100.compute_units == 132
    assert 79 * GIB < h100.hbm <= 80 * GIB  # 80 GiB of HBM3, ~79.2 GiB usable
    assert h100.scaleup.bw == pytest.approx(450e9)  # NVLink 4: 900 GB/s bidirectional


def test_a100_datasheet(catalog):
    a100 = catalog.accelerators.get("a100")
    assert a100.peak_flops["bf16"] == pytest.approx(312e12, rel=1e-9)
    assert a100.peak_flops["tf32"] == pytest.approx(156e12, rel=1e-9)
    assert a100.hbm_bw == pytest.approx(2.039e12, rel=1e-9)
    assert a100.hbm == pytest.approx(80e9)
    assert a100.tdp == 400.0
    assert a100.compute_units == 108


def test_other_accelerators_datasheet(catalog):
    assert catalog.accelerators.get("h200").hbm == pytest.approx(141e9)
    assert catalog.accelerators.get("h200").hbm_bw == pytest.approx(4.8e12)
    assert catalog.accelerators.get("mi300x").peak_flops["bf16"] == pytest.approx(1307.4e12)
    assert catalog.accelerators.get("mi300x").hbm == pytest.approx(192e9)
    assert catalog.accelerators.get("b200").peak_flops["bf16"] == pytest.approx(2.25e15)
    assert catalog.accelerators.get("tpu-v5p").peak_flops["bf16"] == pytest.approx(459e12)


def test_idle_power_below_tdp_everywhere(catalog):
    for accel in catalog.accelerators.entries:
        assert 0 < accel.idle_power < accel.tdp
        assert "bf16" in accel.peak_flops


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        # (layers, hidden, heads, kv_heads, ffn_hidden, vocab) from the papers / config.json
        ("gpt3-175b", (96, 12288, 96, 96, 4 * 12288, 50257)),
        ("gpt3-125m", (12, 768, 12, 12, 3072, 50257)),
        ("llama2-7b", (32, 4096, 32, 32, 11008, 32000)),
        ("llama2-70b", (80, 8192, 64, 8, 28672, 32000)),
        ("llama3-8b", (32, 4096, 32, 8, 14336, 128256)),
        ("llama3-70b", (80, 8192, 64, 8, 28672, 128256)),
        ("llama3-405b", (126, 16384, 128, 8, 53248, 128256)),
        ("mixtral-8x7b", (32, 4096, 32, 8, 14336, 32000)),
    ],
)
def test_published_model_shapes(catalog, name, shape):
    m = catalog.models.get(name)
    assert (m.layers, m.hidden, m.heads, m.n_kv_heads, m.d_ffn, m.vocab) == shape


def test_model_details(catalog):
    assert catalog.models.get("llama2-70b").d_head == 128
    assert catalog.models.get("llama3-405b").d_head == 128
    assert catalog.models.get("gpt3-1.3b").d_head == 128  # 24 heads x 128 != 2048
    mixtral = catalog.models.get("mixtral-8x7b")
    assert (mixtral.experts, mixtral.top_k, mixtral.mlp) == (8, 2, "swiglu")
    assert catalog.models.get("bert-large").causal is False


def test_parameter_counts_match_published_sizes(catalog):
    from simulator.costmodel.transformer import param_count

    # Hand count for Llama-3 405B (no biases, RMSNorm, untied head):
    h, a, g, d, f, L, V = 16384, 128, 8, 128, 53248, 126, 128256
    per_layer = h * (a + 2 * g) * d + a * d * h + 3 * h * f + 2 * h
    expected = L * per_layer + 2 * V * h + h
    assert expected == 405_853_388_800
    assert param_count(catalog.models.get("llama3-405b")) == expected
    # Published totals, to 1%: GPT-3 175B, Llama-2 7B (6.74B), Llama-2 70B (68.98B).
    assert param_count(catalog.models.get("gpt3-175b")) == pytest.approx(175e9, rel=0.01)
    assert param_count(catalog.models.get("llama2-7b")) == pytest.approx(6.74e9, rel=0.01)
    assert param_count(catalog.models.get("llama2-70b")) == pytest.approx(68.98e9, rel=0.01)
    assert param_count(catalog.models.get("mixtral-8x7b")) == pytest.approx(46.7e9, rel=0.01)


def test_node_power_consistent_with_dgx_h100_max(catalog):
    node = catalog.nodes.get("dgx-h100")
    accel = catalog.accelerators.get(node.accelerator)
    assert node.accelerators_per_node == 8
    assert node.nic_bw == pytest.approx(50e9)  # 400 Gb/s
    # DGX H100 max system power is 10.2 kW.
    assert node.host_power + 8 * accel.tdp <= 10.2e3


def test_malformed_catalog_file_reports_every_problem(tmp_path):
    f = tmp_path / "models.yaml"
    f.write_text(
        "- name: ok\n  layers: 1\n  hidden: 8\n  heads: 2\n  vocab: 4\n  source: t\n"
        "- name: bad\n  layers: 1\n  hidden: 9\n  heads: 2\n  vocab: 4\n  source: t\n"
        "- name: worse\n  layerz: 1\n  hidden: 8\n  heads: 2\n  vocab: 4\n  source: t\n"
    )
    with pytest.raises(CatalogError) as info:
        load_entries("models", f)
    paths = [p.path for p in info.value.problems]
    assert "[1]" in paths
    assert "[2].layerz" in paths
    assert "[2].layers" in paths
    assert info.value.source == str(f)
