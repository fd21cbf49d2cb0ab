"""Shared fixtures. ``live_cluster``: one real cluster for the whole session.

It is a set of real processes (tests/livecluster.py): in production mode when
PostgreSQL and Redis answer on 127.0.0.1 (uvicorn, a Celery worker with beat,
two node agents, on a database of its own), else the embedded ``drover up``.
Tests drive it with the real commands: ``live_cluster.run(["sbatch", ...])``.
When a test that uses it fails, the tails of the server logs are added to the
failure report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.livecluster import LiveCluster, start_cluster

_cluster: LiveCluster | None = None
_failures = 0


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels() -> None:
    """Compile the backfill kernels once, up front (scheduler/core/kernels.py): on a
    fresh checkout that takes seconds, which a live cluster's first cycle (and the
    timeouts of the tests waiting on it) should not pay; later processes load the
    compiled code from numba's cache."""
    from scheduler.core.cycle import warm_up

    warm_up()


@pytest.fixture(scope="session")
def live_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """A running 2-node cluster: ``.url``, ``.env``, ``.username``, ``.password``,
    ``.run(cmd)``, ``.wait_state(job_id, states, timeout)``, ``.api(method, path)``."""
    global _cluster
    root = tmp_path_factory.mktemp("live-cluster", numbered=True)
    cluster = start_cluster(nodes=2, root=root)
    _cluster = cluster
    try:
        yield cluster
    finally:
        _cluster = None
        tails = cluster.log_tails(80) if _failures else ""
        cluster.stop()
        if _failures:
            print(f"\nlive cluster logs kept in {cluster.log_dir}\n{tails}")
        elif os.environ.get("DROVER_KEEP_LIVE") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    global _failures
    if report.failed and "live_cluster" in getattr(item, "fixturenames", ()):
        _failures += 1
        if _cluster is not None:
            report.sections.append(("live cluster logs", _cluster.log_tails()))
    return report


@pytest.fixture(autouse=True)
def _fresh_backfill_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's first cycle plans, as a freshly started controller's does
    (scheduler/passes.py: otherwise a cycle run by an earlier test within
    ``bf_interval`` would leave the backfill pass to a later one)."""
    from scheduler import passes

    monkeypatch.setattr(passes, "_last_backfill", float("-inf"))
