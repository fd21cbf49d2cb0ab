"""Job control actions: cancel, signal, hold/release, requeue, update, and the end of a job."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.actions import jobs as actions
from scheduler.actions.agent import apply_event, do_agent_sync, pending_orders
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.models import AgentOrder, Job, Node
from tests.api.builders import desc, make_cluster, make_job, make_running, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    make_cluster()
    return {"root": make_user("root", operator=True), "daemon": make_user("daemon"),
            "bin": make_user("bin")}


def node(name: str = "n1") -> Node:
    return Node.objects.get(name=name)


def test_cancelling_a_pending_job_ends_it_at_once(people: dict[str, Any]) -> None:
    job = make_job("daemon")
    actions.do_cancel_job(people["daemon"], job)
    job.refresh_from_db()
    assert (job.state, job.cancelled_by, job.reason) == ("CANCELLED", 1, "None")
    assert job.end_time is not None


def test_cancelling_a_running_job_orders_a_terminate_and_waits_for_the_agent(
        people: dict[str, Any]) -> None:
    job = make_running(node(), cpus=2, mem=200)
    actions.do_cancel_job(people["daemon"], job)
    job.refresh_from_db()
    assert job.state == "RUNNING" and job.kill_requested
    orders = pending_orders("n1")
    assert [(o["kind"], o["job_id"], o["payload"]) for o in orders] == [
        ("terminate", job.id, {"reason": "cancel"})]
    actions.do_cancel_job(people["daemon"], job)  # a second scancel adds no order
    assert AgentOrder.objects.count() == 1
    apply_event(node(), {"seq": 1, "kind": "ended", "job_id": job.id, "time": 0,
                         "exit_code": 0, "signal": 15, "terminated_for": "cancel"})
    job.refresh_from_db()
    n1 = node()
    assert (job.state, job.cancelled_by, job.exit_signal) == ("CANCELLED", 1, 15)
    assert (n1.alloc_cpus, n1.alloc_memory_mb, n1.state) == (0, 0, "IDLE")


def test_cancelling_a_finished_job_says_already_done(people: dict[str, Any]) -> None:
    job = make_job("daemon", state="COMPLETED")
    with pytest.raises(SlurmError) as info:
        actions.do_cancel_job(people["daemon"], job)
    assert info.value.error == "Job/step already completing or completed"


def test_nobody_cancels_another_users_job_but_an_operator_does(people: dict[str, Any]) -> None:
    job = make_job("daemon")
    with pytest.raises(SlurmError) as info:
        actions.do_cancel_job(people["bin"], job)
    assert (info.value.error, info.value.http_status) == ("Access/permission denied", 403)
    actions.do_cancel_job(people["root"], job)
    job.refresh_from_db()
    assert (job.state, job.cancelled_by) == ("CANCELLED", 0)


def test_a_signal_is_an_order_only(people: dict[str, Any]) -> None:
    job = make_running(node())
    actions.do_cancel_job(people["daemon"], job, "USR1")
    job.refresh_from_db()
    assert job.state == "RUNNING" and not job.kill_requested
    assert [(o["kind"], o["payload"]) for o in pending_orders("n1")] == [
        ("signal", {"signal": "USR1", "scope": "steps"})]
    with pytest.raises(SlurmError):
        actions.do_cancel_job(people["daemon"], make_job("daemon"), "USR1")


def test_a_signal_names_its_scope_and_sigkill_reaches_every_process(
        people: dict[str, Any]) -> None:
    job = make_running(node())
    actions.do_cancel_job(people["daemon"], job, "USR1", "batch")
    actions.do_cancel_job(people["daemon"], job, "USR2", "full")
    actions.do_cancel_job(people["daemon"], job, "KILL", "steps")
    assert [o["payload"] for o in pending_orders("n1")] == [
        {"signal": "USR1", "scope": "batch"}, {"signal": "USR2", "scope": "full"},
        {"signal": "KILL", "scope": "full"}]
    with pytest.raises(SlurmError):
        actions.do_cancel_job(people["daemon"], job, "USR1", "everything")


def test_cancelling_an_array_by_its_id_cancels_tasks_and_the_pending_rest(
        people: dict[str, Any]) -> None:
    meta = do_submit_job(people["daemon"], desc(array="0-9%2")).job
    assert meta is not None
    task = make_running(node(), array_job_id=meta.id, array_task_id=0)
    Job.objects.filter(pk=meta.pk).update(array_pending="1-9")
    done = actions.do_cancel_jobs(people["daemon"], str(meta.id))
    assert sorted(done) == sorted([meta.id, task.id])
    meta.refresh_from_db()
    assert meta.state == "CANCELLED"
    assert AgentOrder.objects.filter(job=task, kind="terminate").exists()


def test_cancelling_one_pending_task_splits_it_off(people: dict[str, Any]) -> None:
    meta = do_submit_job(people["daemon"], desc(array="0-3")).job
    assert meta is not None
    done = actions.do_cancel_jobs(people["daemon"], f"{meta.id}_2")
    meta.refresh_from_db()
    split = Job.objects.get(id=done[0])
    assert (split.array_job_id, split.array_task_id, split.state) == (meta.id, 2, "CANCELLED")
    assert (meta.state, meta.array_pending) == ("PENDING", "0-1,3")
    with pytest.raises(SlurmError) as info:
        actions.do_cancel_jobs(people["daemon"], "abc")
    assert info.value.error == "Invalid job id specified"


def test_hold_by_owner_is_user_hold_and_by_operator_admin_hold(people: dict[str, Any]) -> None:
    job = make_job("daemon")
    actions.do_hold_job(people["daemon"], job)
    job.refresh_from_db()
    assert (job.hold, job.reason, job.priority) == ("user", "JobHeldUser", 0)
    actions.do_release_job(people["daemon"], job)
    actions.do_hold_job(people["root"], job)
    job.refresh_from_db()
    assert (job.hold, job.reason) == ("admin", "JobHeldAdmin")
    with pytest.raises(SlurmError) as info:
        actions.do_release_job(people["daemon"], job)
    assert info.value.error == "Access/permission denied"
    actions.do_release_job(people["root"], job)
    job.refresh_from_db()
    assert (job.hold, job.reason) == ("", "None")


def test_requeue_terminates_then_the_job_pends_again(people: dict[str, Any]) -> None:
    job = make_running(node(), cpus=2)
    actions.do_requeue_job(people["daemon"], job)
    assert [o["payload"] for o in pending_orders("n1")] == [{"reason": "requeue"}]
    apply_event(node(), {"seq": 1, "kind": "ended", "job_id": job.id, "time": 0,
                         "exit_code": 0, "signal": 15, "terminated_for": "requeue"})
    job.refresh_from_db()
    assert (job.state, job.restarts, job.nodes, job.alloc, job.start_time) == (
        "PENDING", 1, "", {}, None)
    assert node().alloc_cpus == 0


def test_owners_only_lower_time_limits_operators_may_raise(people: dict[str, Any]) -> None:
    job = make_job("daemon", time_limit_min=60)
    actions.do_update_job(people["daemon"], job, {"time_limit_min": 30})
    with pytest.raises(SlurmError) as info:
        actions.do_update_job(people["daemon"], job, {"time_limit_min": 90})
    assert info.value.error == "Access/permission denied"
    actions.do_update_job(people["root"], job, {"time_limit_min": 90, "priority": 5})
    job.refresh_from_db()
    assert (job.time_limit_min, job.priority) == (90, 5)
    with pytest.raises(SlurmError):
        actions.do_update_job(people["daemon"], job, {"priority": 7})


def test_a_running_jobs_new_time_limit_is_sent_to_its_node(people: dict[str, Any]) -> None:
    job = make_running(node())
    actions.do_update_job(people["root"], job, {"time_limit_min": 5})
    actions.do_update_job(people["root"], job, {"time_limit_min": 0})  # 0: UNLIMITED
    assert [(o["kind"], o["payload"]) for o in pending_orders("n1")] == [
        ("limit", {"time_limit_s": 300}), ("limit", {"time_limit_s": None})]


def test_a_pending_jobs_new_time_limit_sends_nothing(people: dict[str, Any]) -> None:
    actions.do_update_job(people["root"], make_job("daemon"), {"time_limit_min": 5})
    assert not AgentOrder.objects.exists()


def test_a_pending_jobs_dependency_can_be_set_checked_and_dropped(
        people: dict[str, Any]) -> None:
    from django.utils import timezone

    job = make_job("daemon", eligible_time=timezone.now())
    actions.do_update_job(people["daemon"], job, {"dependency": "afterok:1"})
    job.refresh_from_db()
    assert (job.dependency, job.eligible_time, job.reason) == ("afterok:1", None, "Dependency")
    with pytest.raises(SlurmError) as info:
        actions.do_update_job(people["daemon"], job, {"dependency": "bogus:1"})
    assert info.value.error == "Job dependency problem"
    actions.do_update_job(people["daemon"], job, {"dependency": ""})
    job.refresh_from_db()
    assert job.dependency == ""
    with pytest.raises(SlurmError):
        actions.do_update_job(people["daemon"], make_running(node()), {"dependency": ""})


def test_a_pending_jobs_begin_time_moves_its_eligibility(people: dict[str, Any]) -> None:
    import time

    from django.utils import timezone

    job = make_job("daemon", eligible_time=timezone.now(), reason="Priority")
    later = int(time.time()) + 3600
    actions.do_update_job(people["daemon"], job, {"begin_time": later})
    job.refresh_from_db()
    assert (int(job.begin_time.timestamp()), job.eligible_time, job.reason) == (
        later, None, "BeginTime")
    actions.do_update_job(people["daemon"], job, {"begin_time": None})
    job.refresh_from_db()
    assert (job.begin_time, job.reason) == (None, "None")
    for bad in ("soon", -1, 10**13):
        with pytest.raises(SlurmError):
            actions.do_update_job(people["daemon"], job, {"begin_time": bad})


def test_updating_the_partition_of_a_running_job_is_refused(people: dict[str, Any]) -> None:
    job = make_running(node())
    with pytest.raises(SlurmError) as info:
        actions.do_update_job(people["daemon"], job, {"partition": "short"})
    assert info.value.error == "Job is no longer pending execution"
    actions.do_update_job(people["daemon"], job, {"name": "renamed"})


@pytest.mark.parametrize("event, state, reason, step_state", [
    ({"exit_code": 0, "signal": 0}, "COMPLETED", "None", "COMPLETED"),
    ({"exit_code": 3, "signal": 0}, "FAILED", "NonZeroExitCode", "FAILED"),
    ({"exit_code": 0, "signal": 9}, "FAILED", "RaisedSignal:9(Killed)", "CANCELLED"),
    # golden 115: a TIMEOUT job's batch step is CANCELLED 0:15
    ({"exit_code": 0, "signal": 15, "timed_out": True}, "TIMEOUT", "TimeLimit", "CANCELLED"),
    ({"exit_code": 0, "signal": 9, "oom": True}, "OUT_OF_MEMORY", "OutOfMemory",
     "OUT_OF_MEMORY"),
])
def test_an_ended_event_gives_slurms_terminal_state(people: dict[str, Any], event: dict[str, Any],
                                                    state: str, reason: str,
                                                    step_state: str) -> None:
    job = make_running(node(), cpus=1, mem=100)
    body = {"seq": 7, "kind": "ended", "job_id": job.id, "time": 1795520821.0,
            "cpu_time_s": 1.5, "max_rss_kb": 2048, **event}
    assert apply_event(node(), body) is True
    assert apply_event(node(), body) is False  # applying twice changes nothing
    job.refresh_from_db()
    assert (job.state, job.reason, job.exit_code, job.exit_signal) == (
        state, reason, event["exit_code"], event["signal"])
    assert job.end_time is not None and int(job.end_time.timestamp()) == 1795520821
    step = job.steps.get(step="batch")  # type: ignore[attr-defined]
    assert (step.state, step.exit_code, step.max_rss_kb) == (step_state, event["exit_code"],
                                                             2048)
    assert node().alloc_cpus == 0


def test_release_resources_is_idempotent_and_keeps_other_jobs(people: dict[str, Any]) -> None:
    first = make_running(node(), cpus=1, mem=100)
    make_running(node(), cpus=1, mem=300)
    assert node().state == "ALLOCATED"
    assert actions.release_resources(first) == ["n1"]
    assert actions.release_resources(first) == []
    n1 = node()
    assert (n1.alloc_cpus, n1.alloc_memory_mb, n1.state) == (1, 300, "MIXED")


def test_the_outbox_resends_orders_until_acked_and_events_are_idempotent(
        people: dict[str, Any]) -> None:
    job = make_running(node(), cpus=2)
    actions.do_cancel_job(people["daemon"], job)
    body: dict[str, Any] = {"node": "n1", "running": [job.id], "events": [], "acks": [],
                            "wait_s": 0, "load": 0.5, "free_memory_mb": 3000}
    do_agent_sync("n1", body)
    first = pending_orders("n1")
    assert pending_orders("n1") == first and len(first) == 1  # re-sent
    ended = {"seq": 4, "kind": "ended", "job_id": job.id, "time": 0, "exit_code": 0,
             "signal": 15, "terminated_for": "cancel"}
    acked = do_agent_sync("n1", {**body, "acks": [first[0]["id"]], "events": [ended]})
    assert acked == [4]
    assert pending_orders("n1") == []
    assert do_agent_sync("n1", {**body, "events": [ended]}) == [4]  # acknowledged again
    job.refresh_from_db()
    n1 = node()
    assert job.state == "CANCELLED"
    assert (n1.alloc_cpus, n1.cpu_load, n1.free_memory_mb) == (0, 0.5, 3000)
