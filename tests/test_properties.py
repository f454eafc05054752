"""Invariants that hold for every valid scenario, checked with hypothesis on generated ones.

The strategy builds small scenarios: 1-3 rack groups of catalog nodes, a constant or built-in
climate, 0-3 training jobs of small catalog models with an explicit layout or ``auto``, at most one
inference service (from idle to overloaded), node failures in a third of them, horizons
of hours to a few days sampled every 5-60 minutes, and a power envelope that is generous or
tight (but above the idle load). Examples are derandomized so CI sees the same ones every run.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from simulator import api
from simulator.domain.catalog import shipped_catalog
from simulator.engine.cluster import build_groups
from simulator.engine.fans import fan_power_w
from simulator.engine.networks import build_support, plan_networks
from simulator.errors import InputError, ScenarioError
from simulator.report import writer
from simulator.scenario.schema import Cluster

CATALOG = shipped_catalog()
NODES = ("dgx-h100", "hgx-h200", "dgx-a100", "dgx-b200", "mi300x-8gpu", "tpu-v5p-host")
MODELS = ("gpt3-125m", "gpt3-350m", "gpt3-760m")
CLIMATES = ("temperate", "hot-dry", "nordic", "hot-humid", "continental")
OUTPUT_FILES = {"summary.json", "costs.json", "timeseries.parquet", "jobs.parquet",
                "progress.parquet", "scenario.json", "report.html", "services.parquet"}
REL = 1e-9
SEEN: Counter = Counter()  # what the generated scenarios reached (checked by the last test)



def examples(n: int) -> settings:
    """Fixed examples (derandomized, no example database): CI sees the same ones every run."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ----------------------------------------------------------------------------- strategies
def _node_power(name: str) -> tuple[float, float, int]:
    """(idle W, peak W, accelerators) of one server of catalog node ``name``, fans included."""
    node = CATALOG.nodes.get(name)
    accel = CATALOG.accelerators.get(node.accelerator)
    n = node.accelerators_per_node
    idle_fans, full_fans = (float(fan_power_w(node.fans, load, 25.0)) for load in (0.0, 1.0))
    return node.host_idle_power + n * accel.idle_power + idle_fans, node.host_power + n * accel.tdp + full_fans, n


@st.composite
def rack_groups(draw) -> list[dict]:
    groups = []
    for i in range(draw(st.integers(1, 3))):
        group = {"name": f"g{i}", "node": draw(st.sampled_from(NODES)),
                 "nodes_per_rack": draw(st.integers(1, 4)), "count": draw(st.integers(1, 3)),
                 "cooling": draw(st.sampled_from(["air", "liquid", "rear-door", "immersion"]))}
        groups.append(group)
    return groups


def _network_power(groups: list[dict]) -> float:
    """Power of every network and of the default support servers for these racks (idle or busy
    alike)."""
    cluster = Cluster(racks=groups)
    built = build_groups(cluster.racks, CATALOG)
    support = build_support(cluster, sum(g.gpus_total for g in built), CATALOG)
    return plan_networks(cluster, built, support, CATALOG).power_w + support.power_w


def _busy_extra_w(job: dict, groups: list[dict]) -> float:
    """Power a job adds above idle when its GPUs and their servers run flat out."""
    group = next(g for g in groups if g["name"] == job["rack_group"])
    node = CATALOG.nodes.get(group["node"])
    accel = CATALOG.accelerators.get(node.accelerator)
    per_gpu = accel.tdp - accel.idle_power
    per_gpu += (node.host_power - node.host_idle_power) / node.accelerators_per_node
    return job["gpus"] * per_gpu


def _gpus_of(group: dict) -> int:
    return group["nodes_per_rack"] * group["count"] * _node_power(group["node"])[2]


@st.composite
def training_job(draw, name: str, groups: list[dict], horizon_s: float) -> dict:
    group = draw(st.sampled_from(groups))
    capacity, per_node = _gpus_of(group), _node_power(group["node"])[2]
    model = CATALOG.models.get(draw(st.sampled_from(MODELS)))
    job = {"name": name, "model": model.name, "seq": draw(st.sampled_from([512, 1024, 2048])),
           "rack_group": group["name"], "precision": "bf16-mixed",
           "start": draw(st.floats(0, 0.5)) * horizon_s,
           "tokens": draw(st.sampled_from([1e7, 1e8, 1e9, 1e10])),
           "priority": draw(st.integers(-2, 2))}
    micro = draw(st.sampled_from([1, 2]))
    if draw(st.booleans()):
        tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if model.heads % t == 0 and t <= per_node]))
        pp = draw(st.sampled_from([p for p in (1, 2, 4) if model.layers % p == 0]))
        dps = [d for d in (1, 2, 4, 8, 16) if tp * pp * d <= capacity]
        assume(dps)
        dp = draw(st.sampled_from(dps))
        job.update(gpus=tp * pp * dp, layout={"tp": tp, "pp": pp, "dp": dp}, micro_batch=micro,
                   global_batch=micro * dp * draw(st.sampled_from([1, 2, 4, 8])))
    else:
        gpus = draw(st.sampled_from([g for g in (1, 2, 4, 8, 16, 32, 64) if g <= capacity]))
        job.update(gpus=gpus, layout="auto", global_batch=gpus * draw(st.sampled_from([2, 4, 8])))
    return job


@st.composite
def inference_service(draw, name: str, groups: list[dict], horizon_s: float) -> dict:
    """A small always-on service, loaded anywhere from idle to several times its capacity."""
    group = draw(st.sampled_from(groups))
    per_node = _node_power(group["node"])[2]
    model = CATALOG.models.get(draw(st.sampled_from(MODELS)))
    tp = draw(st.sampled_from([t for t in (1, 2, 4) if model.heads % t == 0 and t <= per_node]))
    return {"name": name, "model": model.name, "rack_group": group["name"], "gpus_per_replica": tp,
            "replicas": draw(st.integers(1, max(1, min(4, _gpus_of(group) // tp)))),
            "arrival_rate": f"{draw(st.sampled_from([0, 1, 20, 200, 2000]))}/s",
            "daily_profile": draw(st.sampled_from(["flat", "diurnal"])),
            "prompt_tokens": draw(st.sampled_from([128, 1024])), "output_tokens": draw(st.sampled_from([16, 256])),
            "max_batch": draw(st.sampled_from([8, 64])), "start": draw(st.floats(0, 0.5)) * horizon_s,
            "slo": {"ttft": draw(st.sampled_from(["100ms", "2s"])), "tpot": draw(st.sampled_from(["5ms", "50ms"]))}}


@st.composite
def cooling_plant(draw, overhead: float) -> dict:
    """Any pair of plant technologies, adiabatic or not, with a water limit when neither uses towers."""
    plants = ["air-cooled-chiller", "water-cooled-chiller", "dry-cooler"]
    air = {"type": draw(st.sampled_from(plants))}
    liquid = {"type": draw(st.sampled_from(plants))}
    for plant in (air, liquid):
        if plant["type"] == "dry-cooler":
            plant["adiabatic"] = draw(st.booleans())
            plant["trim_chiller"] = draw(st.sampled_from(["air-cooled-90.1-2019", None]))
    cooling = {"other_overhead": f"{overhead}W", "air_plant": air, "liquid_plant": liquid,
               "supply_air": f"{draw(st.sampled_from([20, 25, 30]))}C"}
    if "water-cooled-chiller" not in (air["type"], liquid["type"]) and draw(st.booleans()):
        cooling["water_limit"] = f"{draw(st.sampled_from([0.01, 1.0]))}m3/h"
    return cooling


@st.composite
def operation(draw) -> dict | None:
    """Energy-aware operation in a third of the scenarios: flexible jobs, a battery, solar, a PPA."""
    if draw(st.integers(0, 2)) != 0:
        return None
    op: dict = {}
    if draw(st.booleans()):
        flex = {"action": draw(st.sampled_from(["pause", "slow"])), "top_hours": draw(st.sampled_from([0, 3, 8]))}
        if flex["top_hours"] == 0 or draw(st.booleans()):
            flex["price_above"] = f"${draw(st.sampled_from([0.05, 0.09, 0.15]))}/kWh"
        op["flexible"] = flex
    if draw(st.booleans()):
        op["battery"] = {"capacity": f"{draw(st.sampled_from([5, 50]))}kWh", "power": "10kW",
                         "strategy": draw(st.sampled_from(["arbitrage", "peak-shave"])),
                         "initial_charge": draw(st.sampled_from([0.0, 1.0]))}
    if draw(st.booleans()):
        op["onsite"] = [{"capacity": f"{draw(st.sampled_from([1, 100]))}kW", "profile": "solar"}]
    if draw(st.booleans()):
        op["ppa"] = {"capacity": "5kW", "price": "$0.05/kWh", "profile": draw(st.sampled_from(["solar", "flat"]))}
    return op or None


@st.composite
def scenarios(draw, max_jobs: int = 3) -> dict:
    horizon_h = draw(st.sampled_from([6, 12, 24, 48, 72]))
    horizon_s = horizon_h * 3600.0
    interval_min = draw(st.sampled_from([5, 10, 15, 30, 60]))
    groups = draw(rack_groups())
    if draw(st.booleans()):
        climate: object = {"type": "constant", "temperature": f"{draw(st.integers(-10, 40))}C"}
    else:
        climate = draw(st.sampled_from(CLIMATES))
    overhead = draw(st.sampled_from([0, 1000, 5000]))
    jobs = [draw(training_job(f"job-{k}", groups, horizon_s))
            for k in range(draw(st.integers(0, max_jobs)))]
    services = [draw(inference_service("svc", groups, horizon_s))] if draw(st.integers(0, 2)) == 0 else []
    network = _network_power(groups)
    idle = sum(g["nodes_per_rack"] * g["count"] * _node_power(g["node"])[0] for g in groups) + network
    peak = sum(g["nodes_per_rack"] * g["count"] * _node_power(g["node"])[1] for g in groups) + network
    loads = [{"gpus": sv["replicas"] * sv["gpus_per_replica"], "rack_group": sv["rack_group"]} for sv in services]
    busy = idle + max((_busy_extra_w(job, groups) for job in jobs + loads), default=0.0)
    # Generous: twice the peak IT load. Tight: around what the cluster draws from the grid with
    # its biggest job running (x1.25 for losses and cooling), so that job runs capped or waits;
    # at least 1.5x the idle IT load (the idle facility load with losses and chillers; the rare
    # hot site where that is not enough is filtered out in simulate(), since a run refuses an
    # envelope below its idle load up front).
    if draw(st.booleans()):
        envelope = 2.0 * peak + overhead
    else:
        envelope = max(1.5 * idle, draw(st.floats(0.5, 1.0)) * 1.25 * busy) + 1.1 * overhead
    failures = None
    if draw(st.integers(0, 2)) == 0:
        failures = {"node_mtbf": f"{draw(st.sampled_from([2, 12, 72]))}h",
                    "repair_time": f"{draw(st.sampled_from([1, 6, 24]))}h", "restart_time": "10min"}
    return {
        "name": "property",
        "failures": failures,
        "simulation": {"horizon": f"{horizon_h}h", "sample_interval": f"{interval_min}min",
                       "seed": draw(st.integers(0, 2**31)),
                       "start_day_of_year": draw(st.integers(1, 365))},
        "site": {"power_envelope": f"{envelope:.0f}W", "climate": climate,
                 "electricity": {"price": f"${draw(st.sampled_from([0.05, 0.1, 0.2]))}/kWh"}},
        "cluster": {"racks": groups},
        "cooling": draw(cooling_plant(overhead)),
        "workloads": {"training": jobs, "inference": services},
        "operation": draw(operation()),
    }


def simulate(scenario: dict) -> api.Result:
    try:
        return api.simulate(api.load_scenario(scenario, base_dir=Path.cwd()))
    except ScenarioError as err:
        # A tight envelope below the idle load on the site's hottest hour is a bad scenario,
        # not a counterexample (the run refuses it up front, as it should).
        assume("idle facility load" not in str(err))
        raise


def _energy(frame: pd.DataFrame, column: str) -> float:
    """Sum of power x interval: each row is the mean over the interval that ends at t_s."""
    t = frame["t_s"].to_numpy()
    dt = np.diff(np.concatenate(([0.0], t)))
    return float(np.sum(frame[column].to_numpy() * dt))


# ----------------------------------------------------------------------------- properties
@examples(200)
@given(scenarios())
def test_energy_power_cost_and_job_invariants(scenario):
    result = simulate(scenario)
    s, c, ts, jobs = result.summary_dict, result.costs_dict, result.timeseries, result.jobs
    sim = result.scenario.scenario.simulation

    # Samples cover the horizon: the last one ends it, intervals are positive.
    t = ts["t_s"].to_numpy()
    assert t[-1] == pytest.approx(sim.horizon)
    assert np.all(np.diff(np.concatenate(([0.0], t))) > 0)

    # Energy conservation: facility = IT + losses + cooling + other, IT = accel + hosts + network,
    # every summary energy = sum of its power column x interval.
    it_columns = ["accelerator", "host", "server_fan", "support", "network"]
    cooling_columns = ["chiller", "heat_rejection", "air_handler", "pump"]
    for part in ("it", "losses", "cooling", "other", "facility", *it_columns, *cooling_columns):
        assert _energy(ts, f"{part}_power_w") == pytest.approx(s[f"{part}_energy_j"], rel=REL)
    facility_parts = s["it_energy_j"] + s["losses_energy_j"] + s["cooling_energy_j"] + s["other_energy_j"]
    assert s["facility_energy_j"] == pytest.approx(facility_parts, rel=REL)
    assert s["it_energy_j"] == pytest.approx(sum(s[f"{p}_energy_j"] for p in it_columns), rel=REL)
    assert s["cooling_energy_j"] == pytest.approx(sum(s[f"{p}_energy_j"] for p in cooling_columns), rel=REL)
    stack = ts[["it_power_w", "losses_power_w", "cooling_power_w", "other_power_w"]].sum(axis=1)
    np.testing.assert_allclose(ts["facility_power_w"], stack, rtol=REL)
    np.testing.assert_allclose(ts["it_power_w"], ts[[f"{p}_power_w" for p in it_columns]].sum(axis=1), rtol=REL)
    np.testing.assert_allclose(ts["cooling_power_w"], ts[[f"{p}_power_w" for p in cooling_columns]].sum(axis=1),
                               rtol=REL, atol=1e-6)
    for column in (*[f"{p}_power_w" for p in it_columns + cooling_columns], "losses_power_w",
                   "cooling_power_w", "other_power_w", "water_m3_per_s"):
        assert (ts[column] >= 0).all(), column
    assert _energy(ts, "water_m3_per_s") == pytest.approx(s["water_m3"], rel=REL, abs=1e-12)

    # The envelope holds (power capping is on by default), every hour, and no policy breaks it:
    # batteries never charge past it, and never hold more than their capacity or less than 0.
    envelope = s["power_envelope_w"]
    assert (ts["facility_power_w"] <= envelope * (1 + REL)).all()
    assert (ts["facility_power_w"] <= ts["power_envelope_w"] * (1 + REL)).all()
    assert (ts["grid_power_w"] <= ts["power_envelope_w"] * (1 + REL) + 1e-6).all()
    assert (ts["grid_power_w"] >= -1e-6).all()
    battery = (scenario.get("operation") or {}).get("battery")
    if battery:
        capacity = float(battery["capacity"].removesuffix("kWh")) * 3.6e6
        assert (ts["battery_energy_j"] >= -1e-6).all() and (ts["battery_energy_j"] <= capacity * (1 + REL)).all()
        SEEN["battery"] += 1
    if scenario.get("operation") and not scenario.get("failures"):
        # Policies pause only after a checkpoint: without failures no work is ever thrown away.
        assert (jobs["lost_tokens"] == 0).all()
    if s.get("operation"):
        SEEN["operation"] += 1
    assert s["peak_facility_power_w"] <= envelope * (1 + REL)
    assert (ts["pue"] >= 1.0).all() and s["pue_mean"] >= 1.0
    assert ((ts["clock_fraction"] > 0) & (ts["clock_fraction"] <= 1)).all()
    assert ((ts["gpu_utilization"] >= 0) & (ts["gpu_utilization"] <= 1 + REL)).all()

    # Costs are non-negative and add up: items -> totals, total = amortised capex + opex.
    for section in ("capex_usd", "amortised_usd", "opex_usd"):
        items = {k: v for k, v in c[section].items() if k != "total"}
        assert all(v >= 0 for v in items.values()), (section, items)
        assert c[section]["total"] == pytest.approx(sum(items.values()), rel=REL), section
    assert c["total_usd"] == pytest.approx(c["amortised_usd"]["total"] + c["opex_usd"]["total"], rel=REL)
    assert c["opex_usd"]["energy"] == pytest.approx(s["energy_cost_usd"], rel=REL)
    assert c["usd_per_gpu_hour"] >= 0
    per_job = c.get("per_job", {})
    assert all(v >= 0 for v in per_job.values())
    assert sum(per_job.values()) <= c["total_usd"] * (1 + REL)

    # Inference requests are conserved: every arrival is served, given up on (after its patience)
    # or still queued, per service and per sample; arrivals are whole requests; SLO attainment is
    # a share.
    services = result.services
    assert len(services) == len(scenario["workloads"]["inference"])
    for svc in services.to_dict("records"):
        arrived = svc["requests_arrived"]
        assert arrived == pytest.approx(svc["requests_served"] + svc["requests_abandoned"] + svc["requests_backlog"],
                                        rel=REL, abs=1e-6)
        assert svc["requests_served"] >= 0 and svc["requests_abandoned"] >= 0
        assert svc["requests_backlog"] >= -1e-6 * max(arrived, 1.0)
        assert arrived == pytest.approx(round(arrived), abs=1e-6 * max(arrived, 1.0))
        assert math.isnan(svc["slo_attainment"]) or 0.0 <= svc["slo_attainment"] <= 1.0 + REL
        assert math.isnan(svc["availability"]) or 0.0 <= svc["availability"] <= 1.0 + REL
        SEEN["service " + ("backlogged" if svc["requests_backlog"] > 1 else "keeping up")] += 1
    for column, total in (("requests_arrived", s["requests_arrived"]), ("requests_served", s["requests_served"]),
                          ("requests_abandoned", s["requests_abandoned"])):
        assert float(ts[column].sum()) == pytest.approx(total, rel=REL, abs=1e-6)
    if len(services):
        assert ts["requests_backlog"].iloc[-1] == pytest.approx(s["requests_backlog"], rel=REL, abs=1e-6)
    per_service = c.get("per_service", {})
    assert all(v >= 0 for v in per_service.values())
    assert sum(per_job.values()) + sum(per_service.values()) <= c["total_usd"] * (1 + REL)

    SEEN["failures"] += s["failures"] > 0
    SEEN["runs"] += 1
    SEEN["capped"] += s["capped_fraction"] > 0
    for status in jobs["status"]:
        SEEN[status] += 1
        event(f"job {status}")
    event("capped" if s["capped_fraction"] > 0 else "not capped")

    # Jobs: progress never exceeds the goal (rounded up to whole optimizer steps), finished jobs
    # reached it, and times are ordered submit <= start <= end.
    assert len(jobs) == len(scenario["workloads"]["training"])
    assert s["jobs_finished"] == int((jobs["status"] == "finished").sum())
    assert s["tokens_trained"] == pytest.approx(float(jobs["tokens_done"].sum()), rel=REL)
    by_name = {j["name"]: j for j in scenario["workloads"]["training"]}
    for job in jobs.to_dict("records"):
        config = by_name[job["job"]]
        step_tokens = config["global_batch"] * config["seq"]
        assert 0 <= job["tokens_done"] < job["tokens_target"] + step_tokens
        assert job["submit_s"] == pytest.approx(config["start"])
        if job["status"] == "finished":
            assert job["tokens_done"] >= job["tokens_target"]
            assert job["submit_s"] <= job["start_s"] <= job["end_s"] <= sim.horizon * (1 + REL)
        else:
            assert job["tokens_done"] < job["tokens_target"]
            assert math.isnan(job["end_s"])
        if job["status"] == "queued":
            assert job["tokens_done"] == 0 and math.isnan(job["start_s"])
        elif not math.isnan(job["start_s"]):
            assert job["start_s"] >= job["submit_s"]
            assert job["energy_j"] >= 0 and job["step_time_s"] > 0
            assert 0 < job["network_share_mean"] <= 1 + REL


@st.composite
def scaling_pairs(draw) -> tuple[dict, dict]:
    """One job with an explicit layout, and the same job with data parallelism doubled."""
    node = draw(st.sampled_from(NODES[:5]))
    model = CATALOG.models.get(draw(st.sampled_from(MODELS)))
    tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if model.heads % t == 0]))
    pp = draw(st.sampled_from([1, 2]))
    dp = draw(st.sampled_from([1, 2, 4]))
    micro = draw(st.sampled_from([1, 2]))
    global_batch = micro * dp * 2 * draw(st.sampled_from([1, 2, 4, 8]))
    base = {
        "name": "scaling",
        "simulation": {"horizon": "2d", "sample_interval": "30min", "seed": 1},
        "site": {"power_envelope": "10MW", "climate": {"type": "constant", "temperature": "20C"}},
        "cluster": {"racks": [{"name": "g", "node": node, "nodes_per_rack": 4, "count": 4}]},
        "workloads": {"training": [{
            "name": "j", "model": model.name, "tokens": "1B", "global_batch": global_batch,
            "micro_batch": micro, "seq": draw(st.sampled_from([1024, 2048])), "gpus": tp * pp * dp,
            "layout": {"tp": tp, "pp": pp, "dp": dp}}]},
    }
    wider = {**base, "workloads": {"training": [{
        **base["workloads"]["training"][0], "gpus": tp * pp * dp * 2,
        "layout": {"tp": tp, "pp": pp, "dp": 2 * dp}}]}}
    return base, wider


@examples(150)
@given(scaling_pairs())
def test_more_gpus_never_slow_a_fixed_job(pair):
    """Same model, global batch and micro-batch; doubling data parallelism halves each rank's
    gradient-accumulation steps, so a step (and the whole run) must not take longer."""
    small, wide = (simulate(s).jobs.iloc[0] for s in pair)
    assert wide["step_time_s"] <= small["step_time_s"] * (1 + 1e-9), (small["layout"], wide["layout"])
    assert wide["end_s"] - wide["start_s"] <= (small["end_s"] - small["start_s"]) * (1 + 1e-9)


@examples(6)
@given(scenarios(max_jobs=2))
def test_same_seed_same_bytes(tmp_path_factory, scenario):
    first, second = simulate(scenario), simulate(scenario)
    assert first.summary_dict == second.summary_dict
    a, b = first.files(), second.files()
    for name in ("summary.json", "costs.json", "scenario.json", "report.html"):
        assert a[name] == b[name], name
    folder = tmp_path_factory.mktemp("same-seed")
    pa, pb = writer.write_outputs(folder / "a", a), writer.write_outputs(folder / "b", b)
    for name in OUTPUT_FILES:
        assert (pa / name).read_bytes() == (pb / name).read_bytes(), name


class BoomError(Exception):
    """A failure injected while the outputs are being written."""


@examples(20)
@given(scenario=scenarios(max_jobs=1), fail_at=st.integers(0, 9),
       error=st.sampled_from([OSError(28, "No space left on device"), KeyboardInterrupt(), BoomError()]),
       existing=st.booleans())
def test_outputs_are_complete_or_absent(tmp_path_factory, scenario, fail_at, error, existing):
    """A write interrupted at any file leaves no output folder and no temporary sibling (or, with
    --force over an old folder, the old folder untouched); an uninterrupted one writes them all."""
    result = simulate(scenario)
    folder = tmp_path_factory.mktemp("atomic")
    out = folder / "out"
    if existing:  # an earlier dcsim output (its marker): the only kind --force may replace
        out.mkdir()
        (out / "old.txt").write_text("previous run")
        (out / writer.MARKER).write_text(writer.MARKER_TEXT)
    files = result.files()
    writes = len(files) + 1  # the files and the marker
    calls = {"n": 0}
    real_parquet, real_write_text = writer.write_parquet, Path.write_text

    def counted(real):
        def wrapper(*args, **kwargs):
            if calls["n"] == fail_at:
                raise error
            calls["n"] += 1
            return real(*args, **kwargs)
        return wrapper

    writer.write_parquet = counted(real_parquet)
    Path.write_text = counted(real_write_text)
    try:
        if fail_at < writes:
            with pytest.raises((BoomError, KeyboardInterrupt, writer.InputError)):
                writer.write_outputs(out, files, force=True)
        else:
            writer.write_outputs(out, files, force=True)
    finally:
        writer.write_parquet, Path.write_text = real_parquet, real_write_text
    names = sorted(os.listdir(folder))
    if fail_at < writes:
        assert names == (["out"] if existing else []), names
        if existing:
            assert sorted(os.listdir(out)) == [writer.MARKER, "old.txt"]
    else:
        assert names == ["out"], names
        assert set(os.listdir(out)) == OUTPUT_FILES | {writer.MARKER}


def test_generated_scenarios_reach_the_interesting_states():
    """The examples above are not all trivial: some runs cap the GPUs, and jobs end in every
    state (finished, still running, still queued)."""
    if not SEEN["runs"]:
        pytest.skip("runs only after test_energy_power_cost_and_job_invariants")
    assert SEEN["capped"] > 0, SEEN
    assert SEEN["finished"] > 0 and SEEN["running"] > 0 and SEEN["queued"] > 0, SEEN
    assert SEEN["service backlogged"] > 0 and SEEN["service keeping up"] > 0, SEEN
    assert SEEN["failures"] > 0, SEEN


@st.composite
def risky_scenarios(draw) -> dict:
    """Scenarios that may well be wrong in ways only the cost model can tell: any layout degrees,
    GPU counts with or without a valid layout, batches that may not fit, envelopes anywhere."""
    scenario = draw(scenarios(max_jobs=2))
    scenario["simulation"]["horizon"] = "6h"
    scenario["simulation"]["sample_interval"] = "30min"
    for job in scenario["workloads"]["training"]:
        job["gpus"] = draw(st.sampled_from([1, 3, 5, 8, 12, 24, 30, 32]))
        job["global_batch"] = draw(st.sampled_from([7, 16, 60, 64, 96]))
        if draw(st.booleans()):
            job["layout"] = {"tp": draw(st.sampled_from([1, 2, 3, 4, 8, 16])),
                             "pp": draw(st.sampled_from([1, 2, 3, 5]))}
        else:
            job["layout"] = "auto"
            job.pop("micro_batch", None)
    for svc in scenario["workloads"]["inference"]:
        svc["max_batch"] = draw(st.sampled_from([1, 64, 512, 4096]))
        svc["prompt_tokens"] = draw(st.sampled_from([128, 8192, 32768]))
    scenario["site"]["power_envelope"] = draw(st.sampled_from(["20kW", "100kW", "1MW", "50MW"]))
    return scenario


@examples(60)
@given(risky_scenarios())
def test_what_validates_runs(scenario):
    """`dcsim validate` (load, cross-checks, then the same planning the run does) accepts only what
    runs: a scenario it passes simulates to its horizon without an error, and one it refuses is
    refused as bad input, never with another exception."""
    from simulator.engine.planning import plan_run
    from simulator.engine.world import World

    try:
        plan = plan_run(api.load_scenario(scenario, base_dir=Path.cwd()))
    except InputError:
        return
    record = World(plan).run()
    assert record.horizon_s == 6 * 3600.0
    assert record.samples == 12
