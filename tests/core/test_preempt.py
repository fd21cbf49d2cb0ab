"""Preemption: the fewest, lowest-priority preemptable jobs whose release lets a job start."""

from __future__ import annotations

import pytest

from scheduler.core import preempt
from scheduler.core.cycle import run_cycle
from scheduler.core.preempt import CANCEL, OFF, REQUEUE, Preemption, Rules, RunInfo, Waiting
from scheduler.core.types import PendingJob, RunningJob, SchedConfig, Snapshot
from tests.core.builders import NOW, busy, job, node, part, running

QOS = Rules(type="preempt/qos", can_preempt={"high": frozenset({"low"})})


def info(id: int, qos: str = "low", priority: int = 1, started_ago: int = 100,
         **kw: object) -> RunInfo:
    return RunInfo(id=id, qos=qos, priority=priority, start_time=NOW - started_ago,
                   **kw)  # type: ignore[arg-type]


def choose(pending: list[PendingJob], jobs: list[RunningJob], infos: list[RunInfo],
           waiting: dict[int, Waiting], rules: Rules = QOS, n: int = 2,
           cpus: int = 4) -> list[Preemption]:
    nodes = tuple(busy(node(f"n{i}", cpus=cpus), *jobs) for i in range(1, n + 1))
    snap = Snapshot(nodes, (part(),), tuple(jobs), tuple(pending))
    decision = run_cycle(snap, SchedConfig(), NOW)
    return preempt.choose(snap, decision, SchedConfig(), NOW, rules,
                          {i.id: i for i in infos}, waiting)


def full(n: int = 2) -> list[RunningJob]:
    """Jobs 101.. each holding a whole 4-CPU node."""
    return [running(100 + i, {f"n{i}": 4}) for i in range(1, n + 1)]


def victims(out: list[Preemption]) -> list[tuple[int, str]]:
    return sorted((p.victim, p.mode) for p in out)


# (case, pending job kwargs, running infos, waiting qos, rules, expected victims)
CASES = [
    ("a high job preempts one low job", {}, [info(101), info(102)], "high", QOS,
     [(102, REQUEUE)]),
    ("the lowest priority goes first", {}, [info(101, priority=1), info(102, priority=5)],
     "high", QOS, [(101, REQUEUE)]),
    ("equal priority: the most recently started goes", {},
     [info(101, started_ago=10), info(102, started_ago=500)], "high", QOS, [(101, REQUEUE)]),
    ("a two-node job needs both", {"nodes": 2}, [info(101), info(102)], "high", QOS,
     [(101, REQUEUE), (102, REQUEUE)]),
    ("a normal job preempts nothing", {}, [info(101), info(102)], "normal", QOS, []),
    ("jobs of a QOS not in the list are safe", {}, [info(101, qos="normal"),
                                                     info(102, qos="normal")],
     "high", QOS, []),
    ("only some preemptable: take those", {}, [info(101, qos="normal"), info(102)],
     "high", QOS, [(102, REQUEUE)]),
    ("not enough preemptable room: nobody is preempted", {"nodes": 2},
     [info(101, qos="normal"), info(102)], "high", QOS, []),
    ("cancel mode", {}, [info(101, mode=CANCEL), info(102, mode=CANCEL)], "high", QOS,
     [(102, CANCEL)]),
    ("a job that may not be requeued is cancelled", {},
     [info(101, requeue=False, priority=0), info(102, priority=3)], "high", QOS,
     [(101, CANCEL)]),
    ("PreemptMode OFF protects", {}, [info(101, mode=OFF), info(102, mode=OFF)], "high",
     QOS, []),
    ("preempt/none preempts nothing", {}, [info(101), info(102)], "high", Rules(), []),
    ("partition_prio: lower tier is preempted", {}, [info(101, partition_tier=1),
                                                      info(102, partition_tier=2)],
     "high", Rules(type="preempt/partition_prio"), [(101, REQUEUE)]),
]


@pytest.mark.parametrize(("case", "kw", "infos", "qos", "rules", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_preemption_choice(case: str, kw: dict[str, object], infos: list[RunInfo], qos: str,
                           rules: Rules, expected: list[tuple[int, str]]) -> None:
    pending = job(1, cpus=4, **kw)  # type: ignore[arg-type]
    out = choose([pending], full(), infos, {1: Waiting(qos, tier=2)}, rules)
    assert victims(out) == expected
    assert all(p.for_job == 1 for p in out)


def test_room_already_being_freed_is_waited_for() -> None:
    out = choose([job(1, cpus=4)], full(), [info(101, terminating=True), info(102)],
                 {1: Waiting("high")})
    assert out == []


def test_two_preemptors_do_not_share_one_victim() -> None:
    out = choose([job(1, cpus=4), job(2, cpus=4)], full(), [info(101), info(102)],
                 {1: Waiting("high"), 2: Waiting("high")})
    assert sorted(victims(out)) == [(101, REQUEUE), (102, REQUEUE)]
    assert {p.for_job for p in out} == {1, 2}


def test_unneeded_victims_are_put_back() -> None:
    # n1 holds two small low jobs (1 CPU each, lowest priority) and n2 one big one; a
    # 4-CPU job needs a whole node: the small ones alone do not free n1 (2 CPUs stay used
    # by a normal job), so the big one goes, and the small ones are kept.
    jobs = [running(101, {"n1": 1}), running(102, {"n1": 1}), running(103, {"n1": 2}),
            running(104, {"n2": 4})]
    infos = [info(101, priority=1), info(102, priority=1), info(103, qos="normal"),
             info(104, priority=9)]
    out = choose([job(1, cpus=4)], jobs, infos, {1: Waiting("high")})
    assert victims(out) == [(104, REQUEUE)]


def test_a_job_that_starts_anyway_preempts_nothing() -> None:
    out = choose([job(1, cpus=1)], [running(101, {"n1": 4})], [info(101)],
                 {1: Waiting("high")})
    assert out == []


def test_an_ineligible_job_preempts_nothing() -> None:
    held = job(1, cpus=4, eligible=False, reason="JobHeldUser")
    assert choose([held], full(), [info(101), info(102)], {1: Waiting("high")}) == []


def test_only_so_many_jobs_are_tried_per_cycle() -> None:
    nodes = tuple(busy(node(f"n{i}", cpus=4), running(100 + i, {f"n{i}": 4}))
                  for i in (1, 2))
    jobs = [running(101, {"n1": 4}), running(102, {"n2": 4})]
    pending = (job(1, cpus=4), job(2, cpus=4))
    snap = Snapshot(nodes, (part(),), tuple(jobs), pending)
    decision = run_cycle(snap, SchedConfig(), NOW)
    out = preempt.choose(snap, decision, SchedConfig(), NOW, QOS,
                         {101: info(101), 102: info(102)},
                         {1: Waiting("high"), 2: Waiting("high")}, max_tries=1)
    assert [p.for_job for p in out] == [1]
