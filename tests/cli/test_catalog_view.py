"""`dcsim catalog` tables: the key numbers with units, sources in full, every source citing only
paths inside the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.cli.catalog_view import catalog_table
from simulator.domain.catalog import CATALOG_DIR, INTERNAL_KINDS, KINDS, shipped_catalog

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _row(kind: str, name: str) -> dict[str, str]:
    columns, rows, _ = catalog_table(kind, shipped_catalog())
    return dict(zip(columns, next(r for r in rows if r[0] == name), strict=True))


def test_accelerator_and_node_numbers():
    h100 = _row("accelerators", "h100-sxm")
    # NVIDIA H100 SXM5 datasheet: 700 W, 3.35 TB/s, 989 TFLOP/s dense BF16 (1979 with sparsity).
    assert h100["TDP"] == "700 W" and h100["HBM bandwidth"] == "3.35 TB/s" and h100["bf16 dense"] == "989 TFLOP/s"
    assert h100["price"].startswith("$")
    node = _row("nodes", "dgx-h100")
    # 8 x 700 W accelerators + the host's 3.4 kW = 9.0 kW at TDP.
    assert node["node power at TDP"] == "9.00 kW" and node["accelerator"] == "8 x h100-sxm"
    assert _row("models", "gpt3-175b")["parameters"] == "175B"


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in INTERNAL_KINDS])
def test_every_kind_has_a_table_with_whole_sources(kind):
    catalog = shipped_catalog()
    columns, rows, numeric = catalog_table(kind, catalog)
    assert columns[0] == "name" and columns[-1] == "source" and len(columns) > 3
    assert len(numeric) == len(columns)
    assert [r[-1] for r in rows] == [e.source or "" for e in getattr(catalog, kind).entries]


def test_markdown_and_json_formats():
    md = runner.invoke(app, ["catalog", "switches", "--format", "md"])
    assert md.exit_code == 0 and "| name | technology | ports | power |" in md.stdout
    data = json.loads(runner.invoke(app, ["catalog", "accelerators", "--format", "json"]).stdout)
    h100 = next(e for e in data["accelerators"] if e["name"] == "h100-sxm")
    assert h100["tdp"] == 700.0
    bad = runner.invoke(app, ["catalog", "gizmos"])
    assert bad.exit_code == 2 and "unknown catalog kind 'gizmos'" in bad.stderr


def test_no_catalog_source_cites_a_path_outside_the_repository():
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(CATALOG_DIR.glob("*.yaml")))
    assert "../" not in text and "/work/" not in text and "shared/reference" not in text
    for path in set(re.findall(r"\b(benchmarks/[\w./-]+\.\w+)", text)):
        assert (ROOT / path).exists(), path
