"""The iteration-level serving simulation (costmodel/serving_sim.py) against hand calculations,
on a replica whose every iteration costs the same ``ALPHA`` seconds: closed loops, the KV
cache's admission limit, chunked prefill, preemption, speculative decoding."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.costmodel.serving_iteration import IT_LEN, ItCol
from simulator.costmodel.serving_sim import OUT_LEN, SCHED_LEN, OutCol, SchedCol, simulate

ALPHA = 0.01


def flat_tables():
    """An iteration model where the token part costs ALPHA whatever the mix (no attention, no
    head, no all-reduce, no launch)."""
    tokens = np.array([1.0, 1e7])
    flat = np.array([ALPHA, ALPHA])
    zero = np.zeros(2)
    it = np.zeros(IT_LEN)
    it[ItCol.LAYERS] = 1.0
    it[ItCol.ATTN_SEQ0] = 1.0
    it[ItCol.DECODE_STRETCH] = 1.0
    it[ItCol.IDLE_W] = 100.0
    return (tokens, flat, zero, np.full(2, 500.0), np.ones(2), zero, tokens, zero, zero, zero, it)


def run(prompt, output, clients, *, kv_tokens=10**7, block=16, budget=8192, max_seqs=256, chunked=False,
        reserve=True, measure=None, warmup=None, spec_k=0, spec_tokens=1.0, stagger=0.0):
    sc = np.zeros(SCHED_LEN)
    sc[SchedCol.MAX_SEQS] = max_seqs
    sc[SchedCol.BUDGET] = budget
    sc[SchedCol.CHUNKED] = float(chunked)
    sc[SchedCol.RESERVE] = float(reserve)
    sc[SchedCol.BLOCK] = block
    sc[SchedCol.KV_BLOCKS] = kv_tokens // block
    sc[SchedCol.SPEC_K] = spec_k
    sc[SchedCol.SPEC_TOKENS] = spec_tokens
    sc[SchedCol.CLIENTS] = clients
    sc[SchedCol.WARMUP] = clients if warmup is None else warmup
    measure = measure or 4 * clients
    sc[SchedCol.MEASURE] = measure
    sc[SchedCol.MAX_ITERS] = 1_000_000
    sc[SchedCol.STAGGER_S] = stagger
    ttft, tpot, e2e = (np.full(measure, np.nan) for _ in range(3))
    out = np.zeros(OUT_LEN)
    tables = flat_tables()
    simulate(sc, np.array([float(prompt)]), np.array([float(output)]), *tables, *tables, ttft, tpot, e2e, out)
    span = out[OutCol.T_END] - out[OutCol.T_START]
    return out, ttft, tpot, e2e, span


def test_one_client_takes_one_prefill_and_output_minus_one_decode_iterations():
    out, ttft, tpot, e2e, span = run(512, 100, 1)
    assert np.allclose(ttft, ALPHA) and np.allclose(tpot, ALPHA) and np.allclose(e2e, 100 * ALPHA)
    assert out[OutCol.COMPLETED] / span == pytest.approx(1 / (100 * ALPHA))


def test_clients_in_lock_step_share_every_iteration():
    # 8 prompts of 512 fit one 8192-token iteration: the 8 requests run together, 8 per 100 ALPHA.
    out, _ttft, _, _, span = run(512, 100, 8)
    assert out[OutCol.COMPLETED] / span == pytest.approx(8 / (100 * ALPHA))
    assert out[OutCol.RUNNING] / span == pytest.approx(8.0)


def test_the_kv_cache_admits_whole_requests_under_reserve_admission():
    # Each request reserves 64 + 64 = 128 tokens (8 blocks of 16); 1,000 tokens hold 7 of them
    # (62 blocks): 7 run together, in waves of 64 iterations.
    out, _, _, _, span = run(64, 64, 20, kv_tokens=1000, measure=70, warmup=14)
    assert out[OutCol.RUNNING] / span == pytest.approx(7.0, rel=1e-6)
    assert out[OutCol.COMPLETED] / span == pytest.approx(7 / (64 * ALPHA), rel=1e-6)
    assert out[OutCol.PREEMPTIONS] == 0


def test_paged_admission_takes_more_and_preempts_when_the_blocks_run_out():
    # The same cache admits by prompt blocks (4 each, 1% kept free): more sequences start, and
    # as their outputs grow the newest are preempted and recomputed.
    reserve, _, _, _, s1 = run(64, 64, 20, kv_tokens=1000, measure=70, warmup=14)
    paged, _, _, _, s2 = run(64, 64, 20, kv_tokens=1000, measure=70, warmup=14, reserve=False)
    assert paged[OutCol.PREEMPTIONS] > 0
    assert paged[OutCol.RUNNING] / s2 > reserve[OutCol.RUNNING] / s1


def test_chunked_prefill_splits_a_long_prompt_over_the_budget():
    # 5000 prompt tokens at 2048 per iteration: 3 iterations to the first token.
    _, ttft, tpot, _, _ = run(5000, 10, 1, budget=2048, chunked=True)
    assert np.allclose(ttft, 3 * ALPHA) and np.allclose(tpot, ALPHA)
    # Without chunking the prompt goes whole into one iteration (alone, beyond the budget).
    _, ttft, _, _, _ = run(5000, 10, 1, budget=2048, chunked=False)
    assert np.allclose(ttft, ALPHA)


def test_speculative_decoding_yields_its_tokens_per_step():
    # 2.5 tokens per target step: 99 decode tokens take ceil(99 / 2.5) = 40 steps.
    _, _ttft, _tpot, e2e, _ = run(64, 100, 1, spec_k=3, spec_tokens=2.5)
    draft = 3 * ALPHA                                  # the draft costs 3 flat iterations per step
    assert np.allclose(e2e, ALPHA + 40 * (ALPHA + draft))


def test_staggered_clients_do_not_share_their_prefills():
    # Four clients 25 ALPHA apart: each prompt has an iteration of its own.
    out, ttft, _, _, _span = run(512, 100, 4, stagger=25 * ALPHA)
    assert np.allclose(ttft, ALPHA)
    assert out[OutCol.PROMPTS] == pytest.approx(out[OutCol.COMPLETED], abs=4)
