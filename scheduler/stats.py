"""The scheduler's statistics since the controller started (or since ``sdiag --reset``).

What ``sdiag`` and the REST API's ``diag`` show. Each scheduling cycle adds itself
(``record``); the job counters are counted from the job rows themselves; the RPC
counts come from :mod:`scheduler.rpcstats`. Kept in
the shared cache (Redis in production, where the cycle runs in the worker and the
question comes to the web process; the process's memory when embedded), so a
restart of the cache starts them again, as a restart of slurmctld does Slurm's.

Every cycle counts in the main section; those that also ran the backfill pass
(scheduler/passes.py: every ``bf_interval``, or at once when the main pass left
CPUs free while jobs wait) count in the backfill section too. Definitions:

* depth: the pending jobs (array tasks counted one by one) the core examined;
  "try" depth: those of them eligible to start (no hold, dependency, begin time);
* queue length: the pending rows;
* table size: the reservations the backfill plan made;
* backfilled jobs: the starts of the backfill pass, made behind a job the main pass
  stopped at (``Decision.backfilled``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from scheduler import rpcstats
from scheduler.kick import shared_cache
from scheduler.models import AgentOrder, Job, JobState

KEY = "drover:scheduler-stats"
#: Ended states that sdiag counts as failed.
FAILED = (JobState.FAILED, JobState.TIMEOUT, JobState.NODE_FAIL, JobState.OUT_OF_MEMORY)


@dataclass(slots=True)
class Totals:
    """The running sums behind the figures (what the cache holds): every cycle's, and
    those of the cycles that ran the backfill pass (``bf_``)."""

    since: float
    cycles: int = 0
    last_us: int = 0
    max_us: int = 0
    total_us: int = 0
    total_depth: int = 0
    last_queue: int = 0
    bf_cycles: int = 0
    bf_when: float = 0.0  # the last backfill cycle's end
    bf_last_us: int = 0
    bf_max_us: int = 0
    bf_total_us: int = 0
    bf_last_depth: int = 0
    bf_last_depth_try: int = 0
    bf_total_depth: int = 0
    bf_total_depth_try: int = 0
    bf_last_queue: int = 0
    bf_total_queue: int = 0
    bf_last_table: int = 0
    bf_total_table: int = 0
    backfilled: int = 0


@dataclass(frozen=True, slots=True)
class Cycle:
    """What one cycle reports."""

    seconds: float
    depth: int
    depth_try: int
    queue: int
    planned: int
    backfilled: int
    backfill: bool


def _load() -> Totals:
    stored = shared_cache().get(KEY)
    if not stored:
        return Totals(since=time.time())
    known = {f.name for f in fields(Totals)}  # sums kept by an earlier version are dropped
    return Totals(**{k: v for k, v in stored.items() if k in known})


def record(cycle: Cycle, now: float | None = None) -> None:
    """Add one cycle (called by the cycle's leader: one at a time)."""
    t = _load()
    us = int(cycle.seconds * 1_000_000)
    t.cycles += 1
    t.last_us, t.max_us, t.total_us = us, max(t.max_us, us), t.total_us + us
    t.total_depth += cycle.depth
    t.last_queue = cycle.queue
    t.backfilled += cycle.backfilled
    if cycle.backfill:
        t.bf_cycles += 1
        t.bf_when = time.time() if now is None else now
        t.bf_last_us, t.bf_max_us, t.bf_total_us = us, max(t.bf_max_us, us), t.bf_total_us + us
        t.bf_last_depth, t.bf_total_depth = cycle.depth, t.bf_total_depth + cycle.depth
        t.bf_last_depth_try = cycle.depth_try
        t.bf_total_depth_try += cycle.depth_try
        t.bf_last_queue, t.bf_total_queue = cycle.queue, t.bf_total_queue + cycle.queue
        t.bf_last_table, t.bf_total_table = cycle.planned, t.bf_total_table + cycle.planned
    shared_cache().set(KEY, asdict(t), None)


def reset(now: float | None = None) -> None:
    """Start the figures again (``sdiag --reset``), the RPC counts with them."""
    shared_cache().set(KEY, asdict(Totals(since=time.time() if now is None else now)), None)
    rpcstats.reset()


def _mean(total: int, n: int) -> int:
    return total // n if n else 0


def _per_minute(cycles: int, since: float, now: float) -> int:
    minutes = (now - since) / 60
    return int(cycles / minutes) if minutes >= 1 else cycles


def figures(now: float | None = None) -> dict[str, Any]:
    """Every figure sdiag prints, under the names of slurmrestd's ``diag`` statistics."""
    now = time.time() if now is None else now
    t = _load()
    since = datetime.fromtimestamp(t.since).astimezone()
    ended = Q(end_time__gte=since)
    jobs = Job.objects.aggregate(
        submitted=Count("id", filter=Q(submit_time__gte=since)),
        started=Count("id", filter=Q(start_time__gte=since)),
        pending=Count("id", filter=Q(state=JobState.PENDING)),
        running=Count("id", filter=Q(state=JobState.RUNNING)),
        completed=Count("id", filter=ended & Q(state=JobState.COMPLETED)),
        canceled=Count("id", filter=ended & Q(state=JobState.CANCELLED)),
        failed=Count("id", filter=ended & Q(state__in=FAILED)))
    return {
        "req_time": int(now), "req_time_start": int(t.since),
        # the threads that answer requests (this one among them)
        "server_thread_count": max(1, sum(th.name.startswith("request")
                                          for th in threading.enumerate())),
        "agent_queue_size": AgentOrder.objects.filter(acked__isnull=True).count(),
        "gettimeofday_latency": _clock_latency_us(),
        "jobs_submitted": jobs["submitted"], "jobs_started": jobs["started"],
        "jobs_completed": jobs["completed"], "jobs_canceled": jobs["canceled"],
        "jobs_failed": jobs["failed"], "jobs_pending": jobs["pending"],
        "jobs_running": jobs["running"], "job_states_ts": int(now),
        "schedule_cycle_last": t.last_us, "schedule_cycle_max": t.max_us,
        "schedule_cycle_total": t.cycles, "schedule_cycle_mean": _mean(t.total_us, t.cycles),
        "schedule_cycle_mean_depth": _mean(t.total_depth, t.cycles),
        "schedule_cycle_per_minute": _per_minute(t.cycles, t.since, now),
        "schedule_queue_length": t.last_queue,
        **_backfill(t),
        "bf_active": False,
        **rpcstats.figures(),
    }


def _backfill(t: Totals) -> dict[str, Any]:
    """The backfill section: the cycles that ran the backfill pass."""
    n = t.bf_cycles
    return {
        "bf_backfilled_jobs": t.backfilled, "bf_last_backfilled_jobs": t.backfilled,
        "bf_backfilled_het_jobs": 0, "bf_cycle_counter": n,
        "bf_cycle_mean": _mean(t.bf_total_us, n), "bf_depth_mean": _mean(t.bf_total_depth, n),
        "bf_depth_mean_try": _mean(t.bf_total_depth_try, n),
        "bf_cycle_last": t.bf_last_us, "bf_cycle_max": t.bf_max_us,
        "bf_last_depth": t.bf_last_depth, "bf_last_depth_try": t.bf_last_depth_try,
        "bf_queue_len": t.bf_last_queue, "bf_queue_len_mean": _mean(t.bf_total_queue, n),
        "bf_table_size": t.bf_last_table, "bf_table_size_mean": _mean(t.bf_total_table, n),
        "bf_when_last_cycle": int(t.bf_when) if n else None,
    }


def _clock_latency_us() -> int:
    """Microseconds for 1,000 readings of the clock, as sdiag measures gettimeofday()."""
    t0 = time.perf_counter()
    for _ in range(1000):
        time.time()
    return int((time.perf_counter() - t0) * 1_000_000)
