"""Preemption, kill_invalid_depend, operator priority, nice, and what submit stores for launch."""

from __future__ import annotations

from typing import Any

import pytest

from accounting.models import Qos
from scheduler.actions import jobs as actions
from scheduler.actions.agent import apply_event
from scheduler.actions.submit import do_submit_job
from scheduler.cycle import run_cycle_once
from scheduler.models import AgentOrder, Job, Node
from tests.api.builders import desc, make_cluster, make_job, make_running, make_user, set_param

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    make_cluster(nodes=2)
    return {"root": make_user("root", operator=True), "daemon": make_user("daemon")}


def qos_pair(mode: str = "cluster") -> None:
    low = Qos.objects.create(name="low", preempt_mode=mode)
    high = Qos.objects.create(name="high")
    high.preempt.add(low)


def fill(qos: str = "low", **fields: Any) -> list[Job]:
    return [make_running(n, cpus=2, qos=qos, **fields) for n in Node.objects.order_by("name")]


def ended(job: Job, why: str) -> None:
    job.refresh_from_db()
    apply_event(Node.objects.get(name=job.batch_host),
                {"seq": 1, "kind": "ended", "job_id": job.id, "time": 0, "exit_code": 0,
                 "signal": 15, "terminated_for": why})
    job.refresh_from_db()


# ---- preemption --------------------------------------------------------------------------


def test_a_high_qos_job_requeues_one_low_job_and_then_starts(people: dict[str, Any]) -> None:
    set_param("PreemptType", "preempt/qos")
    set_param("PreemptMode", "REQUEUE")
    qos_pair()
    victims = fill()
    high = make_job(qos="high", cpus_per_task=2)
    run_cycle_once()
    orders = list(AgentOrder.objects.filter(kind="terminate"))
    assert len(orders) == 1 and orders[0].payload == {"reason": "requeue"}
    victim = next(v for v in victims if v.pk == orders[0].job_id)
    victim.refresh_from_db()
    assert victim.kill_requested
    run_cycle_once()  # room is coming: no second victim
    assert AgentOrder.objects.filter(kind="terminate").count() == 1
    ended(victim, "requeue")
    assert (victim.state, victim.restarts) == ("PENDING", 1)
    run_cycle_once()
    high.refresh_from_db()
    victim.refresh_from_db()
    assert high.state == "RUNNING"
    assert (victim.state, victim.reason) == ("PENDING", "BeginTime")


def test_cancel_mode_ends_the_victim_preempted(people: dict[str, Any]) -> None:
    set_param("PreemptType", "preempt/qos")
    set_param("PreemptMode", "REQUEUE")
    qos_pair(mode="cancel")
    fill()
    make_job(qos="high", cpus_per_task=2)
    run_cycle_once()
    order = AgentOrder.objects.get(kind="terminate")
    assert order.payload == {"reason": "cancel"}
    victim = Job.objects.get(pk=order.job_id)
    ended(victim, "cancel")
    assert victim.state == "PREEMPTED"


def test_no_preemption_without_preempt_type(people: dict[str, Any]) -> None:
    qos_pair()
    fill()
    job = make_job(qos="high", cpus_per_task=2)
    run_cycle_once()
    job.refresh_from_db()
    assert job.reason == "Resources"
    assert not AgentOrder.objects.filter(kind="terminate").exists()


def test_a_job_that_may_not_be_requeued_is_cancelled(people: dict[str, Any]) -> None:
    set_param("PreemptType", "preempt/qos")
    set_param("PreemptMode", "REQUEUE")
    qos_pair()
    fill(requeue=False)
    make_job(qos="high", cpus_per_task=2)
    run_cycle_once()
    assert AgentOrder.objects.get(kind="terminate").payload == {"reason": "cancel"}


@pytest.mark.parametrize("mode", ["cancel", "requeue"])
def test_a_preempted_allocation_ends_preempted_at_once(people: dict[str, Any],
                                                       mode: str) -> None:
    # Nothing runs on an agent for salloc's job, and Slurm cannot requeue it either.
    set_param("PreemptType", "preempt/qos")
    set_param("PreemptMode", "REQUEUE")
    qos_pair(mode=mode)
    victims = fill(batch=False)
    high = make_job(qos="high", cpus_per_task=2)
    run_cycle_once()
    assert not AgentOrder.objects.filter(kind="terminate").exists()
    gone = [v for v in victims if Job.objects.get(pk=v.pk).state == "PREEMPTED"]
    assert len(gone) == 1
    victim = Job.objects.get(pk=gone[0].pk)
    assert victim.end_time is not None and not victim.alloc and not victim.kill_requested
    run_cycle_once()
    high.refresh_from_db()
    assert high.state == "RUNNING"


# ---- dependencies ------------------------------------------------------------------------


def test_a_failed_afterok_target_never_satisfies(people: dict[str, Any]) -> None:
    target = make_job(state="FAILED", exit_code=1)
    job = make_job(dependency=f"afterok:{target.id}")
    other = make_job(dependency=f"afternotok:{target.id}")
    run_cycle_once()
    job.refresh_from_db()
    other.refresh_from_db()
    assert (job.state, job.reason) == ("PENDING", "DependencyNeverSatisfied")
    assert other.state == "RUNNING"


def test_kill_invalid_depend_cancels_such_jobs(people: dict[str, Any]) -> None:
    set_param("SchedulerParameters", "kill_invalid_depend")
    target = make_job(state="COMPLETED")
    job = make_job(dependency=f"afternotok:{target.id}")
    run_cycle_once()
    job.refresh_from_db()
    assert (job.state, job.reason) == ("CANCELLED", "DependencyNeverSatisfied")
    assert job.end_time is not None


def test_backfill_caps_from_scheduler_parameters(people: dict[str, Any]) -> None:
    # Both nodes busy for a while: every job below waits, the first one examined is
    # planned, the rest are beyond bf_max_job_test.
    for n in Node.objects.order_by("name"):
        make_running(n, cpus=2)
    set_param("SchedulerParameters", "bf_max_job_test=1,bf_min_prio_reserve=0")
    jobs = [make_job() for _ in range(3)]
    run_cycle_once()
    planned = [j.id for j in jobs if Job.objects.get(pk=j.id).sched_start_time is not None]
    assert planned == [jobs[0].id]


# ---- priority and nice -------------------------------------------------------------------


def test_an_operator_priority_is_kept_by_the_cycle(people: dict[str, Any]) -> None:
    fill(qos="normal")
    job = make_job()
    actions.do_update_job(people["root"], job, {"priority": 12345})
    run_cycle_once()
    job.refresh_from_db()
    assert (job.priority, job.admin_priority) == (12345, 12345)
    run_cycle_once()
    job.refresh_from_db()
    assert job.priority == 12345


def test_operator_priority_orders_the_queue(people: dict[str, Any]) -> None:
    first = make_job(cpus_per_task=2, nodes_min=2, nodes_max=2)
    second = make_job(cpus_per_task=2, nodes_min=2, nodes_max=2)
    actions.do_update_job(people["root"], second, {"priority": 1000})
    run_cycle_once()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("PENDING", "RUNNING")


def test_priority_zero_holds_and_users_may_not_set_priority(people: dict[str, Any]) -> None:
    job = make_job()
    actions.do_update_job(people["root"], job, {"priority": 0})
    job.refresh_from_db()
    assert (job.hold, job.reason) == ("admin", "JobHeldAdmin")
    with pytest.raises(actions.SlurmError):
        actions.do_update_job(people["daemon"], make_job(), {"priority": 5})


def test_nice_at_submit_and_by_update(people: dict[str, Any]) -> None:
    job = do_submit_job(people["daemon"], desc(nice=50)).job
    assert job is not None and job.nice == 50
    job = actions.do_update_job(people["daemon"], job, {"nice": 100})
    assert job.nice == 100
    with pytest.raises(actions.SlurmError) as info:
        actions.do_update_job(people["daemon"], job, {"nice": -5})
    assert info.value.error == "Access/permission denied"
    assert actions.do_update_job(people["root"], job, {"nice": -5}).nice == -5


# ---- what submit stores and launch uses ---------------------------------------------------


def test_submit_stores_the_array_spec_and_which_counts_were_given(
        people: dict[str, Any]) -> None:
    job = do_submit_job(people["daemon"], desc(array="0-15:5%2", ntasks=2)).job
    assert job is not None
    assert (job.array_spec, job.array_max_tasks, job.ntasks_set, job.cpus_per_task_set) == (
        "0-15:5%2", 2, True, False)
    plain = do_submit_job(people["daemon"], desc()).job
    assert plain is not None and not plain.ntasks_set and not plain.cpus_per_task_set


@pytest.mark.parametrize(("fields", "nodes"), [
    ({"nodes_min": 2}, (2, 2)),
    ({"nodes_min": 1, "nodes_max": 2}, (1, 2)),
    ({"nodes_min": 1, "nodes_max": None}, (1, None)),
    ({}, (1, None)),
])
def test_dash_n_means_exactly_n_nodes(people: dict[str, Any], fields: dict[str, Any],
                                      nodes: tuple[int, int | None]) -> None:
    job = do_submit_job(people["daemon"], desc(**fields)).job
    assert job is not None and (job.nodes_min, job.nodes_max) == nodes


def test_launch_env_follows_what_was_given(people: dict[str, Any]) -> None:
    job = do_submit_job(people["daemon"], desc(array="0-15:5%2")).job
    cpt = do_submit_job(people["daemon"], desc(cpus_per_task=1, ntasks=1)).job
    assert job is not None and cpt is not None
    run_cycle_once()
    env = {o.job.array_task_id: o.payload["env"] for o in
           AgentOrder.objects.filter(kind="launch", job__array_job_id=job.id)}
    assert sorted(env) == [0, 5]
    e = env[5]
    assert (e["SLURM_ARRAY_TASK_ID"], e["SLURM_ARRAY_TASK_MIN"], e["SLURM_ARRAY_TASK_MAX"],
            e["SLURM_ARRAY_TASK_COUNT"], e["SLURM_ARRAY_TASK_STEP"]) == ("5", "0", "15", "4", "5")
    assert "SLURM_NTASKS" not in e and "SLURM_CPUS_PER_TASK" not in e
    other = AgentOrder.objects.get(kind="launch", job_id=cpt.id).payload["env"]
    assert other["SLURM_NTASKS"] == other["SLURM_NPROCS"] == "1"
    assert other["SLURM_CPUS_PER_TASK"] == "1"


def test_the_cycle_and_scancel_split_array_tasks_the_same_way(people: dict[str, Any]) -> None:
    job = do_submit_job(people["daemon"], desc(array="1-3", hold=True)).job
    assert job is not None
    rows = actions.do_cancel_jobs(people["daemon"], f"{job.id}_2")
    assert len(rows) == 1
    task = Job.objects.get(array_job_id=job.id, array_task_id=2)
    assert task.state == "CANCELLED" and task.pk != job.id
    actions.do_release_job(people["daemon"], Job.objects.get(pk=job.id))
    run_cycle_once()
    tasks = dict(Job.objects.filter(array_job_id=job.id).values_list("array_task_id", "state"))
    assert tasks == {1: "RUNNING", 2: "CANCELLED", 3: "RUNNING"}
    assert Job.objects.get(pk=job.id).array_task_id == 3  # the last task keeps the meta id


def test_cancelling_an_arrays_pending_rest_leaves_its_running_tasks(
        people: dict[str, Any]) -> None:
    """``scancel -t PENDING`` sends ``<array>_[<pending>]``: the pending rest is cancelled
    as one record when all of it is named, task by task when part of it is."""
    from scheduler.actions.errors import SlurmError

    job = do_submit_job(people["daemon"], desc(array="0-9%2")).job
    assert job is not None
    run_cycle_once()

    def state() -> dict[int | None, str]:
        rows = Job.objects.filter(array_job_id=job.id).values_list("array_task_id", "state")
        return dict(rows)

    assert state() == {0: "RUNNING", 1: "RUNNING", None: "PENDING"}
    actions.do_cancel_jobs(people["daemon"], f"{job.id}_[8-9,30]")  # part of it, and a stranger
    assert state() == {0: "RUNNING", 1: "RUNNING", 8: "CANCELLED", 9: "CANCELLED",
                       None: "PENDING"}
    actions.do_cancel_jobs(people["daemon"], f"{job.id}_[2-7]")  # the rest, whole
    assert state() == {0: "RUNNING", 1: "RUNNING", 8: "CANCELLED", 9: "CANCELLED",
                       None: "CANCELLED"}
    assert Job.objects.get(pk=job.id).array_pending == "2-7"  # one record: 10_[2-7]
    with pytest.raises(SlurmError, match="Invalid job id specified"):
        actions.do_cancel_jobs(people["daemon"], f"{job.id}_[40-41]")
    with pytest.raises(SlurmError, match="Access/permission denied"):
        other = do_submit_job(people["root"], desc(array="0-3", hold=True)).job
        assert other is not None
        actions.do_cancel_jobs(people["daemon"], f"{other.id}_[0-3]")


def test_holding_one_task_of_the_pending_rest_holds_that_task_alone(
        people: dict[str, Any]) -> None:
    job = do_submit_job(people["daemon"], desc(array="0-5%1")).job
    assert job is not None
    run_cycle_once()
    actions.do_for_spec(actions.do_hold_job, people["daemon"], f"{job.id}_3")
    rows = Job.objects.filter(array_job_id=job.id)
    held = dict(rows.filter(state="PENDING").values_list("array_task_id", "hold"))
    assert held == {3: "user", None: ""}  # task 3 split out and held; 1-2, 4-5 untouched
    assert Job.objects.get(pk=job.id).array_pending == "1-2,4-5"
    actions.do_for_spec(actions.do_release_job, people["daemon"], f"{job.id}_3")
    assert rows.get(array_task_id=3).hold == ""


def test_array_task_throttle_is_changed_for_the_whole_array(people: dict[str, Any]) -> None:
    """``scontrol update JobId=<array or task> ArrayTaskThrottle=N`` (0: no limit)."""
    from scheduler.actions.errors import SlurmError
    from scheduler.records import job_record

    job = do_submit_job(people["daemon"], desc(array="0-7%1")).job
    assert job is not None
    run_cycle_once()
    running = Job.objects.filter(array_job_id=job.id, state="RUNNING")
    assert running.count() == 1
    task = running.get()
    actions.do_update_job(people["daemon"], task, {"array_max_tasks": 3})  # named by a task
    job.refresh_from_db()
    assert job.array_max_tasks == 3 and job_record(job)["array_task_str"].endswith("%3]")
    run_cycle_once()
    assert running.count() == 3
    actions.do_update_job(people["daemon"], job, {"array_max_tasks": 0})
    job.refresh_from_db()
    assert job.array_max_tasks is None  # no limit: the 2-node cluster's 4 CPUs are the limit
    run_cycle_once()
    assert running.count() == 4
    single = make_job()
    with pytest.raises(SlurmError, match="Invalid job array specification"):
        actions.do_update_job(people["daemon"], single, {"array_max_tasks": 2})
    with pytest.raises(SlurmError, match="Invalid job array specification"):
        actions.do_update_job(people["daemon"], job, {"array_max_tasks": -1})
