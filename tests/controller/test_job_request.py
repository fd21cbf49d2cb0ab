"""scontrol update of a pending job's size, memory, gres, features, node lists, account and
files (scheduler/actions/job_request.py): checked as at submit, with Slurm's errors."""

from __future__ import annotations

from typing import Any

import pytest

from accounting.models import Account, Association
from scheduler.actions.errors import SlurmError
from scheduler.actions.jobs import do_release_job, do_update_job
from scheduler.actions.submit import do_submit_job
from scheduler.cycle import run_cycle_once
from scheduler.models import Job, Node
from tests.api.builders import desc, golden_error, make_cluster, make_running, make_user, set_param

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    make_cluster(gres="gpu:2", features="intel,ib")
    return {"root": make_user("root", operator=True), "daemon": make_user("daemon"),
            "bin": make_user("bin")}


def submitted(people: dict[str, Any], **fields: Any) -> Job:
    job = do_submit_job(people["daemon"], desc(**fields)).job
    assert job is not None
    return job


def update(people: dict[str, Any], job: Job, who: str = "daemon", **changes: Any) -> Job:
    do_update_job(people[who], job, changes)
    job.refresh_from_db()
    return job


def refused(people: dict[str, Any], job: Job, who: str = "daemon",
            **changes: Any) -> SlurmError:
    with pytest.raises(SlurmError) as info:
        do_update_job(people[who], job, changes)
    return info.value


def test_an_owner_changes_the_node_and_task_counts(people: dict[str, Any]) -> None:
    job = update(people, submitted(people), nodes_min=2, nodes_max=3)
    assert (job.nodes_min, job.nodes_max, job.ntasks, job.ntasks_set) == (2, 3, 2, False)
    job = update(people, job, ntasks=3)
    assert (job.ntasks, job.ntasks_set) == (3, True)
    job = update(people, job, nodes_min=4, nodes_max=4)  # tasks grow to the nodes, as Slurm
    assert (job.nodes_min, job.ntasks) == (4, 4)


def test_cpus_per_task_and_the_cpu_minimums_become_cpus_per_task(
        people: dict[str, Any]) -> None:
    job = update(people, submitted(people, ntasks=3), min_cpus=4)  # NumCPUs: 3 tasks x 2
    assert (job.cpus_per_task, job.cpus_per_task_set) == (2, False)
    job = update(people, job, min_cpus=1)  # a minimum that was never -c shrinks again
    assert job.cpus_per_task == 1
    job = update(people, submitted(people, nodes_min=2, ntasks=4), min_cpus_per_node=4)
    assert job.cpus_per_task == 2  # MinCPUsNode: 2 tasks a node x 2
    job = update(people, submitted(people), cpus_per_task=2)
    assert (job.cpus_per_task, job.cpus_per_task_set) == (2, True)
    assert update(people, job, min_cpus=1).cpus_per_task == 2  # -c is the floor


def test_memory_per_node_and_per_cpu_replace_each_other(people: dict[str, Any]) -> None:
    job = update(people, submitted(people), mem_per_node_mb=2048)
    assert (job.mem_per_node_mb, job.mem_per_cpu_mb) == (2048, None)
    job = update(people, job, mem_per_cpu_mb=200)
    assert (job.mem_per_node_mb, job.mem_per_cpu_mb) == (None, 200)


def test_gres_features_and_node_lists_are_set_and_cleared(people: dict[str, Any]) -> None:
    job = update(people, submitted(people), gres="gres:gpu:2", constraint="intel&ib",
                 nodelist="n[2-3]", exclude="n4")
    assert (job.gres, job.constraint, job.req_nodes, job.exc_nodes) == (
        "gres:gpu:2", "intel&ib", "n[2-3]", "n4")
    job = update(people, job, gres="", constraint="", nodelist="", exclude="")
    assert (job.gres, job.constraint, job.req_nodes, job.exc_nodes) == ("", "", "", "")


def test_a_new_account_must_be_one_of_the_users(people: dict[str, Any]) -> None:
    physics = Account.objects.create(name="physics")
    chemistry = Account.objects.create(name="chemistry")
    Association.objects.create(account=physics, user="daemon", is_default=True)
    Association.objects.create(account=chemistry, user="daemon")
    job = submitted(people)
    assert update(people, job, account="chemistry").account == "chemistry"
    err = refused(people, job, account="nosuchacct")
    assert (err.error, err.error_number) == (golden_error("021_err_unknown_account")[0], 2045)


def test_files_wckey_time_min_and_oversubscribe(people: dict[str, Any]) -> None:
    job = update(people, submitted(people), cwd="/srv", stdout="o_%j", stderr="e_%j",
                 wckey="sim", time_min_min=30)
    assert (job.work_dir, job.stdout, job.stderr, job.wckey, job.time_min_min) == (
        "/srv", "o_%j", "e_%j", "sim", 30)
    err = refused(people, job, exclusive=True)  # OverSubscribe: an operator's, as in Slurm
    assert err.error == "Access/permission denied"
    assert update(people, job, "root", exclusive=True).exclusive


def test_requeue_and_mail_change_while_the_job_runs(people: dict[str, Any]) -> None:
    job = make_running(Node.objects.get(name="n1"))
    job = update(people, job, requeue=False, mail_type="END", mail_user="d@x")
    assert (job.requeue, job.mail_type, job.mail_user) == (False, "END", "d@x")


@pytest.mark.parametrize("changes", [
    {"nodes_min": 2}, {"ntasks": 2}, {"min_cpus": 2}, {"mem_per_node_mb": 10},
    {"gres": "gpu:1"}, {"constraint": "intel"}, {"nodelist": "n1"}, {"account": "x"},
    {"cwd": "/srv"}, {"stdout": "o"}, {"wckey": "w"}, {"time_min_min": 1},
])
def test_a_running_jobs_request_is_no_longer_pending(people: dict[str, Any],
                                                    changes: dict[str, Any]) -> None:
    err = refused(people, make_running(Node.objects.get(name="n1")), **changes)
    assert (err.error, err.error_number) == ("Job is no longer pending execution", 2073)


def test_nobody_resizes_another_users_job(people: dict[str, Any]) -> None:
    err = refused(people, submitted(people), "bin", nodes_min=2, nodes_max=2)
    assert (err.error, err.http_status) == ("Access/permission denied", 403)


@pytest.mark.parametrize("changes, error", [
    ({"nodes_min": 0}, "Node count specification invalid"),
    ({"nodes_min": 3, "nodes_max": 2}, "Node count specification invalid"),
    ({"ntasks": 0}, "Task count specification invalid"),
    ({"cpus_per_task": 0}, "Failure during parsing"),
    ({"min_cpus": "4"}, "Failure during parsing"),
    ({"mem_per_node_mb": -1}, "Failure during parsing"),
    ({"gres": "gpu:3"}, "Invalid generic resource (gres) specification"),
    ({"gres": "gpu:a:b:c"}, "Invalid generic resource (gres) specification"),
    ({"constraint": "amd"}, "Invalid feature specification"),
    ({"constraint": "intel ib"}, "Invalid feature specification"),
    ({"nodelist": "n[1-"}, "Invalid node name specified"),
    ({"exclude": "n9"}, "Invalid node name specified"),
    ({"nodelist": "n5"}, "Requested nodes not in this partition"),
    ({"partition": "nosuch"}, "Invalid partition name specified"),
    ({"qos": "nosuch"}, "Invalid qos specification"),
    ({"time_min_min": 90}, "Invalid time-min specification (exceeds job's time or other "
                           "limits)"),
    ({"cwd": ""}, "Job cannot be submitted without the current working directory "
                  "specified."),
    ({"requeue": "yes"}, "Failure during parsing"),
    ({"color": "red"}, "Failure during parsing"),
])
def test_a_bad_value_is_refused_with_slurms_error_and_changes_nothing(
        people: dict[str, Any], changes: dict[str, Any], error: str) -> None:
    Node.objects.create(name="n5", cpus=2, real_memory_mb=4000)  # in no partition
    job = submitted(people)
    err = refused(people, job, **changes)
    assert err.error == error
    job.refresh_from_db()
    assert (job.nodes_min, job.ntasks, job.gres, job.constraint, job.req_nodes) == (
        1, 1, "", "", "")


def test_memory_no_node_has_is_refused_and_the_job_stays_pending(
        people: dict[str, Any]) -> None:
    job = submitted(people)
    err = refused(people, job, mem_per_node_mb=999999)
    assert (err.error, err.detail) == golden_error("018_err_mem_too_large")
    job.refresh_from_db()
    assert (job.state, job.mem_per_node_mb) == ("PENDING", None)


def test_over_partition_limits_pends_or_is_refused_as_at_submit(
        people: dict[str, Any]) -> None:
    job = update(people, submitted(people), cpus_per_task=64)
    assert (job.cpus_per_task, job.reason) == (64, "PartitionConfig")  # golden 019
    job = update(people, job, cpus_per_task=1)
    assert job.reason == "None"
    assert update(people, job, partition="short").reason == "PartitionTimeLimit"  # golden 017
    set_param("EnforcePartLimits", "ALL")
    err = refused(people, submitted(people), cpus_per_task=64)
    assert (err.error, err.detail) == golden_error("144_err_enforce_cpus_too_many")
    err = refused(people, submitted(people), nodes_min=10, nodes_max=10)
    assert (err.error, err.detail) == golden_error("145_err_enforce_nodes_too_many")


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_places_the_job_as_updated(people: dict[str, Any]) -> None:
    job = update(people, submitted(people, hold=True), nodelist="n3", ntasks=2,
                 mem_per_node_mb=300, gres="gpu:1")
    do_release_job(people["daemon"], job)
    assert run_cycle_once().started == [job.id]
    job.refresh_from_db()
    assert (job.state, job.nodes) == ("RUNNING", "n3")
    assert (job.alloc["n3"]["cpus"], job.alloc["n3"]["mem_mb"], len(job.alloc["n3"]["gpus"])) \
        == (2, 300, 1)
