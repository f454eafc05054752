"""A multi-site run (api.simulate on a ``sites:`` scenario, report/sites.py): each site runs on
its own and the results add up the way a hand calculation does."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import api

KWH = 3.6e6
PRICE = {"hot": 0.10, "cold": 0.05}    # $/kWh, flat


def _site(name: str, temperature: float) -> dict:
    return {"name": name, "power_envelope": "1MW", "climate": {"type": "constant", "temperature": temperature},
            "electricity": {"price": f"${PRICE[name]}/kWh", "carbon": "300g/kWh"}}


IDLE = {
    "name": "idle-pair",
    "simulation": {"horizon": "6h", "sample_interval": "1h", "seed": 3},
    "sites": [_site("hot", 35.0), _site("cold", 5.0)],
    "cluster": {"racks": [
        {"name": "rh", "site": "hot", "node": "dgx-h100", "nodes_per_rack": 2, "count": 2},
        {"name": "rc", "site": "cold", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1},
    ]},
}

BUSY = {
    **copy.deepcopy(IDLE),
    "name": "busy-pair",
    "simulation": {"horizon": "2h", "sample_interval": "10min", "seed": 5},
    "workloads": {
        "training": [{"name": "small", "site": "cold", "model": "gpt3-125m", "tokens": "200M", "global_batch": 32,
                      "gpus": 8}],
        "inference": [{"name": "chat", "model": "llama3-8b", "replicas_by_site": {"hot": 3, "cold": 1},
                       "arrival_rate": "20/s", "prompt_tokens": 256, "output_tokens": 64}],
    },
}


@pytest.fixture(scope="module")
def idle():
    return api.simulate(api.load_scenario(copy.deepcopy(IDLE)))


@pytest.fixture(scope="module")
def busy():
    return api.simulate(api.load_scenario(copy.deepcopy(BUSY)))


def test_energy_cost_is_each_sites_energy_at_its_own_price(idle):
    s = idle.summary_dict
    hot, cold = s["sites"]["hot"], s["sites"]["cold"]
    # constant loads: each site's facility power is flat, so its energy is power x horizon
    for name in ("hot", "cold"):
        power = idle.timeseries[f"facility_power_w@{name}"].to_numpy()
        assert np.ptp(power) < 1e-6 * power.mean()
        assert s["sites"][name]["facility_energy_j"] == pytest.approx(power.mean() * 6 * 3600.0, rel=1e-9)
    by_hand = hot["facility_energy_j"] / KWH * PRICE["hot"] + cold["facility_energy_j"] / KWH * PRICE["cold"]
    assert s["energy_cost_usd"] == pytest.approx(by_hand, rel=1e-9)
    assert idle.costs_dict["opex_usd"]["energy"] == pytest.approx(by_hand, rel=1e-9)
    assert s["facility_energy_j"] == pytest.approx(hot["facility_energy_j"] + cold["facility_energy_j"], rel=1e-12)
    assert s["peak_facility_power_w"] == pytest.approx(hot["peak_facility_power_w"] + cold["peak_facility_power_w"],
                                                       rel=1e-9)
    assert s["power_envelope_w"] == 2e6 and s["gpus"] == 48


def test_pue_is_the_energy_weighted_one_not_the_mean(idle):
    s = idle.summary_dict
    hot, cold = s["sites"]["hot"], s["sites"]["cold"]
    weighted = (hot["facility_energy_j"] + cold["facility_energy_j"]) / (hot["it_energy_j"] + cold["it_energy_j"])
    mean = (hot["pue_mean"] + cold["pue_mean"]) / 2
    assert hot["pue_mean"] > cold["pue_mean"]              # 35 C against 5 C outside
    assert abs(weighted - mean) > 1e-4                     # the two differ here (twice the racks at 'hot')
    assert s["pue_mean"] == pytest.approx(weighted, rel=1e-12)
    assert idle.timeseries["pue"].to_numpy() == pytest.approx(
        idle.timeseries["facility_power_w"].to_numpy() / idle.timeseries["it_power_w"].to_numpy())


def test_costs_keep_each_sites_subtotal(idle):
    c = idle.costs_dict
    assert set(c["per_site"]) == {"hot", "cold"}
    assert c["total_usd"] == pytest.approx(sum(v["total_usd"] for v in c["per_site"].values()), rel=1e-12)
    assert {i["site"] for i in c["capex_items"]} == {"hot", "cold"}


def test_a_split_service_arrives_at_each_site_by_its_replica_share(busy):
    services = busy.services.set_index("service")
    horizon = 2 * 3600.0
    for part, share in (("chat@hot", 3 / 4), ("chat@cold", 1 / 4)):
        expected = 20.0 * share * horizon           # Poisson: mean = rate x time, sd = its square root
        arrived = services.loc[part, "requests_arrived"]
        assert abs(arrived - expected) < 4 * math.sqrt(expected), (part, arrived, expected)
        assert services.loc[part, "site"] == part.split("@")[1]
    s = busy.summary_dict
    assert s["services_total"] == 1
    assert s["requests_arrived"] == pytest.approx(services["requests_arrived"].sum())
    served = services["requests_served"]
    assert s["slo_attainment"] == pytest.approx((services["slo_attainment"] * served).sum() / served.sum())
    assert set(busy.costs_dict["per_service"]) == {"chat"}


def test_a_job_pinned_to_a_site_runs_on_that_sites_racks(busy):
    jobs = busy.jobs.set_index("job")
    assert jobs.loc["small", "site"] == "cold" and jobs.loc["small", "status"] == "finished"
    assert "small" not in set(busy.sites["hot"].jobs["job"])
    assert [r.name for r in busy.sites["cold"].scenario.scenario.cluster.racks] == ["rc"]
    assert busy.sites["hot"].timeseries["gpus_allocated"].max() == 3         # three 1-GPU replicas only
    # interval means: the job's 8 GPUs beside the one replica while it ran (it ends in the first 10 min)
    assert busy.sites["cold"].timeseries["gpus_allocated"].max() > 1


def test_one_site_in_a_list_gives_the_numbers_of_the_same_site_written_alone():
    one = copy.deepcopy(BUSY)
    one["sites"] = one["sites"][1:]
    one["cluster"]["racks"] = one["cluster"]["racks"][1:]
    one["workloads"]["inference"][0] = {**{k: v for k, v in one["workloads"]["inference"][0].items()
                                           if k != "replicas_by_site"}, "replicas": 1}
    single = {k: v for k, v in copy.deepcopy(one).items() if k != "sites"}
    single["site"] = one["sites"][0]
    a = api.simulate(api.load_scenario(one))
    b = api.simulate(api.load_scenario(single))
    sa, sb = a.summary_dict, b.summary_dict
    differ = {"sites", "cooling_plants"}            # per-site blocks (docs/sites.md)
    assert {k: v for k, v in sa.items() if k not in differ} == {k: v for k, v in sb.items() if k not in differ}
    ca, cb = a.costs_dict, b.costs_dict
    assert ca["total_usd"] == cb["total_usd"] and ca["opex_usd"] == cb["opex_usd"]
    pd.testing.assert_frame_equal(a.timeseries[list(b.timeseries.columns)], b.timeseries)
    pd.testing.assert_frame_equal(a.jobs.drop(columns="site"), b.jobs)


def test_the_report_has_a_table_per_site(busy):
    md = busy.markdown()
    assert "## Sites" in md and "| hot |" in md and "| cold |" in md
    html = busy.files()["report.html"]
    assert "<h3>Sites</h3>" in html


def test_dcsim_validate_and_run_two_sites_deterministically(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    scenario = str(Path(__file__).resolve().parents[2] / "scenarios" / "two-sites.yaml")
    runner = CliRunner()
    checked = runner.invoke(app, ["validate", scenario])
    assert checked.exit_code == 0, checked.output
    assert "ok: two-sites: 2 site(s), 2 rack group(s), 192 accelerators, 2 training job(s), 1 inference" \
        in checked.output
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        done = runner.invoke(app, ["run", scenario, "-o", str(out), "--no-report"])
        assert done.exit_code == 0, done.output
        outs.append(out)
    for name in ("summary.json", "costs.json", "scenario.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    jobs = pd.read_parquet(outs[0] / "jobs.parquet")
    assert dict(zip(jobs["job"], jobs["site"], strict=True)) == {"east-8b": "east", "north-8b": "north"}
    assert {"facility_power_w@east", "facility_power_w@north"} <= set(pd.read_parquet(outs[0] / "timeseries.parquet"))


def test_validate_reports_every_sites_planning_problems_at_their_document_paths(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    data = copy.deepcopy(IDLE)
    data["workloads"] = {"training": [
        {"name": f"big-{site}", "site": site, "model": "llama3-405b", "tokens": "1B", "global_batch": 32, "gpus": 8}
        for site in ("hot", "cold")]}
    path = tmp_path / "two.yaml"
    path.write_text(__import__("yaml").safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.output
    for k, site in enumerate(("hot", "cold")):     # 405B weights alone exceed 8 GPUs' memory
        assert f"workloads.training[{k}].model: at site '{site}': llama3-405b: no layout" in errors[k]


def test_every_summary_field_has_a_merge_rule(idle):
    from simulator.report import sites
    from simulator.report.results import Summary

    runs = [sites.SiteRun(name, 0, r.summary_record, r.costs_record, r.timeseries, r.jobs, r.services, r.progress,
                          {}) for name, r in idle.sites.items()]
    values = sites.merged_values("x", 0, runs, idle.timeseries, idle.jobs, idle.services)
    assert not set(values) & set(sites.SHARED)
    assert set(values) | set(sites.SHARED) == set(Summary.__dataclass_fields__)
