"""Every pending reason the core gives, and FCFS versus backfill."""

from __future__ import annotations

import pytest

from scheduler.core.types import PartitionInfo, SchedConfig
from tests.core.builders import NOW, cycle, job, node, running, started

TWO = [node("n1", cpus=2), node("n2", cpus=2)]


@pytest.mark.parametrize(("pending", "parts", "reason"), [
    (job(1, limit=7200), [PartitionInfo("debug", max_time_s=3600)], "PartitionTimeLimit"),
    (job(1, nodes=3), [PartitionInfo("debug", max_nodes=2)], "PartitionNodeLimit"),
    (job(1, nodes_max=1), [PartitionInfo("debug", min_nodes=2)], "PartitionNodeLimit"),
    (job(1, cpus=3), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1, nodes=3), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1, mem_per_node_mb=9999), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1, gres={"gpu": 1}), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1, p="nosuch"), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1), [PartitionInfo("debug", state="DOWN")], "PartitionDown"),
    (job(1), [PartitionInfo("debug", state="INACTIVE")], "PartitionInactive"),
    (job(1, constraint="nosuch"), [PartitionInfo("debug")], "BadConstraints"),
    (job(1, constraint="a&&"), [PartitionInfo("debug")], "BadConstraints"),
    (job(1, req_nodes=frozenset({"n9"})), [PartitionInfo("debug")], "PartitionConfig"),
    (job(1, groups=frozenset({"staff"})),
     [PartitionInfo("debug", allow_groups=frozenset({"admins"}))], "AccessDenied"),
    (job(1, eligible=False, reason="JobHeldUser"), [PartitionInfo("debug")], "JobHeldUser"),
])
def test_never_and_not_eligible_reasons(pending, parts, reason) -> None:  # type: ignore[no-untyped-def]
    d = cycle(TWO, [pending], partitions=parts)
    assert d.starts == () and d.reasons == {1: reason}


def test_req_node_not_avail_when_the_only_fitting_node_is_down() -> None:
    d = cycle([node("n1", cpus=8, up=False), node("n2", cpus=2)], [job(1, cpus=4)])
    assert d.reasons == {1: "ReqNodeNotAvail"}


def test_partition_drain_still_runs_queued_jobs() -> None:
    d = cycle(TWO, [job(1)], partitions=[PartitionInfo("debug", state="DRAIN")])
    assert started(d) == {1: ["n1"]}


def test_first_blocked_job_waits_for_resources_the_rest_for_priority() -> None:
    r = running(100, {"n1": 2, "n2": 2}, ends_in=600)
    d = cycle(TWO, [job(1, nodes=2, nodes_max=2), job(2), job(3)], [r])
    assert d.reasons == {1: "Resources", 2: "Priority", 3: "Priority"}
    assert d.planned[1].start_time == NOW + 600 and d.planned[1].nodes == ("n1", "n2")


def test_fcfs_main_pass_then_a_small_job_backfills_without_delaying_the_top_job() -> None:
    # n1 busy for 10 minutes; the big job needs both nodes and is reserved at +600.
    # A 5-minute job fits on n2 before then: it starts now. A 1-hour job would delay
    # the big job: it waits.
    r = running(100, {"n1": 2}, ends_in=600)
    big, short, long = job(1, nodes=2, nodes_max=2, cpus=2), job(2, limit=300), job(3, limit=3600)
    d = cycle(TWO, [big, short, long], [r])
    assert started(d) == {2: ["n2"]}
    assert d.reasons == {1: "Resources", 3: "Priority"}
    assert d.planned[1].start_time == NOW + 600
    assert d.planned[3].start_time >= NOW + 600 + 3600


def test_the_decision_counts_the_backfill_passs_starts() -> None:
    # job 1 starts in the main pass, which stops at the big job 2; 3 and 4 start behind it.
    r = running(100, {"n1": 1}, ends_in=600)
    big = job(2, nodes=2, nodes_max=2, cpus=2)
    d = cycle(TWO, [job(1), big, job(3, limit=300), job(4, limit=300)], [r])
    assert set(started(d)) == {1, 3, 4} and d.backfilled == 2
    assert cycle(TWO, [job(1), job(2)]).backfilled == 0


def test_sched_builtin_does_not_backfill() -> None:
    r = running(100, {"n1": 2}, ends_in=600)
    d = cycle(TWO, [job(1, nodes=2, nodes_max=2), job(2, limit=300)], [r],
              config=SchedConfig(backfill=False))
    assert started(d) == {} and d.planned == {}


def test_bf_max_job_user_limits_jobs_examined_per_user() -> None:
    r = running(100, {"n1": 2, "n2": 2}, ends_in=600)
    jobs = [job(i, user="alice") for i in (1, 2, 3)]
    d = cycle(TWO, jobs, [r], config=SchedConfig(bf_max_job_user=2))
    assert set(d.planned) == {1, 2}


def test_a_job_without_reservation_beyond_the_window() -> None:
    r = running(100, {"n1": 2, "n2": 2}, ends_in=None)
    d = cycle(TWO, [job(1)], [r])
    assert d.reasons == {1: "Resources"} and d.planned == {}


def test_queue_order_is_priority_then_submit_then_id() -> None:
    one_slot = [node("n1", cpus=1)]
    d = cycle(one_slot, [job(2, submit=5), job(1, submit=5), job(3, submit=1)])
    assert started(d) == {3: ["n1"]}
    d = cycle(one_slot, [job(2, submit=5), job(1, submit=5)])
    assert started(d) == {1: ["n1"]}
    d = cycle(one_slot, [job(1, submit=1), job(2, submit=5, priority=99)])
    assert started(d) == {2: ["n1"]}


def test_partition_priority_tier_goes_first() -> None:
    nodes = [node("n1", cpus=1, parts="low,high")]
    d = cycle(nodes, [job(1, p="low", submit=1), job(2, p="high", submit=9)],
              partitions=[PartitionInfo("low"), PartitionInfo("high", priority_tier=5)])
    assert started(d) == {2: ["n1"]}


def test_age_factor_counts_when_weighted() -> None:
    cfg = SchedConfig(weight_age=1000, max_age_s=1000)
    d = cycle(TWO, [job(1, submit=NOW - 500, eligible=False, reason="BeginTime")], config=cfg)
    assert d.priorities[1] == 500


def test_nice_lowers_priority() -> None:
    one_slot = [node("n1", cpus=1)]
    d = cycle(one_slot, [job(1, submit=1, nice=100), job(2, submit=2)],
              config=SchedConfig(weight_age=1000))
    assert started(d) == {2: ["n1"]}


def test_array_tasks_of_one_meta_row_share_the_reason_of_the_first() -> None:
    r = running(100, {"n1": 2, "n2": 2}, ends_in=600)
    tasks = [job(10, array_task_id=t) for t in (0, 1, 2)]
    d = cycle(TWO, tasks, [r])
    assert d.reasons == {10: "Resources"}


def test_determinism_same_input_same_decision() -> None:
    nodes = [node(f"n{i}", cpus=4) for i in range(8)]
    r = [running(100 + i, {f"n{i}": 3}, ends_in=300 * (i + 1)) for i in range(8)]
    jobs = [job(i, cpus=1 + i % 4, limit=600 * (1 + i % 3), nodes=1 + i % 2, nodes_max=1 + i % 2)
            for i in range(1, 30)]
    assert cycle(nodes, jobs, r) == cycle(nodes, jobs, r)
    assert cycle(nodes, jobs, r) == cycle(nodes, list(reversed(jobs)), list(reversed(r)))


BUSY = running(100, {"n1": 2, "n2": 2}, ends_in=600)


@pytest.mark.parametrize(("config", "planned"), [
    (SchedConfig(bf_max_job_test=2), {1, 2}),
    (SchedConfig(bf_max_job_part=1), {1, 3}),  # jobs 1, 2 in debug, 3 in batch
    (SchedConfig(bf_max_job_assoc=1), {1, 2, 3}),  # alice/a, alice/b, bob/a
    (SchedConfig(bf_max_job_user=1), {1, 3}),
])
def test_backfill_caps_on_jobs_examined(config: SchedConfig, planned: set[int]) -> None:
    nodes = [node("n1", cpus=2, parts="debug,batch"), node("n2", cpus=2, parts="debug,batch")]
    jobs = [job(1, user="alice", account="a"), job(2, user="alice", account="b"),
            job(3, user="bob", account="a", p="batch"), job(4, user="alice", account="a")]
    d = cycle(nodes, jobs, [BUSY], partitions=[PartitionInfo("debug"), PartitionInfo("batch")],
              config=config)
    assert set(d.planned) == planned
    # Not examined: Priority behind a job of the same partition, Resources first in its own.
    assert d.reasons == {1: "Resources", 2: "Priority", 3: "Resources", 4: "Priority"}


def test_bf_max_job_start_stops_the_backfill_once_reached() -> None:
    r = running(100, {"n1": 2}, ends_in=600)
    jobs = [job(1, nodes=2, nodes_max=2, cpus=2), job(2, limit=300), job(3, limit=300),
            job(4, limit=7200)]
    d = cycle(TWO, jobs, [r], config=SchedConfig(bf_max_job_start=1))
    assert started(d) == {2: ["n2"]}  # job 3 would fit too: the cap stopped the backfill
    assert set(d.planned) == {1} and d.reasons[3] == d.reasons[4] == "Priority"


@pytest.mark.parametrize("config", [SchedConfig(bf_min_prio_reserve=50),
                                    SchedConfig(bf_min_age_reserve=600)])
def test_a_job_below_the_reserve_thresholds_holds_no_reservation(config: SchedConfig) -> None:
    # Job 1 (young, low priority) needs both nodes; without a reservation it does not
    # hold back job 2, which would overlap the reservation it would have had.
    r = running(100, {"n1": 2}, ends_in=600)
    young = job(1, nodes=2, nodes_max=2, cpus=2, submit=NOW - 10, priority=10)
    d = cycle(TWO, [young, job(2, limit=3600, submit=NOW - 5000, priority=5)], [r],
              config=config)
    assert started(d) == {2: ["n2"]} and 1 not in d.planned and d.reasons[1] == "Resources"
    d = cycle(TWO, [young, job(2, limit=3600, submit=NOW - 5000, priority=5)], [r])
    assert started(d) == {} and 1 in d.planned  # the default: it reserves
