"""A serving replica run iteration by iteration (one Numba kernel), as vLLM, TensorRT-LLM and
SGLang schedule it: continuous (in-flight) batching over a paged KV cache.

Each iteration the scheduler
1. gives every running sequence whose prompt is done its next decode token (``spec_tokens``
   per step with speculative decoding); with ``paged`` admission a sequence that fills its last
   block takes a new one, and when none is free the newest running sequence is preempted (its
   blocks freed, its prompt and generated tokens recomputed when it is readmitted: vLLM's
   RECOMPUTE policy);
2. fills the rest of the token budget (``max_num_batched_tokens``) with prompt tokens: first
   the unfinished prompts of running sequences, then new requests in arrival order while there
   are sequence slots (``max_num_seqs``) and KV blocks (``paged``: blocks for the prompt, keeping
   1% of blocks free as vLLM's watermark; ``reserve``: blocks for prompt and output, never
   preempted, TensorRT-LLM's GUARANTEED_NO_EVICT). With chunked prefill a prompt is split to fit
   the budget (Sarathi-Serve, Agrawal et al., OSDI 2024); without, a prompt goes whole into one
   iteration (alone if it is longer than the budget);
3. runs for the time the iteration model gives that mix (costmodel/serving_iteration.py), plus
   the engine's CPU time per iteration and per sequence (overlapped with the GPU when the
   engine schedules ahead).

Requests come from ``clients`` closed-loop clients, each sending its next request when the last
completes (AIPerf / genai-perf / ``vllm bench serve --max-concurrency``), their first requests
spread ``stagger`` seconds apart (the clients' phases in a steady closed loop; all at once for
the offline benchmark); enough clients keep the queue from ever emptying, which is the offline
maximum-throughput benchmark. Prompt and
output lengths cycle through the given arrays. The first ``warmup`` completions are not
measured; the run stops after ``measure`` more (or ``max_iters`` iterations).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from simulator.costmodel.jit import kernel
from simulator.costmodel.serving_iteration import ItCol, draft_cost, iteration_cost


class SchedCol(IntEnum):
    """Scheduler and workload settings of one simulation (a float64 vector)."""

    MAX_SEQS = 0
    BUDGET = 1
    CHUNKED = 2
    RESERVE = 3            # 1: reserve prompt + output at admission; 0: paged with preemption
    BLOCK = 4
    KV_BLOCKS = 5
    GRAPHS = 6
    GRAPH_MAX = 7
    MIXED_GRAPHS = 8
    ITER_OVERHEAD_S = 9
    SEQ_OVERHEAD_S = 10
    OVERLAP = 11
    PREFIX_HIT = 12        # share of each new prompt found in the prefix cache
    SPEC_K = 13            # draft tokens per step (0: no speculation)
    SPEC_TOKENS = 14       # expected tokens per target step (accepted + 1)
    PHASE = 15             # 0 prefill and decode, 1 prefill only, 2 decode only (prompt arrives cached)
    CLIENTS = 16
    WARMUP = 17
    MEASURE = 18
    MAX_ITERS = 19
    WATERMARK = 20         # share of blocks admission keeps free (paged)
    DRAFT_LAYERS = 21      # MTP/EAGLE: draft = this many target layers (0: a separate draft model)
    STAGGER_S = 22         # client k sends its first request at k * STAGGER_S


SCHED_LEN = len(SchedCol)


class OutCol(IntEnum):
    """Summary of one simulation."""

    T_START = 0
    T_END = 1
    COMPLETED = 2
    OUTPUT_TOKENS = 3
    ITERATIONS = 4
    DECODE_SEQS = 5        # sum over measured iterations
    PROMPT_TOKENS = 6
    ENERGY_J = 7
    PREEMPTIONS = 8
    RUNNING = 9            # time-weighted sum of running sequences
    STATUS = 10            # 0 ok, 1 a request can never be admitted, 2 iteration limit
    KV_USED = 11           # time-weighted sum of blocks held
    DECODE_ITERS = 12      # measured iterations that decoded
    DECODE_TIME = 13       # and their total time
    PREFILL_TIME = 14      # measured time of iterations that carry prompt tokens
    PROMPTS = 15           # prompts started in the measured window
    WAITING = 16           # time-weighted sum of requests waiting for admission


OUT_LEN = len(OutCol)


@kernel
def _blocks(tokens, block):
    return int(np.ceil(tokens / block - 1e-9))


@kernel
def simulate(sc, prompts, outputs, tokens, tok_gpu, tok_host, tok_w, tok_clock, comm, sampled, head_gpu,
             head_host, head_w, it, d_tokens, d_tok_gpu, d_tok_host, d_tok_w, d_tok_clock, d_comm, d_sampled,
             d_head_gpu, d_head_host, d_head_w, d_it, ttft_out, tpot_out, e2e_out, out):
    """Run the replica (see module docstring); per measured request fill ``ttft_out``,
    ``tpot_out``, ``e2e_out`` (NaN where not applicable) and the summary ``out`` (OutCol)."""
    max_seqs = int(sc[SchedCol.MAX_SEQS])
    budget = sc[SchedCol.BUDGET]
    chunked = sc[SchedCol.CHUNKED] > 0.5
    reserve = sc[SchedCol.RESERVE] > 0.5
    block = sc[SchedCol.BLOCK]
    total_blocks = int(sc[SchedCol.KV_BLOCKS])
    watermark = int(sc[SchedCol.WATERMARK] * total_blocks) if not reserve else 0
    phase = int(sc[SchedCol.PHASE])
    clients = int(sc[SchedCol.CLIENTS])
    warmup = int(sc[SchedCol.WARMUP])
    measure = int(sc[SchedCol.MEASURE])
    max_iters = int(sc[SchedCol.MAX_ITERS])
    hit = sc[SchedCol.PREFIX_HIT]
    spec_k = sc[SchedCol.SPEC_K]
    step_tokens = sc[SchedCol.SPEC_TOKENS] if spec_k > 0 else 1.0
    n_req = len(prompts)

    # running sequences
    active = np.zeros(max_seqs, dtype=np.bool_)
    s_req = np.zeros(max_seqs, dtype=np.int64)
    s_hold = np.zeros(max_seqs)        # prompt tokens the sequence must hold before decoding
    s_done = np.zeros(max_seqs)        # of which in the cache
    s_out = np.zeros(max_seqs)         # output tokens produced
    s_outlen = np.zeros(max_seqs)
    s_issue = np.zeros(max_seqs)
    s_first = np.zeros(max_seqs)
    s_blocks = np.zeros(max_seqs, dtype=np.int64)
    s_order = np.zeros(max_seqs, dtype=np.int64)
    # waiting queue (ring buffer): new requests at the tail, preempted ones at the head
    cap_q = clients + max_seqs + 2
    w_req = np.zeros(cap_q, dtype=np.int64)
    w_issue = np.zeros(cap_q)
    w_out = np.zeros(cap_q)
    w_first = np.zeros(cap_q)
    head = 0
    size = 0
    next_req = 0
    stagger = sc[SchedCol.STAGGER_S]
    started = 0                        # clients whose first request has been issued

    for j in range(OUT_LEN):
        out[j] = 0.0
    chunk_i = np.zeros(max_seqs)
    hi = 0                             # slots in use are below hi
    now = 0.0
    free_blocks = total_blocks
    running = 0
    order = 0
    completed = 0
    recorded = 0
    t_start = 0.0
    iters = 0
    measuring = warmup == 0
    while recorded < measure and iters < max_iters:
        iters += 1
        # ---- 0. clients starting (evenly spread over ``stagger`` each, or all at once)
        if started < clients and running == 0 and size == 0:
            now = max(now, started * stagger)
        while started < clients and started * stagger <= now:
            idx = (head + size) % cap_q
            w_req[idx] = next_req
            w_issue[idx] = started * stagger
            w_out[idx] = 0.0
            w_first[idx] = -1.0
            size += 1
            next_req += 1
            started += 1
        # ---- 1. decode tokens for every running sequence past its prompt
        d = 0
        keys = 0.0
        need = 0
        for i in range(hi):
            if active[i] and s_done[i] >= s_hold[i] and not reserve:
                ctx = s_hold[i] + s_out[i] + step_tokens
                need += max(_blocks(ctx, block) - s_blocks[i], 0)
        while need > free_blocks and running > 0:
            # preempt the newest running sequence (recompute later)
            victim = -1
            newest = -1
            for i in range(hi):
                if active[i] and s_order[i] > newest:
                    newest = s_order[i]
                    victim = i
            if s_done[victim] >= s_hold[victim]:
                ctx = s_hold[victim] + s_out[victim] + step_tokens
                need -= max(_blocks(ctx, block) - s_blocks[victim], 0)
            free_blocks += s_blocks[victim]
            active[victim] = False
            running -= 1
            head = (head - 1 + cap_q) % cap_q
            size += 1
            w_req[head] = s_req[victim]
            w_issue[head] = s_issue[victim]
            w_out[head] = s_out[victim]
            w_first[head] = s_first[victim]
            if measuring:
                out[OutCol.PREEMPTIONS] += 1.0
        dec_tokens = 0.0
        for i in range(hi):
            if active[i] and s_done[i] >= s_hold[i]:
                d += 1
                keys += s_hold[i] + s_out[i]
                dec_tokens += 1.0 + spec_k
                if not reserve:
                    ctx = s_hold[i] + s_out[i] + step_tokens
                    extra = max(_blocks(ctx, block) - s_blocks[i], 0)
                    s_blocks[i] += extra
                    free_blocks -= extra
        # ---- 2. prompt tokens up to the budget
        room = budget - dec_tokens
        p_tokens = 0.0
        attn_work = 0.0
        n_pref = 0
        n_sampled = float(d)
        for i in range(hi):
            chunk_i[i] = 0.0
        for i in range(hi):
            if room <= 0:
                break
            if active[i] and s_done[i] < s_hold[i]:
                c = min(s_hold[i] - s_done[i], room) if chunked else s_hold[i] - s_done[i]
                if not chunked and c > room and p_tokens > 0:
                    continue
                chunk_i[i] = c
                room -= c
                p_tokens += c
                n_pref += 1
        n_new = 0
        while size > 0 and running < max_seqs and (room > 0 or (not chunked and p_tokens == 0)):
            r = w_req[head]
            prompt = prompts[r % n_req]
            outlen = outputs[r % n_req]
            recompute = w_out[head]
            cached = 0.0
            if recompute == 0 and hit > 0:
                cached = np.floor(prompt * hit)
            hold = prompt + recompute
            if phase == 2:
                cached = prompt
                if recompute == 0:
                    recompute = 1.0
                    hold = prompt + 1.0
            if reserve and phase != 1:
                nb = _blocks(prompt + outlen, block)
            else:
                nb = _blocks(hold, block)
            if nb > total_blocks - watermark:
                out[OutCol.STATUS] = 1.0
                return
            if nb > free_blocks - watermark:
                break
            todo = hold - cached
            if chunked:
                c = min(todo, room)
            else:
                if todo > room and p_tokens > 0:
                    break
                c = todo
            slot = -1
            for i in range(max_seqs):
                if not active[i]:
                    slot = i
                    break
            active[slot] = True
            hi = max(hi, slot + 1)
            running += 1
            s_req[slot] = r
            s_hold[slot] = hold
            s_done[slot] = cached
            s_out[slot] = recompute
            s_outlen[slot] = outlen
            s_issue[slot] = w_issue[head]
            s_first[slot] = w_first[head]
            s_blocks[slot] = nb
            s_order[slot] = order
            order += 1
            free_blocks -= nb
            head = (head + 1) % cap_q
            size -= 1
            chunk_i[slot] = c
            room -= c
            p_tokens += c
            n_pref += 1
            n_new += 1
        for i in range(hi):
            c = chunk_i[i]
            if c > 0:
                prior = s_done[i]
                work = it[ItCol.ATTN_FLOP_PER_TOKEN] * c * (prior + 0.5 * (c + 1.0))
                attn_work += work * (c + it[ItCol.ATTN_SEQ0]) / c
                if s_done[i] + c >= s_hold[i]:
                    n_sampled += 1.0
        if d == 0 and n_pref == 0:
            if running == 0 and size == 0:
                break
            out[OutCol.STATUS] = 1.0
            return
        # ---- 3. iteration time
        t_tok = dec_tokens + p_tokens
        graph_ok = sc[SchedCol.GRAPHS] > 0.5 and n_pref == 0 and d <= sc[SchedCol.GRAPH_MAX]
        dt, energy = iteration_cost(t_tok, n_sampled, d, keys, attn_work, graph_ok, sc[SchedCol.MIXED_GRAPHS] > 0.5,
                                    tokens, tok_gpu, tok_host, tok_w, tok_clock, comm, sampled, head_gpu, head_host,
                                    head_w, it)
        if spec_k > 0 and d > 0:
            ddt, de = draft_cost(spec_k, d, keys, d_tokens, d_tok_gpu, d_tok_host, d_tok_w, d_tok_clock,
                                  d_comm, d_sampled, d_head_gpu, d_head_host, d_head_w, d_it)
            dt += ddt
            energy += de
        cpu = sc[SchedCol.ITER_OVERHEAD_S] + sc[SchedCol.SEQ_OVERHEAD_S] * (d + n_pref)
        if sc[SchedCol.OVERLAP] > 0.5:
            if cpu > dt:
                energy += (cpu - dt) * it[ItCol.IDLE_W]
                dt = cpu
        else:
            energy += cpu * it[ItCol.IDLE_W]
            dt += cpu
        now += dt
        if measuring:
            out[OutCol.ITERATIONS] += 1.0
            out[OutCol.DECODE_SEQS] += d
            out[OutCol.PROMPT_TOKENS] += p_tokens
            out[OutCol.ENERGY_J] += energy
            out[OutCol.RUNNING] += running * dt
            out[OutCol.KV_USED] += (total_blocks - free_blocks) * dt
            out[OutCol.WAITING] += size * dt
            if d > 0:
                out[OutCol.DECODE_ITERS] += 1.0
                out[OutCol.DECODE_TIME] += dt
            if n_pref > 0:
                out[OutCol.PREFILL_TIME] += dt
                out[OutCol.PROMPTS] += n_new
        # ---- 4. advance sequences
        for i in range(hi):
            if not active[i]:
                continue
            finished = False
            if chunk_i[i] > 0:
                s_done[i] += chunk_i[i]
                if s_done[i] >= s_hold[i]:
                    s_out[i] += 1.0
                    if s_first[i] < 0:
                        s_first[i] = now
                    if phase == 1:
                        finished = True
            elif s_done[i] >= s_hold[i]:
                s_out[i] += step_tokens
            if s_out[i] >= s_outlen[i] - 1e-9:
                finished = True
            if not finished:
                continue
            active[i] = False
            running -= 1
            free_blocks += s_blocks[i]
            completed += 1
            if measuring:
                if recorded < measure:
                    e2e = now - s_issue[i]
                    ttft = s_first[i] - s_issue[i] if phase != 2 else np.nan
                    ttft_out[recorded] = ttft
                    e2e_out[recorded] = e2e
                    n_out = s_outlen[i]
                    if phase == 1 or n_out <= 1:
                        tpot_out[recorded] = np.nan
                    elif phase == 2:
                        tpot_out[recorded] = e2e / (n_out - 1.0)
                    else:
                        tpot_out[recorded] = (now - s_first[i]) / (n_out - 1.0)
                    recorded += 1
                    out[OutCol.OUTPUT_TOKENS] += n_out
            elif completed >= warmup:
                measuring = True
                t_start = now
            # the client sends its next request now
            idx = (head + size) % cap_q
            w_req[idx] = next_req
            w_issue[idx] = now
            w_out[idx] = 0.0
            w_first[idx] = -1.0
            size += 1
            next_req += 1
    out[OutCol.T_START] = t_start
    out[OutCol.T_END] = now
    out[OutCol.COMPLETED] = recorded
    if iters >= max_iters and recorded < measure:
        out[OutCol.STATUS] = 2.0
