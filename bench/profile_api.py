"""In-process profile of the hot API paths: query counts and server time, no HTTP.

    python -m pytest bench/profile_api.py -s -p no:cacheprovider [--jobs 1000]
    DROVER_PROFILE=1 python -m pytest bench/profile_api.py -s   # + cProfile top 25

Not a test (no assertions on time): it prints ``PROFILE`` lines. It uses the
test settings, so PostgreSQL when it answers, else SQLite.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.builders import make_cluster, make_user
from tests.api.conftest import client_for

JOBS = int(os.environ.get("DROVER_PROFILE_JOBS", "1000"))
# What a plain `squeue` asks for (drover.cli.squeue.wanted_keys with the default layout).
SQUEUE_FIELDS = ("array_job_id,array_task_id,array_task_str,job_id,name,nodes,"
                 "num_nodes,partition,priority,reason,run_time_s,state,user")


def _timed(label: str, fn: Any, runs: int = 5) -> Any:
    fn()
    with CaptureQueriesContext(connection) as q:
        out = fn()
    prof = cProfile.Profile() if os.environ.get("DROVER_PROFILE") else None
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        fn()
        if prof:
            prof.disable()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    print(f"PROFILE {label} vendor={connection.vendor} queries={len(q)} "
          f"median_ms={samples[len(samples) // 2] * 1000:.1f}", flush=True)
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return out


@pytest.mark.django_db(transaction=True)
def test_profile_api() -> None:
    make_cluster()
    make_user("root", operator=True)
    api = client_for("root")
    body = {"script": "#!/bin/sh\ntrue\n", "cwd": "/tmp", "argv": [],
            "environment": {"PATH": "/usr/bin:/bin", "HOME": "/root"},
            "stdout": "/dev/null", "name": "bench", "hold": True}
    with CaptureQueriesContext(connection) as q:
        t0 = time.perf_counter()
        r = api.post("/api/jobs/", body, format="json")
        one = time.perf_counter() - t0
    assert r.status_code == 201, r.content
    print(f"PROFILE submit vendor={connection.vendor} queries={len(q)} ms={one * 1000:.1f}")
    for sql in q.captured_queries:
        print("   ", sql["sql"][:150])
    prof = cProfile.Profile() if os.environ.get("DROVER_PROFILE") else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    for _ in range(JOBS - 1):
        api.post("/api/jobs/", body, format="json")
    if prof:
        prof.disable()
    print(f"PROFILE submit_many jobs={JOBS} per_s={JOBS / (time.perf_counter() - t0):.0f}")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        pstats.Stats(prof).print_callers("acquire")
        pstats.Stats(prof).sort_stats("cumtime").print_stats(60)
    _timed("list_jobs", lambda: api.get("/api/jobs/"))
    _timed("list_jobs_squeue_fields", lambda: api.get("/api/jobs/?fields=" + SQUEUE_FIELDS))
    _timed("list_jobs_one", lambda: api.get("/api/jobs/?job=5"))
    _timed("accounting_jobs", lambda: api.get("/api/accounting/jobs/?all_users=1"))
    _timed("show_job", lambda: api.get("/api/jobs/5/"))
