"""Fair share for hand-written training jobs (scheduler: {type: fair-share}), worked out by hand on
a 32-GPU cluster of four 8-GPU nodes: a 32-GPU job of tenant c holds it until T while jobs of
tenants a and b queue (submitted at 1 h); each takes one node for the same time D."""

from __future__ import annotations

import pytest

from simulator import api

JOB = {"model": "gpt3-1.3b", "tokens": "2B", "global_batch": 64, "seq": 2048, "gpus": 8}


BLOCKER = {"name": "c0", "tenant": "c", **JOB, "gpus": 32, "tokens": "8B"}


def run(jobs: list[tuple[str, str]], scheduler: dict | None = None, blocker: bool = True):
    sc = {
        "name": "fair",
        "simulation": {"horizon": "10d", "sample_interval": "1h", "seed": 1},
        "site": {"power_envelope": "5MW", "climate": "temperate"},
        "cluster": {"racks": [{"name": "a", "node": "dgx-h100", "nodes_per_rack": 4, "count": 1}]},
        "workloads": {"training": [BLOCKER] * blocker
                      + [{"name": name, "tenant": tenant, **JOB, "start": "1h"} for name, tenant in jobs]},
    }
    if scheduler is not None:
        sc["scheduler"] = scheduler
    return api.simulate(sc).jobs.set_index("job")


FOUR_A_TWO_B = [("a1", "a"), ("a2", "a"), ("a3", "a"), ("a4", "a"), ("b1", "b"), ("b2", "b")]


@pytest.fixture(scope="module")
def times() -> tuple[float, float]:
    """(T, D): when the blocker ends, and one node-job's run time, each from a run of it alone."""
    one = run([("only", "a")], blocker=False).loc["only"]
    blocker = run([]).loc["c0"]
    assert blocker["end_s"] > 3600.0
    return float(blocker["end_s"]), float(one["end_s"] - one["start_s"])


def test_without_fair_share_the_first_tenant_takes_every_node(times):
    t, d = times
    jobs = run(FOUR_A_TWO_B)
    assert jobs.loc[["a1", "a2", "a3", "a4"], "start_s"].to_numpy() == pytest.approx([t] * 4, rel=1e-9)
    assert jobs.loc["b1", "start_s"] == pytest.approx(t + d, rel=1e-9)


def test_fair_share_gives_each_tenant_its_turn(times):
    """Shares a 0.75, b 0.25 (c, unlisted, gets what is left: none). At T: a (0/0.75 ties 0/0.25:
    the lower index), then b (0 < 8/0.75), then a (10.7 < 8/0.25 = 32), then a (21.3 < 32): a1,
    b1, a2, a3 start; a4 and b2 wait for them, until T + D."""
    t, d = times
    jobs = run(FOUR_A_TWO_B, {"type": "fair-share", "tenants": {"a": {"share": 0.75}, "b": {"share": 0.25}}})
    assert jobs.loc[["a1", "a2", "a3", "b1"], "start_s"].to_numpy() == pytest.approx([t] * 4, rel=1e-9)
    assert jobs.loc[["a4", "b2"], "start_s"].to_numpy() == pytest.approx([t + d] * 2, rel=1e-9)


def test_without_borrowing_a_tenant_stays_within_its_share(times):
    """a's share of 0.75 is 24 GPUs: its fourth job waits for one of its own to end, though a node
    is free (no blocker here)."""
    _, d = times
    quota = {"a": {"share": 0.75}, "b": {"share": 0.25}}
    jobs = run(FOUR_A_TWO_B[:4], {"type": "fair-share", "tenants": quota, "borrow": False}, blocker=False)
    assert jobs.loc[["a1", "a2", "a3"], "start_s"].to_numpy() == pytest.approx([3600.0] * 3, rel=1e-9)
    assert jobs.loc["a4", "start_s"] == pytest.approx(3600.0 + d, rel=1e-9)
    borrowed = run(FOUR_A_TWO_B[:4], {"type": "fair-share", "tenants": quota}, blocker=False)
    assert borrowed["start_s"].to_numpy() == pytest.approx([3600.0] * 4, rel=1e-9)
