"""Scheduling: the EASY-backfill scheduler of hand-written training jobs (easy.py) and the
trace replay of a job table under a scheduler policy (replay.py: fifo, priority with
preemption, easy-backfill, fair-share; pool.py places gangs, topology-aware or first-fit)."""
