"""Inference services in the event loop (engine/serving.py): requests conserved, capacity from
the cost model, overload, daily profiles, power and capping, against closed forms."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulator import api
from simulator.engine.world import World

HOUR = 3600.0


def service_scenario(rate: str = "20/s", replicas: int = 4, horizon: str = "6h", **service) -> dict:
    """One 8-GPU H100 node at 10 C serving Llama-3 8B on single-GPU replicas (no support servers
    and only the compute fabric, so the node's own load dominates)."""
    svc = {"name": "chat", "model": "llama-3-8b", "replicas": replicas, "arrival_rate": rate,
           "prompt_tokens": 512, "output_tokens": 128, "max_batch": 32,
           "slo": {"ttft": "2s", "tpot": "100ms"}}
    svc.update(service)
    return {
        "name": "svc",
        "simulation": {"horizon": horizon, "sample_interval": "5min", "seed": 7},
        "site": {"power_envelope": "1MW", "climate": {"type": "constant", "temperature": "10C"},
                 "electricity": {"price": "$0.10/kWh", "carbon": "400g/kWh"}},
        "cluster": {"racks": [{"name": "r", "node": "dgx-h100", "nodes_per_rack": 1, "count": 1}],
                    "support": [], "networks": {"storage": None, "frontend": None, "oob": None}},
        "workloads": {"inference": [svc]},
    }


def full_capacity_per_s(world: World) -> float:
    """The plan's maximum sustained throughput at full power, times the replicas."""
    svc = world.services[0]
    return svc.config.replicas * svc.plan.at_cap(world.groups[0].accel.tdp).capacity_per_s


def test_light_load_serves_every_request_within_slo():
    r = api.simulate(service_scenario("20/s"))
    svc = r.services.iloc[0]
    # Poisson arrivals over 6 h at 20/s: 432,000 expected, sd 657.
    assert abs(svc["requests_arrived"] - 432_000) < 5 * np.sqrt(432_000)
    assert svc["requests_arrived"] == round(svc["requests_arrived"])
    assert svc["requests_served"] == pytest.approx(svc["requests_arrived"])
    assert svc["requests_backlog"] == pytest.approx(0.0, abs=1e-6)
    assert svc["slo_attainment"] == pytest.approx(1.0, abs=1e-9)
    assert svc["tokens_generated"] == pytest.approx(128 * svc["requests_served"])
    # Per-interval counts add up to the totals.
    assert r.timeseries["requests_arrived"].sum() == pytest.approx(svc["requests_arrived"])
    assert r.timeseries["requests_served"].sum() == pytest.approx(svc["requests_served"])


def test_overload_serves_at_capacity_and_queues_the_rest():
    # Clients that never give up (patience: null): the queue only grows.
    world = World(api.load_scenario(service_scenario("500/s", patience=None)))
    capacity = full_capacity_per_s(world)
    assert capacity < 500
    r = api.simulate(service_scenario("500/s", patience=None))
    svc = r.services.iloc[0]
    assert svc["capacity_per_s"] == pytest.approx(capacity, rel=1e-9)
    assert svc["requests_served"] == pytest.approx(capacity * 6 * HOUR, rel=1e-9)
    assert svc["requests_arrived"] == pytest.approx(svc["requests_served"] + svc["requests_backlog"], rel=1e-12)
    # The backlog grows by (arrivals - capacity) each interval; nearly nobody meets a 2 s TTFT.
    backlog = r.timeseries["requests_backlog"].to_numpy()
    assert np.all(np.diff(backlog) > 0)
    assert svc["slo_attainment"] < 0.01


def test_twice_the_replicas_serve_twice_as_many_in_overload():
    one = api.simulate(service_scenario("500/s", replicas=2)).services.iloc[0]
    two = api.simulate(service_scenario("500/s", replicas=4)).services.iloc[0]
    assert two["requests_served"] == pytest.approx(2 * one["requests_served"], rel=1e-9)


def test_a_tpot_target_below_the_decode_step_is_never_met():
    r = api.simulate(service_scenario("20/s", slo={"ttft": "2s", "tpot": "1ms"}))
    assert r.services.iloc[0]["slo_attainment"] == 0.0
    assert r.summary_dict["slo_attainment"] == 0.0


def test_diurnal_profile_shapes_the_arrivals():
    r = api.simulate(service_scenario("50/s", horizon="1d", daily_profile="diurnal"))
    ts = r.timeseries
    hour = ((ts["t_s"].to_numpy() - 1.0) // HOUR).astype(int)
    per_hour = np.bincount(hour, weights=ts["requests_arrived"].to_numpy(), minlength=24)
    # Multipliers 1 + 0.5 cos(2 pi (h + 0.5 - 15) / 24): hour 14 ~ 1.50x, hour 2 ~ 0.50x of 50/s.
    assert per_hour[14] == pytest.approx(50 * HOUR * (1 + 0.5 * np.cos(2 * np.pi * (14.5 - 15) / 24)), rel=0.02)
    assert per_hour[2] == pytest.approx(50 * HOUR * (1 + 0.5 * np.cos(2 * np.pi * (2.5 - 15) / 24)), rel=0.03)
    assert r.services.iloc[0]["requests_arrived"] == pytest.approx(50 * 86400, rel=0.01)


def test_service_power_between_idle_and_tdp_and_in_the_it_energy():
    r = api.simulate(service_scenario("20/s"))
    accel = r.timeseries["accelerator_power_w"].to_numpy()
    # 4 of 8 boards serve; the other 4 idle at 123 W.
    assert np.all(accel > 8 * 123.0) and np.all(accel < 4 * 700.0 + 4 * 123.0)
    svc = r.services.iloc[0]
    assert 0 < svc["energy_j"] < r.summary_dict["it_energy_j"]
    assert r.costs_dict["per_service"]["chat"] > 0
    assert r.costs_dict["usd_per_mtoken_generated"] == pytest.approx(
        r.costs_dict["per_service"]["chat"] / (svc["tokens_generated"] / 1e6))


def test_a_tight_envelope_caps_the_service_and_holds():
    free = api.simulate(service_scenario("500/s"))
    sc = service_scenario("500/s")
    idle_and_some = free.summary_dict["peak_facility_power_w"] * 0.85
    sc["site"]["power_envelope"] = f"{idle_and_some:.0f}W"
    capped = api.simulate(sc)
    assert capped.summary_dict["capped_fraction"] > 0.9
    assert (capped.timeseries["facility_power_w"] <= idle_and_some * (1 + 1e-9)).all()
    assert capped.services.iloc[0]["requests_served"] < free.services.iloc[0]["requests_served"]


def test_late_start_and_seed_determinism():
    sc = service_scenario("20/s", start="2h")
    a, b = api.simulate(sc), api.simulate(copy.deepcopy(sc))
    assert a.services.equals(b.services) and a.timeseries.equals(b.timeseries)
    arrived = a.timeseries["requests_arrived"].to_numpy()
    assert arrived[:24].sum() == 0 and arrived[24:].min() > 0          # 24 x 5 min = 2 h
    other = copy.deepcopy(sc)
    other["simulation"]["seed"] = 8
    assert api.simulate(other).services.iloc[0]["requests_arrived"] != a.services.iloc[0]["requests_arrived"]


def test_service_waits_for_nodes_held_by_a_training_job():
    sc = service_scenario("20/s", replicas=8, start="1h")
    sc["workloads"]["training"] = [{"name": "train", "model": "gpt3-125m", "tokens": "2B", "global_batch": 64,
                                    "micro_batch": 8, "seq": 2048, "gpus": 8}]
    r = api.simulate(sc)
    job = r.jobs.iloc[0]
    svc = r.services.iloc[0]
    assert svc["start_s"] == pytest.approx(max(job["end_s"], HOUR))
    # Requests that arrived while it waited were queued, then served.
    assert svc["requests_arrived"] == pytest.approx(svc["requests_served"] + svc["requests_backlog"])


def test_latency_percentiles_match_the_closed_form_at_light_load():
    # No backlog: at 5 requests/s per replica a share rho of requests waits (the load curve's
    # prompt-stage share), W on average; with an exponential tail the p99 TTFT is
    # t_pre + W / rho * ln(rho / 0.01) and the median is the prefill itself.
    sc = service_scenario("20/s")
    world = World(api.load_scenario(sc))
    curve = world.services[0].plan.at_cap(world.groups[0].accel.tdp)
    t_pre = curve.prefill_s
    point, _ = curve.point(20 / 4)
    rho, wait = point.prefill_share, point.prefill_wait_s
    svc = api.simulate(sc).services.iloc[0]
    assert svc["ttft_p99_s"] == pytest.approx(t_pre + wait / rho * np.log(rho / 0.01), rel=0.05)
    assert svc["ttft_p50_s"] == pytest.approx(t_pre, rel=0.047)     # one step of the latency grid
    assert svc["ttft_p50_s"] <= svc["ttft_mean_s"] <= svc["ttft_p99_s"]
    assert svc["tpot_mean_s"] <= svc["tpot_p99_s"] <= svc["tpot_mean_s"] * 1.2


def test_overloaded_percentiles_grow_with_the_backlog():
    svc = api.simulate(service_scenario("500/s", patience=None)).services.iloc[0]
    # The backlog grows linearly, so queueing time spreads from ~0 to its largest value: the
    # median is well below the p99, and the p99 is hours.
    assert svc["ttft_p50_s"] < svc["ttft_p99_s"]
    assert svc["ttft_p99_s"] > HOUR


def test_training_tokens_do_not_pay_for_the_services():
    sc = service_scenario("20/s", replicas=4)
    sc["workloads"]["training"] = [{"name": "train", "model": "gpt3-125m", "tokens": "2B", "global_batch": 32,
                                    "micro_batch": 8, "seq": 2048, "gpus": 4}]
    r = api.simulate(sc)
    c, s = r.costs_dict, r.summary_dict
    expected = (c["total_usd"] - c["per_service"]["chat"]) / (s["tokens_trained"] / 1e6)
    assert c["usd_per_mtoken"] == pytest.approx(expected, rel=1e-12)
    assert c["per_service"]["chat"] > 0


def failing_service(nodes: int, repair: str, spare: int = 0) -> dict:
    """8 single-GPU replicas on one DGX H100 (one node failure takes all 8 down), failing often."""
    sc = service_scenario("20/s", replicas=8, horizon="3d")
    sc["cluster"]["racks"][0].update(nodes_per_rack=nodes, spare_nodes=spare)
    sc["failures"] = {"node_mtbf": "12h", "repair_time": repair, "restart_time": "10min"}
    return sc


def test_a_failed_node_stops_its_replicas_for_the_reload_when_a_free_node_is_there():
    # Free nodes stand in at once: each failure costs its 8 replicas one 10-minute reload.
    r = api.simulate(failing_service(nodes=4, repair="1h"))
    svc = r.services.iloc[0]
    assert svc["failures"] >= 2
    assert svc["availability"] == pytest.approx(1 - svc["failures"] * 600 / (3 * 86400), rel=1e-9)
    assert r.summary_dict["failures"] == svc["failures"]
    assert svc["requests_arrived"] == pytest.approx(svc["requests_served"] + svc["requests_abandoned"]
                                                    + svc["requests_backlog"])


def test_without_a_replacement_replicas_wait_for_the_repair():
    # One node, no spare: each failure costs the repair (4 h) and then the reload (10 min).
    sc = failing_service(nodes=1, repair="4h")
    sc["workloads"]["inference"][0]["patience"] = None
    r = api.simulate(sc)
    svc = r.services.iloc[0]
    assert svc["failures"] >= 1
    down_s = svc["failures"] * (4 * 3600 + 600)
    assert svc["availability"] == pytest.approx(1 - down_s / (3 * 86400), rel=1e-9)
    # Arrivals kept coming while nothing served: the outage shows as a backlog that then drains.
    assert r.timeseries["requests_backlog"].max() > 20 * 3600
    assert svc["slo_attainment"] < 1.0


def test_summary_availability_weights_each_service_by_its_placed_replica_time():
    sc = failing_service(nodes=4, repair="1h")
    sc["workloads"]["inference"].append({"name": "late", "model": "llama3-8b", "replicas": 2, "arrival_rate": "1/s",
                                         "start": "1d"})
    r = api.simulate(sc)
    svcs = r.services.set_index("service")
    weights = {"chat": 8 * 3 * 86400, "late": 2 * 2 * 86400}
    expected = sum(svcs.loc[n, "availability"] * w for n, w in weights.items()) / sum(weights.values())
    assert r.summary_dict["service_availability"] == pytest.approx(expected, rel=1e-12)
    assert "service availability (replica-time weighted)" in r.markdown()


def test_deployment_choices_reach_the_report(tmp_path):
    # FP8 weights and KV cache, lognormal prompts, prefix caching and speculative decoding on one
    # service; a disaggregated one beside it; each shows in services.parquet.
    (tmp_path / "lengths.csv").write_text("prompt,output\n512,64\n2048,256\n", encoding="utf-8")
    sc = service_scenario("5/s", replicas=2, horizon="2h", precision="fp8", kv_precision="fp8",
                          prompt_tokens={"dist": "lognormal", "mean": 1024, "sigma": 0.8}, prefix_cache_hit=0.5,
                          speculative={"draft": "llama3.2-1b", "draft_tokens": 4, "acceptance": 0.8})
    sc["cluster"]["racks"][0]["nodes_per_rack"] = 2           # services take whole nodes
    sc["workloads"]["inference"].append(
        {"name": "split", "model": "llama-3-8b", "replicas": 1, "arrival_rate": "5/s", "lengths_csv": "lengths.csv",
         "engine": "vllm", "disaggregation": {"prefill": {"replicas": 1, "gpus_per_replica": 1},
                                              "decode": {"replicas": 2, "gpus_per_replica": 1}}})
    svcs = api.simulate(api.load_scenario(sc, base_dir=tmp_path)).services.set_index("service")
    chat, split = svcs.loc["chat"], svcs.loc["split"]
    assert chat["precision"] == "fp8" and chat["kv_precision"] == "fp8" and chat["engine"] == "tensorrt-llm"
    assert chat["prefix_cache_hit"] == 0.5
    assert chat["tokens_per_step"] == pytest.approx((1 - 0.8 ** 5) / (1 - 0.8))
    assert chat["kv_cache_tokens"] > 0 and 0 < chat["batch_mean"] < 32
    assert split["gpus"] == 3 and split["replicas"] == 1 and split["engine"] == "vllm"
    assert split["disaggregated"] == "prefill 1 x 1, decode 2 x 1"
    assert split["requests_served"] == pytest.approx(split["requests_arrived"], rel=1e-6)
    # The mean output of the lengths file.
    assert split["tokens_generated"] == pytest.approx(split["requests_served"] * 160)
def test_clients_give_up_after_their_patience():
    """Overload with a one-minute patience: the queue holds at most capacity x 60 s, the rest of
    the arrivals give up, and no served request waited longer than its patience."""
    world = World(api.load_scenario(service_scenario("500/s", patience="1min")))
    capacity = full_capacity_per_s(world)
    r = api.simulate(service_scenario("500/s", patience="1min"))
    svc = r.services.iloc[0]
    assert svc["requests_served"] == pytest.approx(capacity * 6 * HOUR, rel=1e-9)
    assert svc["requests_backlog"] == pytest.approx(capacity * 60.0, rel=1e-9)
    assert svc["requests_arrived"] == pytest.approx(svc["requests_served"] + svc["requests_abandoned"]
                                                    + svc["requests_backlog"], rel=1e-12)
    assert r.timeseries["requests_backlog"].max() <= capacity * 60.0 * (1 + 1e-12)
    assert r.timeseries["requests_abandoned"].sum() == pytest.approx(svc["requests_abandoned"], rel=1e-12)
    assert svc["ttft_p99_s"] <= 60.0 * 1.047   # the latency grid has 50 points a decade (4.7% steps)
    assert r.summary_dict["requests_abandoned"] == pytest.approx(svc["requests_abandoned"])
    kinds = {w["kind"] for w in r.summary_dict["warnings"]}
    assert {"service-saturated", "requests-abandoned", "service-slo"} <= kinds


def test_an_outage_with_patient_clients_loses_the_requests_of_the_outage():
    # One node, no spare, default patience (10 min): while no replica is up every arrival gives
    # up, so nothing piles up for after the repair.
    r = api.simulate(failing_service(nodes=1, repair="4h"))
    svc = r.services.iloc[0]
    assert svc["failures"] >= 1
    down_s = (1 - svc["availability"]) * 3 * 86400
    # 20 requests/s for the time down (Poisson: within 5 sd), plus at most the queue of the moment.
    expected = 20.0 * down_s
    assert abs(svc["requests_abandoned"] - expected) < 5 * np.sqrt(expected) + 20.0 * 600
    assert r.timeseries["requests_backlog"].max() < 20 * 600
