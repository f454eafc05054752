"""docs/outputs.md cannot drift from the outputs: a small run with training, a service and node
failures writes every file, and every key of summary.json and costs.json and every column of each
Parquet file must be documented in that file's section, and every documented one must exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from simulator import api

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")


def documented(name: str) -> set[str]:
    """Backticked names in the first cell of the table rows of the ``## <name>`` section (its
    subsections excluded)."""
    match = re.search(rf"^## {re.escape(name)}\b(.*?)(?=^## |\Z)", DOC, flags=re.M | re.S)
    assert match, f"docs/outputs.md has no section '## {name}'"
    body = re.split(r"^### ", match[1], flags=re.M)[0]
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([^`]+)`", first))
    return names


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    scenario = api.load_scenario(ROOT / "scenarios" / "benchmarks" / "serving-h200-2d.yaml")
    folder = tmp_path_factory.mktemp("outputs") / "run"
    api.simulate(scenario.with_changes({"simulation.horizon": "6h"})).write(folder)
    return folder


@pytest.mark.parametrize("name", ["summary.json", "costs.json"])
def test_every_json_key_is_documented_and_exists(out, name):
    keys = set(json.loads((out / name).read_text()))
    docs = documented(name)
    assert keys - docs == set(), f"{name}: keys missing from docs/outputs.md"
    assert docs - keys == set(), f"{name}: documented keys the file does not have"


@pytest.mark.parametrize("name", ["timeseries.parquet", "jobs.parquet", "services.parquet", "progress.parquet"])
def test_every_parquet_column_is_documented_and_exists(out, name):
    columns = set(pd.read_parquet(out / name).columns)
    docs = documented(name)
    assert columns - docs == set(), f"{name}: columns missing from docs/outputs.md"
    assert docs - columns == set(), f"{name}: documented columns the file does not have"


def test_every_warning_kind_is_documented():
    source = (ROOT / "simulator" / "report" / "warnings.py").read_text()
    kinds = set(re.findall(r'RunWarning\("([a-z-]+)"', source))
    assert kinds and kinds <= documented("Warnings")
