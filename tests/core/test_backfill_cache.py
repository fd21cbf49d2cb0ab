"""The backfill plan's per-shape caches change speed, never answers.

Each test runs a cycle twice: as is, and with every question to the plan asked of
a freshly built shape (no cached answers). The decisions
must be equal, start for start and reservation for reservation. (A fresh shape
also gets a family of its own, so nothing is shared between durations.)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from scheduler.core import backfill
from scheduler.core.cycle import run_cycle
from scheduler.core.filters import Option
from scheduler.core.types import (
    Decision,
    LimitSet,
    LimitTables,
    NodeGrant,
    NodeInfo,
    PartitionInfo,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
)
from tests.core.builders import NOW
from tests.core.test_properties import CONFIG, snapshots


@contextmanager
def uncached() -> Iterator[None]:
    original = backfill._Plan._shape

    def fresh(self: backfill._Plan, option: Option) -> backfill._Shape:
        shape = backfill._Shape(self.table, self.timeline, option)
        self.shapes[option.key] = shape
        return shape

    backfill._Plan._shape = fresh  # type: ignore[method-assign]
    try:
        yield
    finally:
        backfill._Plan._shape = original  # type: ignore[method-assign]


def both(snap: Snapshot, config: SchedConfig) -> tuple[Decision, Decision]:
    cached = run_cycle(snap, config, NOW)
    with uncached():
        fresh = run_cycle(snap, config, NOW)
    return cached, fresh


def cluster(seed: int, nodes: int, pending: int) -> Snapshot:
    """A small heterogeneous cluster, mostly busy, with a mixed queue (seeded)."""
    rng = random.Random(seed)
    infos: list[NodeInfo] = []
    running: list[RunningJob] = []
    for i in range(nodes):
        gpu = i % 4 == 3
        cpus, mem = (16, 64_000) if i % 3 else (32, 128_000)
        gres = {"gpu:a100": 2} if gpu else {}
        name = f"n{i:03d}"
        used, count = 0, 0
        while used < cpus * 0.7:
            c = min(rng.choice([1, 2, 4, 8]), cpus - used)
            end = NOW + rng.randrange(60, 6 * 3600)
            running.append(RunningJob(1000 + len(running), (NodeGrant(name, c, c * 1000),), end))
            used, count = used + c, count + 1
        infos.append(NodeInfo(name, cpus, mem, gres, frozenset({"big"} if cpus == 32 else ()),
                              1 + i % 3, True, frozenset({"p"}), used, used * 1000, {}, count))
    jobs = []
    for j in range(pending):
        r = rng.random()
        kw: dict[str, object] = {"cpus_per_task": rng.choice([1, 2, 4])}
        if r < 0.2:
            n = rng.choice([2, 3])
            kw = {"nodes_min": n, "nodes_max": n, "ntasks": 4 * n, "ntasks_per_node": 4}
        elif r < 0.3:
            kw = {"ntasks": rng.choice([12, 24, 40])}
        elif r < 0.4:
            kw = {"exclusive": True}
        elif r < 0.5:
            kw["gres"] = {"gpu": 1}
        elif r < 0.55:
            kw["constraint"] = "big"
        jobs.append(PendingJob(id=j + 1, submit_time=NOW - rng.randrange(10_000),
                               partitions=("p",), mem_per_cpu_mb=rng.choice([None, 500]),
                               time_limit_s=rng.choice([300, 1800, 3600, 4 * 3600, 86_400]),
                               **kw))  # type: ignore[arg-type]
    return Snapshot(tuple(infos), (PartitionInfo("p"),), tuple(running), tuple(jobs))


@pytest.mark.parametrize(("seed", "nodes", "pending"), [(1, 8, 60), (2, 20, 200), (3, 40, 400),
                                                     (4, 60, 1500)])  # long-stale rows
def test_cached_plan_gives_the_fresh_plans_decision(seed: int, nodes: int, pending: int) -> None:
    cached, fresh = both(cluster(seed, nodes, pending), SchedConfig(bf_window_s=8 * 3600))
    assert cached.planned  # the queue outgrows the cluster: reservations exist
    assert cached == fresh


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_runs_of_one_node_jobs_decide_as_job_by_job(seed: int) -> None:
    """The compiled loop over runs of one-node jobs (backfill._Batch) against the
    job-by-job path, which a cap no queue reaches selects; with a per-user CPU limit
    too, so that jobs started inside a run hold back later jobs of the same run."""
    snap = cluster(seed, 20, 300)
    users = tuple(replace(j, user=f"u{j.id % 3}", qos="normal") for j in snap.pending)
    limited = replace(snap, pending=users, limits=LimitTables(
        qos={"normal": LimitSet(max_tres_per_user={"cpu": 6})}))
    config = SchedConfig(bf_window_s=8 * 3600)
    for s in (snap, limited):
        batched = run_cycle(s, config, NOW)
        alone = run_cycle(s, replace(config, bf_max_job_test=1 << 30), NOW)
        assert len(batched.starts) > 1 and batched.planned
        assert batched == alone
    assert "QOSMaxCpuPerUserLimit" in batched.reasons.values()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_cached_plan_gives_the_fresh_plans_decision_on_random_input(snap: Snapshot) -> None:
    cached, fresh = both(snap, CONFIG)
    assert cached == fresh


def test_a_shape_needing_more_than_one_without_room_gets_no_reservation() -> None:
    # n1 is held beyond the window; n2 has 2 CPUs free for an hour, then 4.
    nodes = [NodeInfo("n1", 4, 4000, partitions=frozenset({"p"}), alloc_cpus=4, alloc_jobs=1),
             NodeInfo("n2", 4, 4000, partitions=frozenset({"p"}), alloc_cpus=2, alloc_jobs=1)]
    running = [RunningJob(100, (NodeGrant("n1", 4, 0),), None),
               RunningJob(101, (NodeGrant("n2", 2, 0),), NOW + 3600)]
    pending = [PendingJob(1, NOW - 50, ("p",), cpus_per_task=4, time_limit_s=7200),
               PendingJob(2, NOW - 40, ("p",), cpus_per_task=4, nodes_min=2, nodes_max=2,
                          ntasks=2, ntasks_per_node=1, time_limit_s=7200),
               PendingJob(3, NOW - 30, ("p",), cpus_per_task=4, nodes_min=2, nodes_max=2,
                          ntasks=2, ntasks_per_node=1, time_limit_s=9000),
               PendingJob(4, NOW - 20, ("p",), cpus_per_task=1, time_limit_s=600)]
    snap = Snapshot(tuple(nodes), (PartitionInfo("p"),), tuple(running), tuple(pending))
    cached, fresh = both(snap, SchedConfig(bf_window_s=4 * 3600))
    assert cached == fresh
    # job 1 waits for n2; jobs 2 and 3 need both nodes (3 longer: no room either);
    # job 4 is smaller and starts now on n2's free CPUs.
    assert set(cached.planned) == {1}
    assert [s.job_id for s in cached.starts] == [4]
    assert cached.reasons[2] == cached.reasons[3] == "Priority"
