"""In-process profile of one controller scheduling cycle with many pending jobs.

    python -m pytest bench/profile_cycle.py -s -p no:cacheprovider
    DROVER_PROFILE_JOBS=1000 DROVER_PROFILE=1 python -m pytest bench/profile_cycle.py -s

Submits DROVER_PROFILE_JOBS jobs (default 1,000) to a 2-node cluster that is
full, then runs ``run_cycle_once`` a few times and prints its phases (load,
decide, commit) and query count as ``PROFILE`` lines; ``DROVER_PROFILE=1`` adds
a cProfile of one cycle. ``test_profile_cycle_with_starts`` times the other
common cycle: the running jobs end, and the cycle starts the next ones and moves
the planned start of every pending job (60-minute limits), writing and
announcing those rows. Not a test (no assertion on time). Uses the test
settings: PostgreSQL when it answers, else SQLite.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduler import cycle, snapshot
from tests.api.builders import desc, make_cluster, make_user

JOBS = int(os.environ.get("DROVER_PROFILE_JOBS", "1000"))


@pytest.mark.django_db(transaction=True)
def test_profile_cycle() -> None:
    from scheduler.actions.submit import do_submit_job

    make_cluster(nodes=2, cpus=2)
    user = make_user("root", operator=True)
    for _ in range(JOBS):
        do_submit_job(user, desc(time_limit_min=60))
    cycle.run_cycle_once()  # fills the nodes: the rest stays pending
    runs = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            loaded = snapshot.load(timezone.now())
            t1 = time.perf_counter()
            result = cycle.run_cycle_once()
            t2 = time.perf_counter()
        runs.append((t1 - t0, t2 - t1, result.decide_seconds, len(q)))
    runs.sort()
    load_s, whole_s, decide_s, queries = runs[len(runs) // 2]
    print(f"PROFILE cycle vendor={connection.vendor} pending={len(loaded.snapshot.pending)} "
          f"load_ms={load_s * 1000:.1f} cycle_ms={whole_s * 1000:.1f} "
          f"decide_ms={decide_s * 1000:.1f} queries={queries - 0}", flush=True)
    if os.environ.get("DROVER_PROFILE"):
        prof = cProfile.Profile()
        prof.enable()
        cycle.run_cycle_once()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


@pytest.mark.django_db(transaction=True)
def test_profile_cycle_with_starts() -> None:
    from scheduler.actions.jobs import do_finish_job
    from scheduler.actions.submit import do_submit_job
    from scheduler.models import Job

    make_cluster(nodes=2, cpus=2)
    user = make_user("root", operator=True)
    for _ in range(min(JOBS, 300)):
        do_submit_job(user, desc(time_limit_min=60))
    cycle.run_cycle_once()
    times, updated = [], []
    for _ in range(6):
        for job in Job.objects.filter(state="RUNNING"):
            do_finish_job(job, "COMPLETED")
        t0 = time.perf_counter()
        result = cycle.run_cycle_once()
        times.append(time.perf_counter() - t0)
        updated.append(result.updated)
        assert len(result.started) == 4
    print(f"PROFILE cycle_with_starts vendor={connection.vendor} started=4 "
          f"updated={statistics.median(updated[1:]):.0f} "
          f"cycle_ms={statistics.median(times[1:]) * 1000:.1f}", flush=True)
