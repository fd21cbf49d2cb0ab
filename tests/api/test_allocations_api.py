"""salloc's allocations through the REST API: submitted with the allocation flag,
started by the cycle without a launch order, polled for their environment,
relinquished with the command's status, cancelled, and ended TIMEOUT by the
controller at their time limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from scheduler.cycle import run_cycle_once
from scheduler.health import check_nodes
from scheduler.models import AgentOrder, Job, JobStep, Node
from tests.api.builders import desc, make_running

pytestmark = pytest.mark.django_db


def allocation(**fields: Any) -> dict[str, Any]:
    body = desc(allocation=True, name="sh", command="sh -c true")
    del body["script"]
    return {**body, **fields}


@pytest.fixture
def held(cluster: Any, users: Any) -> Job:
    """A running allocation of daemon's on n1."""
    return make_running(Node.objects.get(name="n1"), cpus=2, batch=False, script="")


def relinquish(api: Any, job: Job, user: str = "daemon", **body: Any) -> Any:
    return api(user).post(f"/api/jobs/{job.id}/allocation/", body, format="json")


def test_an_allocation_starts_without_a_launch_order_and_offers_its_environment(
        cluster: Any, api: Any) -> None:
    r = api("daemon").post("/api/jobs/", allocation(ntasks=2, cpus_per_task=1), format="json")
    assert r.status_code == 201, r.json()
    job_id = r.json()["job_id"]
    pending = api("daemon").get(f"/api/jobs/{job_id}/allocation/").json()
    assert (pending["state"], "environment" in pending) == ("PENDING", False)
    run_cycle_once()
    job = Job.objects.get(pk=job_id)
    assert (job.state, job.batch, job.name) == ("RUNNING", False, "sh")
    assert not AgentOrder.objects.filter(job=job).exists()
    env = api("daemon").get(f"/api/jobs/{job_id}/allocation/").json()["environment"]
    assert {k: env[k] for k in ("SLURM_JOB_ID", "SLURM_JOBID", "SLURM_JOB_NODELIST",
                                "SLURM_NNODES", "SLURM_NTASKS", "SLURM_CPUS_PER_TASK",
                                "SLURM_JOB_PARTITION", "SLURM_SUBMIT_DIR")} == {
        "SLURM_JOB_ID": str(job_id), "SLURM_JOBID": str(job_id),
        "SLURM_JOB_NODELIST": job.nodes, "SLURM_NNODES": "1", "SLURM_NTASKS": "2",
        "SLURM_CPUS_PER_TASK": "1", "SLURM_JOB_PARTITION": "debug",
        "SLURM_SUBMIT_DIR": "/tmp"}
    assert "SLURMD_NODENAME" not in env and "ENVIRONMENT" not in env  # batch-only
    record = api("daemon").get(f"/api/jobs/{job_id}/").json()
    assert (record["batch_flag"], record["command"]) == (False, "sh -c true")


@pytest.mark.parametrize("extra", [{"script": "#!/bin/sh\n"}, {"array": "1-3"}])
def test_an_allocation_has_no_script_and_no_array(cluster: Any, api: Any,
                                                  extra: dict[str, Any]) -> None:
    r = api("daemon").post("/api/jobs/", allocation(**extra), format="json")
    assert r.status_code == 400
    assert not Job.objects.exists()


def test_a_batch_job_still_needs_its_script(cluster: Any, api: Any) -> None:
    body = allocation()
    del body["allocation"]
    r = api("daemon").post("/api/jobs/", body, format="json")
    assert r.json()["errors"][0]["error"] == "Job script not specified"


@pytest.mark.parametrize("body,state,exit_pair,reason", [
    ({"exit_code": 0}, "COMPLETED", (0, 0), "None"),
    ({"exit_code": 3}, "FAILED", (3, 0), "NonZeroExitCode"),
    ({"signal": 15}, "FAILED", (0, 15), "RaisedSignal:15(Terminated)"),
])
def test_relinquishing_ends_the_job_as_its_command_ended(
        api: Any, held: Job, body: dict[str, int], state: str, exit_pair: tuple[int, int],
        reason: str) -> None:
    r = relinquish(api, held, **body)
    assert (r.status_code, r.json()["state"]) == (200, state)
    held.refresh_from_db()
    assert (held.state, (held.exit_code, held.exit_signal), held.reason) == (
        state, exit_pair, reason)
    assert held.alloc == {} and held.end_time is not None
    assert not JobStep.objects.filter(job=held).exists()  # an allocation has no batch step
    assert Node.objects.get(name="n1").alloc_cpus == 0
    again = relinquish(api, held)
    assert (again.status_code, again.json()["errors"][0]["error"]) == (
        409, "Job/step already completing or completed")


def test_relinquishing_a_pending_allocation_cancels_it(cluster: Any, api: Any) -> None:
    job_id = api("daemon").post("/api/jobs/", allocation(hold=True), format="json").json()[
        "job_id"]
    assert relinquish(api, Job(pk=job_id)).json()["state"] == "CANCELLED"
    assert Job.objects.get(pk=job_id).cancelled_by == 1  # daemon's uid


def test_only_the_owner_or_an_operator_sees_or_relinquishes_an_allocation(
        api: Any, held: Job) -> None:
    assert api("bin").get(f"/api/jobs/{held.id}/allocation/").status_code == 403
    assert relinquish(api, held, user="bin").status_code == 403
    assert relinquish(api, held, user="root").status_code == 200


def test_a_batch_job_is_not_an_allocation(api: Any, cluster: Any, users: Any) -> None:
    batch = make_running(Node.objects.get(name="n2"))
    assert relinquish(api, batch).status_code == 400
    assert Job.objects.get(pk=batch.pk).state == "RUNNING"


def test_srun_gets_steps_of_an_allocation(api: Any, held: Job) -> None:
    r = api("daemon").post(f"/api/jobs/{held.id}/steps/", {"name": "hostname", "ntasks": 1},
                           format="json")
    assert (r.status_code, r.json()["step"], r.json()["nodes"]) == (201, "0", "n1")


def test_scancel_ends_a_running_allocation_at_once(api: Any, held: Job) -> None:
    r = api("daemon").post(f"/api/jobs/{held.id}/signal/", {}, format="json")
    assert r.status_code == 200
    held.refresh_from_db()
    assert (held.state, held.alloc) == ("CANCELLED", {})
    assert not AgentOrder.objects.filter(job=held).exists()
    assert api("daemon").get(f"/api/jobs/{held.id}/allocation/").json()["state"] == "CANCELLED"


def test_the_controller_ends_an_allocation_at_its_time_limit(held: Job) -> None:
    batch = make_running(Node.objects.get(name="n2"))
    Job.objects.filter(pk__in=[held.pk, batch.pk]).update(
        time_limit_min=1, start_time=timezone.now() - timedelta(seconds=61))
    assert check_nodes().timeouts == [held.id]
    held.refresh_from_db()
    assert (held.state, held.reason, held.alloc) == ("TIMEOUT", "TimeLimit", {})
    assert not AgentOrder.objects.filter(job=held).exists()
    assert Job.objects.get(pk=batch.pk).state == "RUNNING"  # its agent enforces its limit
