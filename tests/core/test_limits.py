"""QOS and association limits: each reason code; usage counts running and started jobs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.core import limits
from scheduler.core.cycle import run_cycle
from scheduler.core.types import (
    Decision,
    LimitSet,
    LimitTables,
    NodeGrant,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
)
from tests.core.builders import NOW, busy, job, node, part, started

NODES = [node("n1", cpus=8, mem=8000, gres={"gpu": 4}),
         node("n2", cpus=8, mem=8000, gres={"gpu": 4})]


def mine(id: int, user: str = "alice", account: str = "phys", qos: str = "normal",
         **kw: object) -> PendingJob:
    return job(id, user=user, account=account, qos=qos, **kw)


def holder(id: int, cpus: int = 1, user: str = "alice", account: str = "phys",
           qos: str = "normal", node_name: str = "n1", gpus: int = 0) -> RunningJob:
    grant = NodeGrant(node_name, cpus, 0, {"gpu": gpus} if gpus else {})
    return RunningJob(id, (grant,), NOW + 600, user=user, account=account, qos=qos)


def tables(qos: LimitSet | None = None, user: LimitSet | None = None,
           account: LimitSet | None = None, root: LimitSet | None = None,
           **kw: object) -> LimitTables:
    assocs = {}
    if user is not None:
        assocs[("phys", "alice")] = user
    if account is not None:
        assocs[("phys", "")] = account
    if root is not None:
        assocs[("root", "")] = root
    return LimitTables(qos={"normal": qos} if qos is not None else {}, assocs=assocs,
                       parents={"phys": "root"}, **kw)  # type: ignore[arg-type]


def run(pending: list[PendingJob], limit_tables: LimitTables | None,
        running: list[RunningJob] | None = None) -> Decision:
    running = running or []
    nodes = tuple(busy(n, *running) for n in NODES)
    snap = Snapshot(nodes, (part(),), tuple(running), tuple(pending), limits=limit_tables)
    return run_cycle(snap, SchedConfig(), NOW)


# (limits, the pending job 2, running jobs, its reason); without the limit job 2 starts.
CASES = [
    # QOS aggregate limits
    (tables(qos=LimitSet(grp_tres={"cpu": 4})), [mine(2, cpus=2)], [holder(9, cpus=3)],
     "QOSGrpCpuLimit"),
    (tables(qos=LimitSet(grp_tres={"node": 1})), [mine(2)], [holder(9)], "QOSGrpNodeLimit"),
    (tables(qos=LimitSet(grp_tres={"mem": 1000})), [mine(2, mem_per_node_mb=800)],
     [replace(holder(9), grants=(NodeGrant("n1", 1, 500),))], "QOSGrpMemLimit"),
    (tables(qos=LimitSet(grp_tres={"gres/gpu": 2})), [mine(2, gres={"gpu": 2})],
     [holder(9, gpus=1)], "QOSGrpGRES"),
    (tables(qos=LimitSet(grp_jobs=1)), [mine(2, user="bob")], [holder(9)], "QOSGrpJobsLimit"),
    # QOS per-user limits
    (tables(qos=LimitSet(max_jobs_per_user=1)), [mine(2)], [holder(9)],
     "QOSMaxJobsPerUserLimit"),
    (tables(qos=LimitSet(max_tres_per_user={"cpu": 2})), [mine(2, cpus=2)], [holder(9)],
     "QOSMaxCpuPerUserLimit"),
    (tables(qos=LimitSet(max_tres_per_user={"node": 1})), [mine(2)], [holder(9)],
     "QOSMaxNodePerUserLimit"),
    (tables(qos=LimitSet(max_tres_per_user={"gres/gpu": 1})), [mine(2, gres={"gpu": 1})],
     [holder(9, gpus=1)], "QOSMaxGRESPerUser"),
    # QOS per-job limits (the request alone is too big)
    (tables(qos=LimitSet(max_tres_per_job={"cpu": 2})), [mine(2, cpus=3)], [],
     "QOSMaxCpuPerJobLimit"),
    (tables(qos=LimitSet(max_tres_per_job={"node": 1})), [mine(2, nodes=2)], [],
     "QOSMaxNodePerJobLimit"),
    (tables(qos=LimitSet(max_tres_per_job={"mem": 100})), [mine(2, mem_per_cpu_mb=200)], [],
     "QOSMaxMemoryPerJob"),
    (tables(qos=LimitSet(max_tres_per_job={"gres/gpu": 1})), [mine(2, gres={"gpu": 2})], [],
     "QOSMaxGRESPerJob"),
    (tables(qos=LimitSet(max_tres_per_node={"cpu": 2})), [mine(2, cpus=4)], [],
     "QOSMaxCpuPerNode"),
    (tables(qos=LimitSet(max_wall_s=1800)), [mine(2, limit=3600)], [],
     "QOSMaxWallDurationPerJobLimit"),
    (tables(qos=LimitSet(max_wall_s=1800)), [mine(2, limit=None)], [],
     "QOSMaxWallDurationPerJobLimit"),
    # the user association
    (tables(user=LimitSet(max_jobs_per_user=1)), [mine(2)], [holder(9)], "AssocMaxJobsLimit"),
    (tables(user=LimitSet(grp_jobs=1)), [mine(2)], [holder(9)], "AssocGrpJobsLimit"),
    (tables(user=LimitSet(grp_tres={"cpu": 2})), [mine(2, cpus=2)], [holder(9)],
     "AssocGrpCpuLimit"),
    (tables(user=LimitSet(max_tres_per_job={"cpu": 2})), [mine(2, cpus=4)], [],
     "AssocMaxCpuPerJobLimit"),
    (tables(user=LimitSet(max_tres_per_job={"node": 1})), [mine(2, nodes=2)], [],
     "AssocMaxNodePerJobLimit"),
    (tables(user=LimitSet(max_tres_per_job={"mem": 100})), [mine(2, mem_per_node_mb=200)], [],
     "AssocMaxMemPerJob"),
    (tables(user=LimitSet(max_tres_per_job={"gres/gpu": 1})), [mine(2, gres={"gpu": 2})], [],
     "AssocMaxGRESPerJob"),
    (tables(user=LimitSet(max_tres_per_node={"mem": 100})), [mine(2, mem_per_node_mb=200)],
     [], "AssocMaxMemPerNode"),
    (tables(user=LimitSet(max_wall_s=600)), [mine(2, limit=3600)], [],
     "AssocMaxWallDurationPerJobLimit"),
    # account and parent accounts: aggregates over the whole subtree (other users too)
    (tables(account=LimitSet(grp_jobs=1)), [mine(2)], [holder(9, user="bob")],
     "AssocGrpJobsLimit"),
    (tables(account=LimitSet(grp_tres={"cpu": 3})), [mine(2, cpus=2)],
     [holder(9, cpus=2, user="bob")], "AssocGrpCpuLimit"),
    (tables(root=LimitSet(grp_tres={"node": 1})), [mine(2)], [holder(9, user="bob")],
     "AssocGrpNodeLimit"),
    (tables(root=LimitSet(grp_tres={"mem": 100})), [mine(2, mem_per_node_mb=200)], [],
     "AssocGrpMemLimit"),
    (tables(root=LimitSet(grp_tres={"gres/gpu": 1})), [mine(2, gres={"gpu": 1})],
     [holder(9, gpus=1, user="bob")], "AssocGrpGRES"),
]


@pytest.mark.parametrize(("limit_tables", "pending", "running_jobs", "reason"), CASES)
def test_each_limit_holds_the_job_back_with_its_reason(
        limit_tables: LimitTables, pending: list[PendingJob], running_jobs: list[RunningJob],
        reason: str) -> None:
    d = run(pending, limit_tables, running_jobs)
    assert d.reasons == {2: reason}
    assert started(d) == {}


@pytest.mark.parametrize(("limit_tables", "pending", "running_jobs", "reason"), CASES)
def test_without_the_limit_the_same_job_starts(
        limit_tables: LimitTables, pending: list[PendingJob], running_jobs: list[RunningJob],
        reason: str) -> None:
    d = run(pending, None, running_jobs)
    assert list(started(d)) == [2], reason


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (2, 2), (3, 3), (None, 4)])
def test_jobs_started_in_one_cycle_add_up_against_a_limit(limit: int | None, count: int
                                                          ) -> None:
    pending = [mine(i) for i in range(1, 5)]
    d = run(pending, tables(qos=LimitSet(max_jobs_per_user=limit)))
    assert sorted(started(d)) == list(range(1, count + 1))
    assert set(d.reasons.values()) <= {"QOSMaxJobsPerUserLimit"}


def test_two_jobs_that_each_fit_a_cpu_limit_do_not_pass_it_together() -> None:
    d = run([mine(1, cpus=3), mine(2, cpus=3)], tables(qos=LimitSet(grp_tres={"cpu": 4})))
    assert list(started(d)) == [1] and d.reasons == {2: "QOSGrpCpuLimit"}


def test_a_per_user_limit_leaves_other_users_alone() -> None:
    d = run([mine(1), mine(2), mine(3, user="bob")],
            tables(qos=LimitSet(max_jobs_per_user=1)))
    assert sorted(started(d)) == [1, 3] and d.reasons == {2: "QOSMaxJobsPerUserLimit"}


def test_the_qos_is_checked_before_the_association() -> None:
    d = run([mine(2, cpus=4)], tables(qos=LimitSet(max_tres_per_job={"cpu": 2}),
                                      user=LimitSet(max_tres_per_job={"cpu": 2})))
    assert d.reasons == {2: "QOSMaxCpuPerJobLimit"}


# Several limits hold job 2 at once: the reason is the first in Slurm's order
# (acct_policy.c): job counts and wall time (acct_policy_job_runnable_pre_select)
# before TRES (_post_select), each the QOS's, then the user association's, then
# the accounts' up to the root.
GRP_CPU_4 = LimitSet(grp_tres={"cpu": 4})
SEVERAL = [
    (tables(qos=replace(GRP_CPU_4, max_jobs_per_user=1)), "QOSMaxJobsPerUserLimit"),
    (tables(qos=GRP_CPU_4, user=LimitSet(max_jobs_per_user=1)), "AssocMaxJobsLimit"),
    (tables(qos=GRP_CPU_4, root=LimitSet(grp_jobs=1)), "AssocGrpJobsLimit"),
    (tables(qos=LimitSet(max_tres_per_job={"cpu": 2}), account=LimitSet(grp_jobs=1)),
     "AssocGrpJobsLimit"),
    (tables(qos=LimitSet(max_wall_s=60, max_jobs_per_user=1)), "QOSMaxJobsPerUserLimit"),
    (tables(qos=LimitSet(grp_jobs=1, max_jobs_per_user=1)), "QOSGrpJobsLimit"),
    (tables(qos=LimitSet(max_jobs_per_user=1), user=LimitSet(max_jobs_per_user=1)),
     "QOSMaxJobsPerUserLimit"),
    (tables(user=LimitSet(max_wall_s=60), account=LimitSet(grp_jobs=1)),
     "AssocMaxWallDurationPerJobLimit"),
    (tables(qos=replace(GRP_CPU_4, max_tres_per_job={"cpu": 2})), "QOSGrpCpuLimit"),
    (tables(qos=replace(GRP_CPU_4, max_tres_per_user={"cpu": 2})), "QOSGrpCpuLimit"),
    (tables(qos=LimitSet(max_tres_per_user={"cpu": 2}), user=GRP_CPU_4),
     "QOSMaxCpuPerUserLimit"),
    (tables(user=replace(GRP_CPU_4, max_tres_per_job={"cpu": 2})), "AssocGrpCpuLimit"),
    (tables(user=LimitSet(max_tres_per_job={"cpu": 2}), account=GRP_CPU_4),
     "AssocMaxCpuPerJobLimit"),
]


@pytest.mark.parametrize(("limit_tables", "reason"), SEVERAL)
def test_of_several_limits_hit_the_reason_is_the_first_in_slurms_order(
        limit_tables: LimitTables, reason: str) -> None:
    # Alice runs job 9 (3 CPUs); her job 2 asks for 3 CPUs for an hour.
    d = run([mine(2, cpus=3, limit=3600)], limit_tables, [holder(9, cpus=3)])
    assert d.reasons == {2: reason}
    assert started(d) == {}


def test_enforce_flags_switch_qos_and_association_limits_off() -> None:
    held = tables(qos=LimitSet(max_jobs_per_user=0), user=LimitSet(max_jobs_per_user=0))
    assert run([mine(1)], replace(held, enforce_qos=False)).reasons == {1: "AssocMaxJobsLimit"}
    assert run([mine(1)], replace(held, enforce_assoc=False)).reasons == {
        1: "QOSMaxJobsPerUserLimit"}
    assert list(started(run([mine(1)], replace(held, enforce_qos=False,
                                                enforce_assoc=False)))) == [1]


def test_a_job_not_eligible_is_not_counted() -> None:
    d = run([mine(1, eligible=False, reason="JobHeldUser"), mine(2)],
            tables(qos=LimitSet(max_jobs_per_user=1)))
    assert list(started(d)) == [2] and d.reasons == {1: "JobHeldUser"}


def test_a_cycle_in_the_parent_table_does_not_loop() -> None:
    t = replace(tables(account=LimitSet(grp_jobs=5)), parents={"phys": "root", "root": "phys"})
    assert list(started(run([mine(1)], t))) == [1]


@pytest.mark.parametrize(("request_kw", "total", "per_node"), [
    ({"cpus": 2, "ntasks": 3}, {"cpu": 6, "node": 1}, {"cpu": 6, "node": 1}),
    ({"ntasks": 4, "nodes": 2, "mem_per_cpu_mb": 100},
     {"cpu": 4, "node": 2, "mem": 400}, {"cpu": 2, "node": 1, "mem": 200}),
    ({"nodes": 2, "gres": {"gpu:a100": 1}},
     {"cpu": 1, "node": 2, "gres/gpu": 2, "gres/gpu:a100": 2},
     {"cpu": 1, "node": 1, "gres/gpu": 1, "gres/gpu:a100": 1}),
])
def test_job_tres(request_kw: dict[str, object], total: dict[str, int],
                  per_node: dict[str, int]) -> None:
    assert limits.job_tres(job(1, **request_kw)) == (total, per_node)  # type: ignore[arg-type]


def test_a_ledger_admits_jobs_as_a_caller_starts_them() -> None:
    ledger = limits.Ledger.of([holder(9)], tables(qos=LimitSet(max_jobs_per_user=2)))
    assert ledger.admit(mine(1)) is None
    assert ledger.admit(mine(2)) == "QOSMaxJobsPerUserLimit"
    assert ledger.admit(mine(3, user="bob")) is None


def test_a_job_waiting_for_resources_does_not_count_against_a_limit() -> None:
    # Bob holds 6 of n1's and n2's 8 CPUs for 10 minutes. Alice's job 1 (4 CPUs) waits
    # for them; her job 2 (1 CPU) fits now and delays nothing: as in Slurm it starts,
    # since only running jobs count against MaxJobsPerUser.
    bob = [holder(8, cpus=6, user="bob"), holder(9, cpus=6, user="bob", node_name="n2")]
    d = run([mine(1, cpus=4), mine(2, cpus=1)], tables(qos=LimitSet(max_jobs_per_user=1)),
            bob)
    assert list(started(d)) == [2]
    assert d.reasons == {1: "Resources"}
    assert 1 in d.planned


def test_a_job_started_by_backfill_counts_against_the_next_one() -> None:
    bob = [holder(8, cpus=6, user="bob"), holder(9, cpus=6, user="bob", node_name="n2")]
    d = run([mine(1, cpus=4), mine(2, cpus=1), mine(3, cpus=1)],
            tables(qos=LimitSet(max_jobs_per_user=1)), bob)
    assert list(started(d)) == [2]
    assert d.reasons == {1: "Resources", 3: "QOSMaxJobsPerUserLimit"}
