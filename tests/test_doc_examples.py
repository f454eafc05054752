"""Every shell example in README.md and docs/*.md that starts with ``dcsim`` (or
``.venv/bin/dcsim``) runs as written and exits as the text says.

Examples are taken from fenced ``bash``/``sh``/``console`` blocks, continuation lines (``\\``)
joined, in the order they appear (a later example may read what an earlier one wrote). A trailing
comment steers the test: ``# long-running`` or ``# not run ...`` skips the line (a month-long
multi-worker sweep, an ``--update`` that would rewrite a shipped baseline); ``# exits N`` expects
exit code N instead of 0. Each file's examples run in the same process (CliRunner: no interpreter
start, warm caches) from a scratch folder that links the repository's ``scenarios/``,
``examples/`` and ``benchmarks/``, so outputs (``-o out/...``) land there and never in the
checkout.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(bash|sh|console|shell)\s*$(.*?)^```", re.M | re.S)
SKIP = re.compile(r"#\s*(long-running|not run)")
EXITS = re.compile(r"#\s*exits (\d+)")


def examples(path: Path) -> list[tuple[str, list[str], int | None]]:
    """(line as written, argv after 'dcsim', expected exit code or None to skip)."""
    found = []
    for match in FENCE.finditer(path.read_text(encoding="utf-8")):
        lines = match[2].splitlines()
        joined: list[str] = []
        for line in lines:
            if joined and joined[-1].endswith("\\"):
                # a continuation: drop the backslash, keep a comment only from the last line
                joined[-1] = joined[-1][:-1] + " " + line.strip()
            else:
                joined.append(line.strip())
        for line in joined:
            if not line.startswith(("dcsim ", ".venv/bin/dcsim ")):
                continue
            code = None if SKIP.search(line) else int(m[1]) if (m := EXITS.search(line)) else 0
            argv = shlex.split(line, comments=True)[1:]
            found.append((line, argv, code))
    return found


CASES = [(path, found) for path in DOCS if (found := examples(path))]


def test_the_docs_have_examples():
    names = {path.name for path, _ in CASES}
    assert {"README.md", "sweeps.md", "ci.md", "fabric.md"} <= names


@pytest.mark.parametrize("path,found", CASES, ids=[p.name for p, _ in CASES])
def test_every_example_runs_as_written(path, found, tmp_path, monkeypatch):
    for name in ("scenarios", "examples", "benchmarks"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for line, argv, code in found:
        if code is None:
            continue
        result = runner.invoke(app, argv)
        assert result.exit_code == code, f"{path.name}: {line}\n{result.output[-3000:]}"


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_every_yaml_example_parses(path):
    import yaml

    for match in re.finditer(r"^```yaml\s*$(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S):
        try:
            yaml.safe_load(match[1])
        except yaml.YAMLError as err:
            pytest.fail(f"{path.name}: a YAML example does not parse: {err}\n{match[1]}")
