"""``dcsim run --no-report`` writes every output but report.html, and those outputs are the
same bytes as a full run's; ``dcsim warmup`` leaves every cost-model kernel it reaches compiled."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from simulator.cli import app
from tests.cli.test_cli import GOOD


def test_no_report_writes_the_same_files_less_the_report(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(GOOD)
    runner = CliRunner()
    full, bare = tmp_path / "full", tmp_path / "bare"
    for out, extra in ((full, []), (bare, ["--no-report"])):
        result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "--no-progress", *extra],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert (full / "report.html").is_file() and not (bare / "report.html").exists()
    full_files = sorted(p.name for p in full.iterdir() if p.name != "report.html")
    assert full_files == sorted(p.name for p in bare.iterdir())
    assert "summary.json" in full_files and "timeseries.parquet" in full_files
    for name in full_files:
        assert (full / name).read_bytes() == (bare / name).read_bytes(), name


def test_warmup_compiles_the_kernels_a_run_uses():
    result = CliRunner().invoke(app, ["warmup", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    # Entry kernels (called from Python) of the layout search, the step timeline and serving;
    # the rest are helpers compiled inside them.
    assert 0 < done["kernels_compiled"] <= done["kernels"]
    assert done["cache_dir"]
