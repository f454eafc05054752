"""Priority preemption for the training jobs written in the scenario (``scheduler: {type:
priority}``): when the head of the queue fits on none of its rack groups, running jobs of strictly
lower priority on one group make room. They are taken lowest priority first and, within a
priority, latest started first (they have run the least since starting); the group that needs
the fewest preempted GPUs is chosen. A preempted job checkpoints, gives its nodes back and
requeues with its first submit time; it pays the policy's ``preemption_cost`` on its GPUs when
it runs again. Strict priority order means no job can preempt one that preempted it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from simulator.engine.cluster import Group
from simulator.engine.training import JobRun


def victims(head: JobRun, eligible: Sequence[Group], free_nodes: Callable[[Group], int],
            running: Sequence[JobRun], power_allows: Callable[[JobRun, Group], bool]) -> list[JobRun]:
    """The running jobs to preempt so that ``head`` fits, or [] when no group can make room
    (too few lower-priority nodes, or the site's power would not admit it there anyway)."""
    best: tuple[int, list[JobRun]] | None = None
    for group in eligible:
        need = group.nodes_for(head.gpus)
        free = free_nodes(group)
        lower = sorted((j for j in running if j.group == group.index and j.config.priority < head.config.priority),
                       key=lambda j: (j.config.priority, -j.start_s, -j.index))
        chosen: list[JobRun] = []
        for job in lower:
            if free >= need:
                break
            chosen.append(job)
            free += len(job.node_ids)
        if free < need or not chosen or not power_allows(head, group):
            continue
        gpus = sum(j.gpus for j in chosen)
        if best is None or gpus < best[0]:
            best = (gpus, chosen)
    return best[1] if best is not None else []
