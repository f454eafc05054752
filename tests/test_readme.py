"""The README's scenario example is a valid scenario (docs do not drift from the schema)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from simulator import api

ROOT = Path(__file__).resolve().parent.parent


def test_readme_scenario_example_validates():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"A scenario in brief.*?```yaml\n(.*?)```", text, re.S).group(1)
    loaded = api.load_scenario(yaml.safe_load(block), base_dir=ROOT)
    assert loaded.scenario.workloads.training[0].gpus == 384
    assert loaded.scenario.workloads.inference[0].gpus == 32
    assert loaded.scenario.failures is not None
