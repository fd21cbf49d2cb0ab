"""priority/multifactor: each factor, the weights, PriorityMaxAge, favor small, TRES, nice.

Expected numbers follow Slurm's priority_multifactor.html and the golden cluster
(4 nodes x 2 CPUs; short has PriorityJobFactor 10; sprio 065).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from scheduler.core import priority
from scheduler.core.types import PartitionInfo, PendingJob, SchedConfig
from tests.core.builders import NOW, job, node

MULTI = SchedConfig(priority_type="priority/multifactor", weight_age=1000,
                    weight_fairshare=10000, weight_job_size=1000, weight_partition=1000,
                    weight_qos=1000, max_age_s=7 * 86_400)
NODES = [node(f"n{i}", cpus=2, mem=4000, parts="debug,short") for i in range(1, 5)]
PARTS = {"debug": PartitionInfo("debug"), "short": PartitionInfo("short", priority_job_factor=10)}


def one(j: PendingJob, config: SchedConfig = MULTI, nodes: Any = NODES) -> dict[str, Any]:
    f = priority.compute([j], PARTS, config, NOW, nodes)
    return priority.rows([j], f, config)[0]


def waited(seconds: int, **kw: Any) -> PendingJob:
    return job(1, submit=NOW - seconds, eligible_time=NOW - seconds, **kw)


@pytest.mark.parametrize(("j", "config", "factor", "value"), [
    # age = min(wait, PriorityMaxAge) / PriorityMaxAge
    (waited(0), MULTI, "age", 0.0),
    (waited(3 * 86_400 + 12 * 3600), MULTI, "age", 0.5),
    (waited(30 * 86_400), MULTI, "age", 1.0),
    (waited(3600), replace(MULTI, max_age_s=7200), "age", 0.5),
    # job size (favor large) = (nodes / cluster nodes + cpus / cluster cpus) / 2
    (waited(0, ntasks=4), MULTI, "job_size", 0.375),
    (waited(0, ntasks=4, cpus=2, nodes=4), MULTI, "job_size", 1.0),
    (waited(0), MULTI, "job_size", 0.1875),
    (waited(0, cpus=64), MULTI, "job_size", 1.0),  # more than the cluster: clamped
    (waited(0), replace(MULTI, favor_small=True), "job_size", 0.8125),
    # SMALL_RELATIVE_TO_TIME: max(nodes * avg cpus/node, cpus) / limit (min) / cluster cpus
    (waited(0, ntasks=4, limit=60), replace(MULTI, priority_flags=frozenset(
        {"SMALL_RELATIVE_TO_TIME"})), "job_size", 4 / 1 / 8),
    (waited(0, ntasks=4, limit=600), replace(MULTI, priority_flags=frozenset(
        {"SMALL_RELATIVE_TO_TIME"})), "job_size", 4 / 10 / 8),
    # partition = PriorityJobFactor / the largest one (best partition of a multi-partition job)
    (waited(0), MULTI, "partition", 0.1),
    (waited(0, p="short"), MULTI, "partition", 1.0),
    (waited(0, p="debug,short"), MULTI, "partition", 1.0),
    (waited(0, p="nosuch"), MULTI, "partition", 0.0),
    # fairshare and QOS come with the job
    (waited(0, fairshare=0.25), MULTI, "fairshare", 0.25),
    (waited(0, qos_factor=0.5), MULTI, "qos", 0.5),
    (waited(0, fairshare=3.0), MULTI, "fairshare", 1.0),
])
def test_each_factor(j: PendingJob, config: SchedConfig, factor: str, value: float) -> None:
    assert one(j, config)["norm"][factor] == pytest.approx(value)


@pytest.mark.parametrize(("j", "config", "expected"), [
    # 065_sprio.txt: fairshare 1 -> 10000, job size, partition; age 0.
    (waited(0, ntasks=4, fairshare=1.0), MULTI, 10475),
    (waited(0, ntasks=4, cpus=2, nodes=4, fairshare=1.0), MULTI, 11100),
    (waited(0, p="short", fairshare=1.0), MULTI, 11187),  # 187.5 truncated
    (waited(0, fairshare=1.0), MULTI, 10287),
    # nice is subtracted; the result is at least 1
    (waited(0, fairshare=1.0, nice=287), MULTI, 10000),
    (waited(0, nice=100_000), MULTI, 1),
    # site factor is added unweighted; QOS and assoc weighted
    (waited(0, site_factor=7), MULTI, 7 + 287),
    (waited(0, qos_factor=1.0), MULTI, 1000 + 287),
    (waited(0, assoc_factor=0.5), replace(MULTI, weight_assoc=100), 50 + 287),
    # an operator's fixed priority wins
    (waited(0, priority=42), MULTI, 42),
    # priority/basic: only age and partition weights (zero by default): FIFO
    (waited(86_400, fairshare=1.0), SchedConfig(), 1),
    (waited(7 * 86_400), SchedConfig(weight_age=100), 100),
    # NO_NORMAL_PART: the raw PriorityJobFactor
    (waited(0, p="short"), replace(MULTI, weight_job_size=0,
                                   priority_flags=frozenset({"NO_NORMAL_PART"})), 10_000),
])
def test_weighted_sum(j: PendingJob, config: SchedConfig, expected: int) -> None:
    assert int(priority.compute([j], PARTS, config, NOW, NODES).priority[0]) == expected


@pytest.mark.parametrize(("weights", "flags", "expected"), [
    ({"cpu": 1000}, frozenset(), 500),  # 4 of 8 CPUs
    ({"cpu": 1000, "mem": 1000}, frozenset(), 500 + 100),  # 1600 of 16000 MB
    ({"cpu": 1000, "mem": 1000}, frozenset({"MAX_TRES"}), 500),
    ({"node": 400}, frozenset(), 100),
    ({"gres/gpu": 1000}, frozenset(), 1),  # no GPUs in the partition: the floor of 1
])
def test_tres_weights(weights: dict[str, int], flags: frozenset[str], expected: int) -> None:
    config = SchedConfig(priority_type="priority/multifactor", weight_tres=weights,
                         priority_flags=flags)
    j = waited(0, ntasks=4, mem_per_cpu_mb=400)
    assert int(priority.compute([j], PARTS, config, NOW, NODES).priority[0]) == expected


def test_without_nodes_job_size_is_zero() -> None:
    assert one(waited(0, ntasks=4), MULTI, nodes=())["norm"]["job_size"] == 0.0


def test_queue_order_follows_multifactor_priority() -> None:
    jobs = [job(1, fairshare=0.1), job(2, fairshare=0.9), job(3, p="short", fairshare=0.1),
            job(4, fairshare=0.9, nice=5000)]
    f = priority.compute(jobs, PARTS, MULTI, NOW, NODES)
    order = [jobs[int(i)].id for i in priority.queue_order(jobs, f.priority, PARTS)]
    assert order == [2, 4, 3, 1]


def test_sprio_rows_keep_every_factor_and_weight() -> None:
    row = one(waited(0, ntasks=4, fairshare=1.0, account="physics", qos="normal"))
    assert row["weighted"] == pytest.approx({"age": 0.0, "assoc": 0.0, "fairshare": 10000.0,
                                             "job_size": 375.0, "partition": 100.0,
                                             "qos": 0.0})
    assert (row["account"], row["qos"], row["partition"], row["priority"]) == (
        "physics", "normal", "debug", 10475)
    assert priority.weights(MULTI) == {"site": 1, "age": 1000, "assoc": 0,
                                       "fairshare": 10000, "job_size": 1000,
                                       "partition": 1000, "qos": 1000}


def test_run_cycle_reports_multifactor_priorities() -> None:
    from scheduler.core.cycle import run_cycle
    from scheduler.core.types import Snapshot

    jobs = (job(1, ntasks=8, fairshare=0.1), job(2, fairshare=1.0))
    snap = Snapshot(tuple(NODES), tuple(PARTS.values()), (), jobs)
    decision = run_cycle(snap, MULTI, NOW)
    assert decision.priorities[2] > decision.priorities[1]
