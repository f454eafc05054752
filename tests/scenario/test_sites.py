"""Several sites (scenario/sites.py, sites_load.py): the document split into one single-site
scenario per site, the placement rule, replica shares, seeds, and problems named by their path
in the document as written."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulator.errors import ScenarioError
from simulator.scenario.load import LoadedScenario, load_scenario
from simulator.scenario.sites import site_seeds
from simulator.scenario.sites_load import LoadedSites, load_any

SITES = {
    "name": "pair",
    "simulation": {"horizon": "1d", "sample_interval": "1h", "seed": 7},
    "sites": [
        {"name": "a", "power_envelope": "1MW", "climate": "temperate"},
        {"name": "b", "power_envelope": "2MW", "climate": "nordic"},
    ],
    "cluster": {"racks": [
        {"name": "ra", "site": "a", "node": "dgx-h100", "nodes_per_rack": 2, "count": 1},       # 16 GPUs
        {"name": "rb", "site": "b", "node": "dgx-h100", "nodes_per_rack": 2, "count": 2},       # 32 GPUs
    ]},
    "workloads": {
        "training": [
            {"name": "pinned-a", "site": "a", "model": "gpt3-125m", "tokens": "1B", "global_batch": 32, "gpus": 8},
            {"name": "by-group", "rack_group": "ra", "model": "gpt3-125m", "tokens": "1B", "global_batch": 32,
             "gpus": 8},
            {"name": "placed", "model": "gpt3-125m", "tokens": "1B", "global_batch": 32, "gpus": 8},
        ],
        "inference": [
            {"name": "chat", "model": "llama3-8b", "replicas_by_site": {"a": 1, "b": 3}, "arrival_rate": "8/s"},
        ],
    },
}


def sites_problems(data, base_dir=None) -> list:
    """The problems of a multi-site document (it must fail)."""
    with pytest.raises(ScenarioError) as info:
        load_any(data, base_dir=base_dir)
    return list(info.value.problems)


def test_each_site_gets_its_racks_pinned_and_placed_work_and_service_share():
    loaded = load_any(copy.deepcopy(SITES))
    assert isinstance(loaded, LoadedSites) and loaded.names == ["a", "b"]
    a, b = (p.scenario for p in loaded.parts)
    assert [r.name for r in a.cluster.racks] == ["ra"] and [r.name for r in b.cluster.racks] == ["rb"]
    assert a.site.power_envelope == 1e6 and b.site.power_envelope == 2e6
    # pinned -> a; rack group ra -> a; unpinned -> b, the site with more accelerators (32 > 16)
    assert [j.name for j in a.workloads.training] == ["pinned-a", "by-group"]
    assert [j.name for j in b.workloads.training] == ["placed"]
    # 8 req/s split 1:3 by replicas: 2/s at a, 6/s at b
    (sa,), (sb,) = a.workloads.inference, b.workloads.inference
    assert (sa.name, sa.replicas, sa.arrival_rate) == ("chat@a", 1, pytest.approx(2.0))
    assert (sb.name, sb.replicas, sb.arrival_rate) == ("chat@b", 3, pytest.approx(6.0))
    assert {n: [s.name for s in parts] for n, parts in loaded.services().items()} == {"chat": ["chat@a", "chat@b"]}


def test_a_split_demand_csv_keeps_its_own_scale_times_each_sites_share(tmp_path):
    """demand_scale 1.5 on a file split 1:3: the parts scale the file's rates by 0.375 and 1.125
    (what dcsim plan's demand sensitivity moves must survive the split)."""
    (tmp_path / "demand.csv").write_text("month,rate\n2027-01,8\n", encoding="utf-8")
    data = copy.deepcopy(SITES)
    chat = data["workloads"]["inference"][0]
    del chat["arrival_rate"]
    chat.update(demand_csv="demand.csv", demand_scale=1.5)
    loaded = load_any(data, base_dir=tmp_path)
    (sa,), (sb,) = (p.scenario.workloads.inference for p in loaded.parts)
    assert (sa.demand_scale, sb.demand_scale) == (pytest.approx(0.375), pytest.approx(1.125))


def test_placement_ties_go_to_the_first_site_in_the_list():
    data = copy.deepcopy(SITES)
    data["cluster"]["racks"][1]["count"] = 1                 # 16 GPUs at each site
    loaded = load_any(data)
    assert "placed" in [j.name for j in loaded.parts[0].scenario.workloads.training]


def test_each_site_has_its_own_seed_and_one_site_keeps_the_scenarios():
    loaded = load_any(copy.deepcopy(SITES))
    seeds = [p.scenario.simulation.seed for p in loaded.parts]
    children = np.random.SeedSequence(7).spawn(2)
    assert seeds == [int(c.generate_state(1, np.uint64)[0]) >> 1 for c in children]
    assert seeds[0] != seeds[1] and 7 not in seeds
    assert site_seeds(7, 1) == [7]
    assert load_any(copy.deepcopy(SITES)).parts[1].scenario.simulation.seed == seeds[1]   # deterministic


def test_one_site_list_splits_to_the_same_scenario_as_site():
    data = copy.deepcopy(SITES)
    data["sites"] = data["sites"][:1]
    data["cluster"]["racks"] = [{k: v for k, v in data["cluster"]["racks"][0].items() if k != "site"}]
    data["workloads"] = {"training": data["workloads"]["training"][1:]}
    single = {k: v for k, v in copy.deepcopy(data).items() if k != "sites"}
    single["site"] = data["sites"][0]
    one = load_any(data)
    assert isinstance(one, LoadedSites)
    assert one.parts[0].scenario == load_scenario(single).scenario


def test_a_site_document_loads_as_before():
    data = {k: v for k, v in copy.deepcopy(SITES).items() if k != "sites"}
    data["site"] = {"name": "a", "power_envelope": "1MW"}
    data["cluster"]["racks"] = data["cluster"]["racks"][:1]
    data["workloads"] = {"training": data["workloads"]["training"][:2]}
    assert isinstance(load_any(data), LoadedScenario)


def test_load_scenario_points_a_sites_document_to_load_any():
    (p,) = _single_problems(copy.deepcopy(SITES))
    assert p.path == "sites" and "load_any" in p.message


def _single_problems(data):
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    return list(info.value.problems)


# ----------------------------------------------------------------------------- one problem each
def test_a_problem_inside_a_site_is_named_at_its_place_in_the_sites_list():
    data = copy.deepcopy(SITES)
    data["sites"][1]["power_envelope"] = "lots"
    (p,) = sites_problems(data)
    assert p.path == "sites[1].power_envelope" and "lots" in p.message


def test_a_problem_of_a_sites_work_is_named_at_its_index_in_the_document():
    data = copy.deepcopy(SITES)
    data["workloads"]["training"][2]["site"] = "a"
    data["workloads"]["training"][2]["gpus"] = 64            # site a holds 16
    (p,) = sites_problems(data)
    assert p.path == "workloads.training[2].gpus"
    assert p.message.startswith("at site 'a': ") and "16" in p.message


def test_a_shared_section_problem_is_reported_once():
    data = copy.deepcopy(SITES)
    data["costs"] = {"water_price": "free"}
    problems = sites_problems(data)
    assert [p.path for p in problems] == ["costs.water_price"]


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda d: d.__setitem__("site", {"power_envelope": "1MW"}), "sites", "not both"),
    (lambda d: d["sites"][1].__setitem__("name", "a"), "sites[1].name", "unique"),
    (lambda d: d["cluster"]["racks"][0].pop("site"), "cluster.racks[0].site", "names its site"),
    (lambda d: d["cluster"]["racks"][0].__setitem__("site", "c"), "cluster.racks[0].site", "no site named 'c'"),
    (lambda d: d["workloads"]["training"][0].__setitem__("site", "c"), "workloads.training[0].site",
     "no site named 'c'"),
    (lambda d: d["workloads"]["inference"][0]["replicas_by_site"].__setitem__("z", 2),
     "workloads.inference[0].replicas_by_site.z", "no site named 'z'"),
    (lambda d: d["workloads"]["inference"][0].__setitem__("site", "a"), "workloads.inference[0].site",
     "leave it out"),
    (lambda d: d["workloads"]["inference"][0]["replicas_by_site"].__setitem__("b", 0),
     "workloads.inference[0].replicas_by_site.b", "at least 1 (got 0)"),
    (lambda d: d["workloads"]["inference"][0].__setitem__("replicas", 4), "workloads.inference[0].replicas",
     "not both"),
])
def test_bad_site_documents_give_one_problem_each(change, path, words):
    data = copy.deepcopy(SITES)
    change(data)
    problems = sites_problems(data)
    assert len(problems) == 1, problems
    assert problems[0].path == path and words in problems[0].message


def test_a_site_without_racks_is_refused():
    data = copy.deepcopy(SITES)
    data["cluster"]["racks"][1]["site"] = "a"
    data["workloads"] = {}
    (p,) = sites_problems(data)
    assert p.path == "sites[1]" and "no rack group" in p.message


def test_a_single_site_scenario_refuses_pins_to_another_site():
    data = {k: v for k, v in copy.deepcopy(SITES).items() if k != "sites"}
    data["site"] = {"name": "a", "power_envelope": "1MW"}
    data["cluster"]["racks"] = data["cluster"]["racks"][:1]
    data["workloads"] = {"training": [data["workloads"]["training"][0]]}
    data["workloads"]["training"][0]["site"] = "b"
    (p,) = sites_problems(data)
    assert p.path == "workloads.training[0].site" and "one site, 'a'" in p.message
    data["workloads"]["training"][0]["site"] = "a"
    assert isinstance(load_any(data), LoadedScenario)


def test_unpinned_work_goes_where_the_accelerators_are_in_service_at_its_start():
    data = copy.deepcopy(SITES)
    data["simulation"] = {"horizon": "30d", "sample_interval": "1h", "seed": 7, "start": "2027-01-01"}
    data["cluster"]["racks"][1]["available_from"] = "2027-01-10"      # b's 32 GPUs arrive on day 9
    data["workloads"]["training"][2]["start"] = "2d"                  # before: only a's 16 are in service
    data["workloads"]["training"].append({**data["workloads"]["training"][2], "name": "later", "start": "10d"})
    data["workloads"]["training"].append({**{k: v for k, v in data["workloads"]["training"][2].items()
                                             if k != "start"}, "name": "dated", "submit_at": "2027-01-11"})
    loaded = load_any(data)
    a, b = ([j.name for j in p.scenario.workloads.training] for p in loaded.parts)
    assert "placed" in a and "later" in b and "dated" in b


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["workloads"].__setitem__("training", {"name": "x"}), "workloads.training"),
    (lambda d: d["workloads"]["training"].append("oops"), "workloads.training[3]"),
    (lambda d: d["cluster"].__setitem__("racks", {"name": "r"}), "cluster.racks"),
    (lambda d: d["cluster"]["racks"].append(7), "cluster.racks[2]"),
])
def test_malformed_lists_are_reported_as_written_not_dropped(change, path):
    data = copy.deepcopy(SITES)
    change(data)
    paths = [p.path for p in sites_problems(data)]
    assert path in paths, paths
