"""Which passes a scheduling cycle runs, as slurmctld splits them.

Slurm's main scheduler runs on every event (a job submitted or ended) and starts
jobs in priority order while they fit; its backfill scheduler, which plans every
pending job (the expected starts ``squeue --start`` shows) and starts lower jobs
that delay no one, runs every ``bf_interval`` seconds (SchedulerParameters,
default 30). Drover's cycle does the same: the core's main pass alone, and the
backfill pass as well when ``bf_interval`` has passed since this process last ran
it (``bf_interval=0``: every cycle). Unlike Slurm it does not wait for the interval
when the main pass leaves CPUs free while jobs wait: the backfill might start one
of them now, so it runs at once. When no CPU is left free no job can start, so
the main pass alone decides the same starts; only the expected starts wait (the
rows keep the last backfill's). Under preemption every cycle plans (the choice of
victims reads the whole plan's outcome).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from scheduler import config as conf
from scheduler.core import types as core

BF_INTERVAL_S = 30  # Slurm's default

_last_backfill = float("-inf")  # time.monotonic() of this process's last backfill pass


def interval_s() -> int:
    try:
        return int(conf.scheduler_parameters().get("bf_interval") or BF_INTERVAL_S)
    except ValueError:
        return BF_INTERVAL_S


def backfill_due(config: core.SchedConfig) -> bool:
    """Whether this cycle should run the backfill pass from the start."""
    if not config.backfill:
        return False
    preempting = (conf.get("PreemptType") or "preempt/none").strip().lower() != "preempt/none"
    return preempting or time.monotonic() - _last_backfill >= interval_s()


def room_left(snapshot: core.Snapshot, starts: Sequence[core.Start]) -> bool:
    """Whether, after the main pass's ``starts``, a CPU is free on a node that takes jobs
    while an eligible job still waits: only then may the backfill start one now."""
    started = {(s.job_id, s.array_task_id) for s in starts}
    if all(not j.eligible or j.key in started for j in snapshot.pending):
        return False
    taken: dict[str, int] = {}
    for s in starts:
        for g in s.grants:
            taken[g.node] = taken.get(g.node, 0) + g.cpus
    return any(n.available and n.cpus - n.alloc_cpus - taken.get(n.name, 0) > 0
               for n in snapshot.nodes)


def backfilled() -> None:
    """A cycle just ran the backfill pass."""
    global _last_backfill
    _last_backfill = time.monotonic()
