"""do_submit_job: Slurm's acceptance rules and its exact error texts (slurm-golden err_*)."""

from __future__ import annotations

from typing import Any

import pytest

from accounting.models import Account, Association, Qos
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.models import Job, Partition
from tests.api.builders import desc, golden_error, make_cluster, make_user, set_param

pytestmark = pytest.mark.django_db


@pytest.fixture
def daemon(db: Any) -> Any:
    make_cluster()
    return make_user("daemon")


def rejected(user: Any, **fields: Any) -> SlurmError:
    with pytest.raises(SlurmError) as info:
        do_submit_job(user, desc(**fields))
    return info.value


def test_it_rejects_an_unknown_partition_as_slurm_does(daemon: Any) -> None:
    err = rejected(daemon, partition="nosuch")
    assert (err.error, err.detail) == golden_error("016_err_invalid_partition")
    assert err.error_number == 2000


def test_it_uses_the_default_partition_and_its_default_time(daemon: Any) -> None:
    job = do_submit_job(daemon, desc()).job
    assert job is not None
    assert (job.partition, job.time_limit_min, job.state, job.reason) == (
        "debug", 60, "PENDING", "None")
    assert (job.user, job.uid, job.mem_per_cpu_mb) == ("daemon", 1, 100)


@pytest.mark.parametrize("state", ["DRAIN", "INACTIVE"])
@pytest.mark.parametrize("named", [True, False])
def test_a_drained_or_inactive_partition_takes_no_new_jobs(daemon: Any, state: str,
                                                          named: bool) -> None:
    Partition.objects.filter(name="debug").update(state=state)
    err = rejected(daemon, **({"partition": "debug"} if named else {}))
    assert (err.error, err.error_number) == (
        "Required partition not available (inactive or drain)", 2070)
    assert not Job.objects.exists()


def test_a_down_partition_queues_jobs(daemon: Any) -> None:
    Partition.objects.filter(name="debug").update(state="DOWN")
    assert do_submit_job(daemon, desc(partition="debug")).job is not None


def test_it_rejects_a_job_without_partition_when_there_is_no_default(daemon: Any) -> None:
    Partition.objects.update(is_default=False)
    err = rejected(daemon)
    assert (err.error, err.error_number) == (
        "No partition specified or system default partition", 2001)


@pytest.mark.parametrize("fields, reason", [
    ({"partition": "short", "time_limit_min": 30}, "PartitionTimeLimit"),   # golden 017
    ({"cpus_per_task": 64}, "PartitionConfig"),                              # golden 019
    ({"nodes_min": 10}, "PartitionConfig"),                                  # golden 020
])
def test_over_limit_requests_wait_when_partition_limits_are_not_enforced(
        daemon: Any, fields: dict[str, Any], reason: str) -> None:
    job = do_submit_job(daemon, desc(**fields)).job
    assert job is not None
    assert (job.state, job.reason) == ("PENDING", reason)


@pytest.mark.parametrize("fields, golden", [
    ({"partition": "short", "time_limit_min": 30}, "143_err_enforce_time_over_partition_max"),
    ({"cpus_per_task": 64}, "144_err_enforce_cpus_too_many"),
    ({"nodes_min": 10}, "145_err_enforce_nodes_too_many"),
])
def test_over_limit_requests_are_rejected_with_enforce_part_limits_all(
        daemon: Any, fields: dict[str, Any], golden: str) -> None:
    set_param("EnforcePartLimits", "ALL")
    err = rejected(daemon, **fields)
    assert (err.error, err.detail) == golden_error(golden)
    assert not Job.objects.exists()


@pytest.mark.parametrize("enforce", ["NO", "ALL"])
def test_memory_no_node_has_consumes_a_job_id_and_leaves_a_failed_job(
        daemon: Any, enforce: str) -> None:
    set_param("EnforcePartLimits", enforce)
    first = do_submit_job(daemon, desc()).job_id
    err = rejected(daemon, mem_per_node_mb=999999)
    assert (err.error, err.detail) == golden_error("018_err_mem_too_large")
    assert err.error_number == 2014
    failed = Job.objects.get(id=first + 1)
    assert (failed.state, failed.reason, failed.exit_code) == ("FAILED", "BadConstraints", 1)
    assert failed.end_time is not None
    assert not failed.steps.exists()  # it never ran: sacct shows no batch step (golden 115)
    assert do_submit_job(daemon, desc()).job_id == first + 2


def test_an_account_must_be_one_of_the_users_when_associations_exist(daemon: Any) -> None:
    physics = Account.objects.create(name="physics")
    Association.objects.create(account=physics, user="daemon", is_default=True)
    err = rejected(daemon, account="nosuchacct")
    assert err.error == golden_error("021_err_unknown_account")[0]
    job = do_submit_job(daemon, desc()).job
    assert job is not None and job.account == "physics"


def test_any_account_is_accepted_on_a_cluster_without_associations(daemon: Any) -> None:
    job = do_submit_job(daemon, desc(account="whatever")).job
    assert job is not None and job.account == "whatever"
    assert do_submit_job(daemon, desc()).job.account == ""  # type: ignore[union-attr]


def test_an_unknown_qos_is_rejected_and_normal_always_accepted(daemon: Any) -> None:
    Qos.objects.create(name="high")
    err = rejected(daemon, qos="nosuchqos")
    assert err.error == golden_error("032_err_invalid_qos")[0]
    assert do_submit_job(daemon, desc(qos="high")).job.qos == "high"  # type: ignore[union-attr]
    assert do_submit_job(daemon, desc(qos="normal")).job is not None


@pytest.mark.parametrize("dependency", ["bogus:1", "afterok", "afterok:x",
                                        "after:1,afterok:2?after:3"])
def test_a_bad_dependency_is_a_dependency_problem(daemon: Any, dependency: str) -> None:
    err = rejected(daemon, dependency=dependency)
    assert err.error == golden_error("029_err_bad_dependency_syntax")[0]


@pytest.mark.parametrize("dependency", ["afterok:999999", "afterany:1:2", "after:3+10",
                                        "singleton", "afterok:1?afternotok:2", "aftercorr:4_1"])
def test_good_dependencies_are_accepted_even_on_unknown_jobs(daemon: Any, dependency: str) -> None:
    job = do_submit_job(daemon, desc(dependency=dependency)).job
    assert job is not None and (job.dependency, job.reason) == (dependency, "Dependency")


@pytest.mark.parametrize("spec, golden", [("0-20000", "030_err_array_too_big"),
                                          ("x-y", "031_err_bad_array_spec")])
def test_bad_arrays_are_rejected(daemon: Any, spec: str, golden: str) -> None:
    assert rejected(daemon, array=spec).error == golden_error(golden)[0]


@pytest.mark.parametrize("spec, pending, throttle", [
    ("0-99%10", "0-99", 10), ("1,3,5", "1,3,5", None), ("0-10:2", "0,2,4,6,8,10", None)])
def test_an_array_is_one_meta_row_with_its_pending_tasks(
        daemon: Any, spec: str, pending: str, throttle: int | None) -> None:
    job = do_submit_job(daemon, desc(array=spec)).job
    assert job is not None
    assert (job.array_job_id, job.array_task_id, job.array_pending, job.array_max_tasks) == (
        job.id, None, pending, throttle)


def test_gres_and_features_nobody_has_are_rejected(daemon: Any) -> None:
    assert rejected(daemon, gres="gpu:1").error == "Invalid generic resource (gres) specification"
    assert rejected(daemon, gres="gpu:x:y:z").error_number == 2072
    assert rejected(daemon, constraint="bigmem").error == "Invalid feature specification"


def test_gres_and_features_some_node_has_are_accepted(db: Any) -> None:
    make_cluster(gres="gpu:a100:2", features="fast,ib")
    user = make_user("daemon")
    assert do_submit_job(user, desc(gres="gpu:a100:2", constraint="fast&ib")).job is not None
    assert rejected(user, gres="gpu:a100:3").error_number == 2072
    assert rejected(user, gres="gpu:v100:1").error_number == 2072


def test_an_unknown_unix_user_is_an_invalid_user_id(daemon: Any) -> None:
    ghost = make_user("no-such-unix-user-xyz")
    assert rejected(ghost).error == "Invalid user id"


def test_allow_groups_keeps_other_groups_out(daemon: Any) -> None:
    Partition.objects.filter(name="debug").update(allow_groups="root")
    err = rejected(daemon)
    assert (err.error, err.error_number) == (
        "User's group not permitted to use this partition", 2003)
    Partition.objects.filter(name="debug").update(allow_groups="daemon")
    assert do_submit_job(daemon, desc()).job is not None


def test_hold_and_begin_time_give_their_reasons(daemon: Any) -> None:
    held = do_submit_job(daemon, desc(hold=True)).job
    assert held is not None and (held.hold, held.reason, held.priority) == (
        "user", "JobHeldUser", 0)
    import time

    later = do_submit_job(daemon, desc(begin_time=int(time.time()) + 3600)).job
    assert later is not None and later.reason == "BeginTime"


def test_test_only_stores_nothing_and_says_where_it_would_start(daemon: Any) -> None:
    result = do_submit_job(daemon, desc(test_only=True))
    assert not Job.objects.exists()
    assert result.test_only is not None
    assert result.test_only["partition"] == "debug"
    assert result.test_only["cpus"] == 1
    assert result.test_only["nodes"] == "n1"


def test_missing_script_and_bad_types_are_refused(daemon: Any) -> None:
    assert rejected(daemon, script="").error == "Job script not specified"
    assert rejected(daemon, ntasks="four").error_number == 9001
    assert rejected(daemon, nodes_min=2, nodes_max=1).error == "Node count specification invalid"


def test_only_operators_may_set_a_negative_nice(daemon: Any) -> None:
    assert rejected(daemon, nice=-5).error == "Access/permission denied"
    root = make_user("root", operator=True)
    assert do_submit_job(root, desc(nice=-5)).job.nice == -5  # type: ignore[union-attr]


@pytest.mark.parametrize("fields", [{}, {"hold": True}, {"array": "0-3%2"},
                                    {"stdout": "out-%A_%a.txt", "name": "n"}])
def test_a_submission_broadcasts_the_record_of_the_committed_row(
        daemon: Any, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any, fields: dict[str, Any]) -> None:
    from scheduler import events
    from scheduler.records import job_record

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", sent.extend)
    monkeypatch.setattr(events, "heard_by", lambda prefixes: True)  # a page is open
    with django_capture_on_commit_callbacks(execute=True):
        job_id = do_submit_job(daemon, desc(**fields)).job_id
    row = Job.objects.get(id=job_id)
    record = job_record(row, now=None)
    assert [g for g, _ in sent] == ["queue", "user.daemon"]
    assert sent[0][1]["jobs"] == sent[1][1]["jobs"]
    (got,) = sent[0][1]["jobs"]
    assert {k: v for k, v in got.items() if k != "run_time_s"} == {
        k: v for k, v in record.items() if k != "run_time_s"}
