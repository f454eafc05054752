"""Warnings (report/warnings.py): a run that is quietly broken says so in summary.json, the
terminal table, the Markdown summary and report.html; a healthy run has none."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from simulator import api
from simulator.cli import app
from simulator.engine.world import World

DAY = 86400.0


def api_human(seconds: float) -> str:
    from simulator.domain.units import human

    return human(seconds, "time")


def scenario(**sections) -> dict:
    """One DGX H100 (8 GPUs) at 10 C; workloads and power sections given by the test."""
    sc = {
        "name": "warn",
        "simulation": {"horizon": "1d", "sample_interval": "15min", "seed": 3},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "10C"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}]},
        "workloads": {"training": [], "inference": []},
    }
    sc.update(sections)
    return sc


def service(rate: float, replicas: int = 2, **extra) -> dict:
    return {"name": "chat", "model": "llama3-8b", "replicas": replicas, "arrival_rate": f"{rate}/s",
            "prompt_tokens": 512, "output_tokens": 128, "max_batch": 32, **extra}


def kinds(result) -> dict[str, str]:
    return {w["kind"]: w["message"] for w in result.summary_dict["warnings"]}


def capacity(sc: dict) -> float:
    """All replicas' capacity at full power, from the serving plan's load curve."""
    svc = World(api.load_scenario(sc)).services[0]
    return svc.units * svc.plan.at_cap(float("inf")).capacity_per_s


def test_a_healthy_run_has_no_warnings():
    r = api.simulate(scenario(workloads={"inference": [service(5.0)]}))
    assert r.summary_dict["warnings"] == []
    assert "Warnings" not in r.markdown()


def test_headroom_below_ten_percent_and_saturation():
    base = scenario(workloads={"inference": [service(1.0)]})
    cap = capacity(base)
    near = scenario(workloads={"inference": [service(0.95 * cap)]})
    found = kinds(api.simulate(near))
    assert "service-headroom" in found and "95.0% of capacity" in found["service-headroom"]
    assert "service-saturated" not in found
    comfortable = kinds(api.simulate(scenario(workloads={"inference": [service(0.85 * cap)]})))
    assert "service-headroom" not in comfortable
    # The busiest hour counts: the diurnal profile's busiest hour is 1 + 0.5 cos(pi / 24) = 1.496
    # times its mean, so 0.8x capacity on average is 119.7% at the peak.
    diurnal = kinds(api.simulate(scenario(workloads={"inference": [service(0.8 * cap, daily_profile="diurnal")]})))
    assert "service-saturated" in diurnal
    assert f"{100 * 0.8 * (1 + 0.5 * math.cos(math.pi / 24)):.1f}% of capacity" in diurnal["service-saturated"]


def test_a_service_behind_training_warns_that_it_waited():
    # The 8-GPU job takes the node at t=0 and finishes after some hours; the service waits.
    job = {"name": "train", "model": "gpt3-125m", "tokens": "20B", "global_batch": 64, "micro_batch": 8,
           "seq": 2048, "gpus": 8, "layout": {"tp": 1, "pp": 1}}
    r = api.simulate(scenario(workloads={"training": [job], "inference": [service(5.0, start="1min")]}))
    svc = r.services.iloc[0]
    found = kinds(r)
    if svc["status"] == "queued":
        assert "never got nodes" in found["service-waited"]
    else:
        assert svc["start_s"] >= r.jobs.iloc[0]["end_s"] > 3600
        assert f"waited {api_human(svc['start_s'] - 60)}" in found["service-waited"]
    # Its arrivals while it waited gave up after the 10-minute patience.
    assert svc["requests_abandoned"] > 0


def test_envelope_exceeded_with_capping_off():
    sc = scenario(workloads={"inference": [service(20.0, replicas=8)]},
                  power={"power_capping": False})
    sc["site"]["power_envelope"] = "14kW"    # above the idle site (12.9 kW), below it serving
    r = api.simulate(sc)
    assert r.summary_dict["peak_facility_power_w"] > 14000
    message = kinds(r)["envelope-exceeded"]
    assert "power capping is off" in message and "14.0 kW envelope" in message


def test_training_jobs_not_finished_or_never_started():
    big = {"name": "big", "model": "gpt3-350m", "tokens": "1T", "global_batch": 64, "micro_batch": 4,
           "seq": 2048, "gpus": 8, "layout": {"tp": 1, "pp": 1}}
    second = dict(big, name="second")
    r = api.simulate(scenario(workloads={"training": [big, second]}))
    found = {w["subject"]: w for w in r.summary_dict["warnings"]}
    assert found["big"]["kind"] == "job-not-finished"
    done = r.jobs.set_index("job").loc["big", "tokens_done"]
    assert f"{100 * done / 1e12:.1f}% of its tokens done" in found["big"]["message"]
    assert found["second"]["kind"] == "job-never-started"
    assert "waited 1.00 days for 8 GPUs" in found["second"]["message"]


def test_warnings_reach_the_terminal_markdown_and_html(tmp_path):
    sc = scenario(workloads={"inference": [service(500.0)]})
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump(sc))
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning(s)" in result.stdout and "service-saturated" in result.stdout
    # The per-service SLO row of the headline.
    assert "SLO attainment: chat" in result.stdout
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<h3>Warnings</h3>" in page and "service-saturated" in page
    md = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "md"), "--format", "md"])
    assert "## Warnings" in md.stdout and "requests-abandoned" in md.stdout


@pytest.mark.parametrize("patience, gives_up", [("1min", True), (None, False)])
def test_abandoned_requests_are_counted_only_with_a_patience(patience, gives_up):
    r = api.simulate(scenario(workloads={"inference": [service(500.0, patience=patience)]}))
    svc = r.services.iloc[0]
    assert (svc["requests_abandoned"] > 0) == gives_up
    assert ("requests-abandoned" in kinds(r)) == gives_up
    assert svc["requests_arrived"] == pytest.approx(svc["requests_served"] + svc["requests_abandoned"]
                                                    + svc["requests_backlog"], rel=1e-12)
