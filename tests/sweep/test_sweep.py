"""Sweeps: axes expand to validated variants; local, pooled, cached and Dask runs agree."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.errors import InputError
from simulator.sweep import local
from simulator.sweep.axes import MAX_PROBLEMS, check_axes
from simulator.sweep.grid import expand, parse_axis
from simulator.sweep.local import run_all

runner = CliRunner()

TINY = """
name: tiny
simulation: {horizon: 6h, sample_interval: 30min, seed: 1}
site: {power_envelope: 1MW, climate: temperate}
cluster:
  racks: [{name: r, node: dgx-h100, nodes_per_rack: 2, count: 1}]
workloads:
  training:
    - {name: j, model: gpt3-350m, tokens: 200B, global_batch: 64, micro_batch: 4, seq: 2048, gpus: 16,
       layout: {tp: 1, pp: 1}}
sweep:
  axes:
    site.power_envelope: [26kW, 1MW]
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return api.load_scenario(path)


def test_parse_axis_keeps_numbers():
    assert parse_axis("cluster.racks[0].count=1,2") == ("cluster.racks[0].count", [1, 2])
    assert parse_axis("site.power_envelope=1MW,1.5MW") == ("site.power_envelope", ["1MW", "1.5MW"])
    assert parse_axis("a.b=true,False,0.5") == ("a.b", [True, False, 0.5])
    for bad in ("no-equals-sign", "a.b=", "=1,2", "a.b=1,,2"):
        with pytest.raises(InputError):
            parse_axis(bad)


def test_cartesian_product_of_axes(scenario):
    variants = expand(scenario, {"site.power_envelope": ["16kW", "1MW"], "simulation.seed": [1, 2, 3]})
    assert len(variants) == 6
    assert variants[5].values == {"site.power_envelope": "1MW", "simulation.seed": 3}
    assert variants[5].raw["simulation"]["seed"] == 3 and "sweep" not in variants[5].raw


def test_bad_axis_values_are_reported_before_anything_runs(scenario):
    with pytest.raises(InputError) as err:
        expand(scenario, {"cluster.racks[0].count": [1, 0], "site.power_envelope": ["1MW", "2XW"],
                          "cluster.racks[0].node": ["dgx-h100", "no-such-node"], "cluster.rack[0].count": [1],
                          "cluster.racks[3].count": [1], "site.climate": ["temperate", "mars"]})
    lines = err.value.lines()
    text = "\n".join(lines)
    assert len(lines) == 6, text
    assert "sweep.axes.cluster.racks[0].count[1]: 0:" in text
    assert "sweep.axes.site.power_envelope[1]: '2XW': unknown unit 'XW'" in text
    assert "sweep.axes.cluster.racks[0].node[1]: 'no-such-node': unknown node" in text
    assert "sweep.axes.cluster.rack[0].count: no such key" in text
    assert "sweep.axes.cluster.racks[3].count: index [3] is out of range" in text
    assert "sweep.axes.site.climate[1]: 'mars': unknown climate" in text


def test_many_bad_values_are_listed_up_to_a_limit(scenario):
    values = [f"{i}XW" for i in range(20_000)]
    problems = check_axes(scenario, {"site.power_envelope": values})
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].path == "sweep.axes" and "stopped" in problems[-1].message
    # Good values are checked one by one against the field's own type: none reported.
    assert check_axes(scenario, {"site.power_envelope": [f"{i}kW" for i in range(1, 5001)]}) == []


def test_seeds_replicate_every_variant(scenario):
    variants = expand(scenario, {"site.power_envelope": ["16kW", "1MW"]}, seeds=3)
    assert [(v.index, v.replicate, v.raw["simulation"]["seed"]) for v in variants] == [
        (0, 0, 1), (0, 1, 2), (0, 2, 3), (1, 0, 1), (1, 1, 2), (1, 2, 3)]
    with pytest.raises(InputError, match="--seeds"):
        expand(scenario, {"simulation.seed": [1, 2]}, seeds=2)


def test_pool_and_cache_give_the_same_results_as_in_process(scenario, tmp_path, monkeypatch):
    variants = expand(scenario, dict(scenario.scenario.sweep.axes))
    base = str(scenario.base_dir)
    serial = run_all(variants, base)
    pooled = run_all(variants, base, workers=2)
    assert pooled == serial
    # The tighter envelope caps the GPUs: fewer tokens in the same six hours.
    assert serial[0]["summary"]["tokens_trained"] < serial[1]["summary"]["tokens_trained"]
    cached = run_all(variants, base, cache_dir=str(tmp_path / "cache"))

    def boom(*_args, **_kwargs):
        raise AssertionError("a cached variant was simulated again")

    monkeypatch.setattr(local, "run_variant", boom)
    again = run_all(variants, base, cache_dir=str(tmp_path / "cache"))
    assert again == cached


def test_dask_local_cluster_matches(scenario):
    pytest.importorskip("dask.distributed")
    variants = expand(scenario, dict(scenario.scenario.sweep.axes))
    base = str(scenario.base_dir)
    assert run_all(variants, base, dask_address="local", workers=2) == run_all(variants, base)


def test_sweep_command_writes_a_table(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(path), "-o", str(out), "--axis", "simulation.seed=1,2"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_parquet(out / "sweep.parquet")
    assert len(frame) == 4
    assert list(frame["site.power_envelope"]) == ["26kW", "26kW", "1MW", "1MW"]


def test_a_resumed_sweep_recomputes_nothing_done_failures_included(scenario, tmp_path, monkeypatch):
    # 32 GPUs on a 16-GPU cluster cannot run: a failed variant, recorded and cached like a result.
    variants = expand(scenario, {"workloads.training[0].gpus": [16, 32]})
    base = str(scenario.base_dir)
    first = run_all(variants, base, cache_dir=str(tmp_path / "cache"))
    assert "summary" in first[0] and "32 GPUs requested" in first[1]["error"]
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2

    def boom(*_args, **_kwargs):
        raise AssertionError("a variant was simulated again")

    monkeypatch.setattr(local, "run_variant", boom)
    assert run_all(variants, base, cache_dir=str(tmp_path / "cache")) == first
