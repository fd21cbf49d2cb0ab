"""QOS and association limits live: the cycle's pending reasons and submit-time rejections."""

from __future__ import annotations

from typing import Any

import pytest

from accounting.models import Account, Association, Qos
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.cycle import run_cycle_once
from scheduler.models import Job
from tests.api.builders import desc, make_cluster, make_user, set_param

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = ("Job violates accounting/QOS policy (job submit limit, user's size and/or time "
          "limits)")


@pytest.fixture
def daemon(db: Any) -> Any:
    make_cluster()
    set_param("AccountingStorageEnforce", "associations,limits,qos")
    root = Account.objects.create(name="root")
    science = Account.objects.create(name="science", parent=root)
    assoc = Association.objects.create(account=science, user="daemon", is_default=True)
    normal, _ = Qos.objects.get_or_create(name="normal")
    assoc.qos.add(normal)
    return make_user("daemon")


def submit(user: Any, **fields: Any) -> Job:
    job = do_submit_job(user, desc(**fields)).job
    assert job is not None
    return job


def refreshed(job: Job) -> Job:
    job.refresh_from_db()
    return job


def rejected(user: Any, **fields: Any) -> SlurmError:
    with pytest.raises(SlurmError) as info:
        do_submit_job(user, desc(**fields))
    return info.value


def test_a_qos_max_jobs_per_user_of_one_keeps_the_second_job_pending(daemon: Any) -> None:
    Qos.objects.filter(name="normal").update(max_jobs_per_user=1)
    first, second = submit(daemon), submit(daemon)
    result = run_cycle_once()
    assert result.started == [first.id]
    assert refreshed(second).state == "PENDING"
    assert refreshed(second).reason == "QOSMaxJobsPerUserLimit"
    run_cycle_once()  # the running job still counts in the next cycle
    assert refreshed(second).reason == "QOSMaxJobsPerUserLimit"


def test_an_account_grp_cpu_limit_holds_jobs_of_its_subtree(daemon: Any) -> None:
    Account.objects.filter(name="root").update(grp_tres="cpu=2")
    first, second = submit(daemon, cpus_per_task=2), submit(daemon)
    run_cycle_once()
    assert refreshed(first).state == "RUNNING"
    assert refreshed(second).reason == "AssocGrpCpuLimit"


def test_an_inherited_max_jobs_gives_assoc_max_jobs_limit(daemon: Any) -> None:
    Account.objects.filter(name="science").update(max_jobs_per_user=1)
    submit(daemon)
    second = submit(daemon)
    run_cycle_once()
    assert refreshed(second).reason == "AssocMaxJobsLimit"


def test_limits_are_not_enforced_without_accounting_storage_enforce(daemon: Any) -> None:
    set_param("AccountingStorageEnforce", "associations")
    Qos.objects.filter(name="normal").update(max_jobs_per_user=1, max_submit_jobs_per_user=1)
    submit(daemon)
    submit(daemon)
    assert len(run_cycle_once().started) == 2


@pytest.mark.parametrize("where", ["qos", "assoc"])
def test_submitting_beyond_max_submit_jobs_is_rejected(daemon: Any, where: str) -> None:
    if where == "qos":
        Qos.objects.filter(name="normal").update(max_submit_jobs_per_user=2)
    else:
        Association.objects.filter(user="daemon").update(max_submit_jobs_per_user=2)
    submit(daemon)
    submit(daemon)
    err = rejected(daemon)
    assert (err.error, err.error_number, err.detail) == (POLICY, 2050, [])
    assert Job.objects.count() == 2


def test_an_array_counts_its_tasks_against_grp_submit_jobs(daemon: Any) -> None:
    Qos.objects.filter(name="normal").update(grp_submit_jobs=3)
    assert rejected(daemon, array="0-3").error == POLICY
    submit(daemon, array="0-2")


@pytest.mark.parametrize(("limits", "fields"), [
    ({"max_tres_per_job": "cpu=1"}, {"cpus_per_task": 2}),
    ({"max_tres_per_job": "node=1"}, {"nodes_min": 2}),
    ({"max_tres_per_job": "mem=100M"}, {"mem_per_node_mb": 200}),
    ({"max_tres_per_node": "cpu=1"}, {"ntasks": 2}),
    ({"max_wall_min": 30}, {"time_limit_min": 31}),
])
def test_a_request_over_a_per_job_limit_is_rejected_under_deny_on_limit(
        daemon: Any, limits: dict[str, Any], fields: dict[str, Any]) -> None:
    Qos.objects.filter(name="normal").update(flags="DenyOnLimit", **limits)
    assert rejected(daemon, **fields).error == POLICY
    Qos.objects.filter(name="normal").update(max_tres_per_job="", max_tres_per_node="",
                                             max_wall_min=None)
    Association.objects.filter(user="daemon").update(**limits)
    assert rejected(daemon, **fields).error == POLICY


def test_without_a_time_limit_max_wall_becomes_the_jobs_limit(daemon: Any) -> None:
    Qos.objects.filter(name="normal").update(max_wall_min=30)
    assert submit(daemon).time_limit_min == 30


def test_a_qos_the_association_does_not_allow_is_invalid(daemon: Any) -> None:
    Qos.objects.create(name="high")
    assert rejected(daemon, qos="high").error == "Invalid qos specification"
    Association.objects.get(user="daemon").qos.add(Qos.objects.get(name="high"))
    assert submit(daemon, qos="high").qos == "high"


@pytest.mark.parametrize(("limits", "fields", "qos_reason", "assoc_reason"), [
    ({"max_tres_per_job": "cpu=1"}, {"cpus_per_task": 2}, "QOSMaxCpuPerJobLimit",
     "AssocMaxCpuPerJobLimit"),
    ({"max_wall_min": 30}, {"time_limit_min": 31}, "QOSMaxWallDurationPerJobLimit",
     "AssocMaxWallDurationPerJobLimit"),
])
def test_without_deny_on_limit_a_job_over_a_per_job_limit_pends_with_its_reason(
        daemon: Any, limits: dict[str, Any], fields: dict[str, Any], qos_reason: str,
        assoc_reason: str) -> None:
    Qos.objects.filter(name="normal").update(**limits)
    job = submit(daemon, **fields)
    run_cycle_once()
    assert (refreshed(job).state, refreshed(job).reason) == ("PENDING", qos_reason)
    assert job.time_limit_min == fields.get("time_limit_min", job.time_limit_min)
    Job.objects.all().delete()
    Qos.objects.filter(name="normal").update(max_tres_per_job="", max_wall_min=None)
    Association.objects.filter(user="daemon").update(**limits)
    job = submit(daemon, **fields)
    run_cycle_once()
    assert (refreshed(job).state, refreshed(job).reason) == ("PENDING", assoc_reason)
