"""The trace replay under each policy, on tiny clusters where the schedule is worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator.engine.scheduling.pool import LEAF, NODE, RACK, TracePool
from simulator.engine.scheduling.replay import Replay
from simulator.engine.trace.table import from_frame
from simulator.scenario.scheduling import EasyBackfill, FairShare, Fifo, PriorityPreemptive


def _table(rows):
    frame = pd.DataFrame(rows)
    table, problems = from_frame(frame, "trace")
    assert not problems, problems
    return table


def _run(rows, policy, nodes=2, gpn=8, npr=1, leaf=1, horizon=1e6):
    pools = [TracePool(nodes, gpn, npr, leaf, policy.placement == "topology")]
    return Replay(_table(rows), pools, policy, horizon).run()


# Two 8-GPU nodes. Job 0: 16 GPUs from t=0 for 100 s. Job 1: 16 GPUs at t=1 for 100 s (waits
# for job 0: starts at 100). Job 2: 8 GPUs at t=2 for 10 s.
ROWS = [{"submit_s": 0.0, "gpus": 16, "duration_s": 100.0},
        {"submit_s": 1.0, "gpus": 16, "duration_s": 100.0},
        {"submit_s": 2.0, "gpus": 8, "duration_s": 10.0}]


def test_fifo_keeps_submission_order():
    r = _run(ROWS, Fifo())
    # job 2 fits nowhere until job 0 ends; then job 1 (older) takes both nodes; job 2 after it
    assert r.start_s.tolist() == [0.0, 100.0, 200.0]
    assert r.end_s.tolist() == [100.0, 200.0, 210.0]


def test_easy_backfill_starts_a_short_job_that_cannot_delay_the_head():
    rows = [{"submit_s": 0.0, "gpus": 8, "duration_s": 100.0},
            {"submit_s": 1.0, "gpus": 16, "duration_s": 100.0},     # head: blocked until 100
            {"submit_s": 2.0, "gpus": 8, "duration_s": 50.0},       # ends at 52 <= 100: backfills
            {"submit_s": 3.0, "gpus": 8, "duration_s": 500.0}]      # would delay the head: waits
    r = _run(rows, EasyBackfill())
    assert r.start_s.tolist() == [0.0, 100.0, 2.0, 200.0]
    f = _run(rows, Fifo())
    assert f.start_s.tolist() == [0.0, 100.0, 200.0, 200.0]


def test_small_jobs_share_a_node_best_fit():
    rows = [{"submit_s": 0.0, "gpus": 3, "duration_s": 10.0},
            {"submit_s": 0.0, "gpus": 5, "duration_s": 10.0},
            {"submit_s": 0.0, "gpus": 8, "duration_s": 10.0}]
    r = _run(rows, Fifo())
    assert r.start_s.tolist() == [0.0, 0.0, 0.0]          # 3 + 5 on one node, 8 on the other
    assert r.locality.tolist() == [NODE, NODE, RACK]


def test_preemption_requeues_with_checkpoint_and_restore_cost():
    rows = [{"submit_s": 0.0, "gpus": 16, "duration_s": 1000.0, "priority": 0},
            {"submit_s": 100.0, "gpus": 8, "duration_s": 50.0, "priority": 5}]
    policy = PriorityPreemptive(preemption_cost=30.0, checkpoint_interval=40.0)
    r = _run(rows, policy)
    # at 100 the low-priority job stops: it kept 80 s (two 40 s checkpoints), so 920 s are
    # left plus the 30 s restore; the urgent job runs 100..150, the other restarts at 150.
    assert r.preemptions.tolist() == [1, 0]
    assert r.start_s.tolist() == [0.0, 100.0]
    assert r.end_s[1] == 150.0
    assert r.end_s[0] == pytest.approx(150.0 + 920.0 + 30.0)


def test_fair_share_serves_the_tenant_below_its_share():
    # one node: a's first two jobs fill it (0-100, 1-101); at 100 four GPUs free up and both
    # tenants wait: b (0 held) goes first although a's job is older; a's follows at 101.
    rows = [{"submit_s": 0.0, "gpus": 4, "duration_s": 100.0, "tenant": "a"},
            {"submit_s": 1.0, "gpus": 4, "duration_s": 100.0, "tenant": "a"},
            {"submit_s": 5.0, "gpus": 4, "duration_s": 100.0, "tenant": "a"},
            {"submit_s": 6.0, "gpus": 4, "duration_s": 100.0, "tenant": "b"}]
    r = _run(rows, FairShare(), nodes=1)
    assert r.start_s.tolist() == [0.0, 1.0, 101.0, 100.0]
    shares = {"a": {"share": 0.5}, "b": {"share": 0.5}}
    # without borrowing, a may hold only 4 of the 8 GPUs: its second job waits for its first
    q = _run(rows, FairShare(tenants=shares, borrow=False), nodes=1)
    assert q.start_s.tolist() == [0.0, 100.0, 200.0, 6.0]


def test_topology_placement_keeps_a_gang_in_one_rack():
    # 4 racks of 2 nodes, 2 racks per leaf. Job 0 takes node 0 (rack 0 half full); a 2-node
    # gang then fits in one rack: first-fit spreads it over racks 0-1, topology takes rack 1.
    rows = [{"submit_s": 0.0, "gpus": 8, "duration_s": 100.0},
            {"submit_s": 1.0, "gpus": 16, "duration_s": 100.0},
            {"submit_s": 2.0, "gpus": 48, "duration_s": 100.0}]
    topo = _run(rows, Fifo(placement="topology"), nodes=8, npr=2, leaf=2)
    first = _run(rows, Fifo(placement="first-fit"), nodes=8, npr=2, leaf=2)
    assert topo.locality[1] == RACK
    assert first.locality[1] == LEAF
    assert topo.start_s.tolist() == [0.0, 1.0, 100.0]   # 6 nodes wanted, 5 free until job 0 ends


def test_elastic_job_starts_on_fewer_gpus_and_runs_longer():
    rows = [{"submit_s": 0.0, "gpus": 8, "duration_s": 100.0},
            {"submit_s": 1.0, "gpus": 16, "duration_s": 100.0, "min_gpus": 8}]
    r = _run(rows, Fifo(elastic=True))
    assert r.start_s.tolist() == [0.0, 1.0]
    assert r.gpus_alloc.tolist() == [8, 8]
    assert r.end_s[1] == pytest.approx(201.0)             # 1600 GPU-s of work on 8 GPUs
    rigid = _run(rows, Fifo())
    assert rigid.start_s[1] == 100.0


def test_fragmentation_counts_idle_gpus_while_a_job_waits():
    rows = [{"submit_s": 0.0, "gpus": 4, "duration_s": 100.0},
            {"submit_s": 10.0, "gpus": 16, "duration_s": 10.0}]
    r = _run(rows, Fifo(), horizon=200.0)
    # 10..100: 12 GPUs idle while the 16-GPU job waits
    assert r.idle_while_waiting_gpu_s == pytest.approx(90.0 * 12)
    assert r.held_gpu_s == pytest.approx(100 * 4 + 10 * 16)


def test_replay_is_deterministic_and_the_cost_is_linear_in_jobs():
    from simulator.engine.trace.synth import synthesize
    frame = synthesize("philly", 2.0, seed=3, gpus=512)
    table, _ = from_frame(frame, "t")
    runs = [Replay(table, [TracePool(64, 8, 4, 4, True)], EasyBackfill(), 2 * 86400).run() for _ in range(2)]
    assert np.array_equal(runs[0].start_s, runs[1].start_s, equal_nan=True)
