"""srun's steps through the REST API: created (numbered per job), ended once, listed
after the batch step, signalled alone (scancel N.S), ended with their job."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from scheduler.actions.agent import pending_orders
from scheduler.actions.jobs import do_finish_job
from scheduler.models import Job, JobStep, Node
from tests.api.builders import make_job, make_running

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(cluster: Any, users: Any) -> Job:
    running = make_running(Node.objects.get(name="n1"), cpus=4)
    JobStep.objects.create(job=running, step="batch", nodes="n1", start_time=running.start_time)
    return running


def create(api: Any, job: Job, user: str = "daemon", **body: Any) -> Any:
    return api(user).post(f"/api/jobs/{job.id}/steps/",
                          {"name": "sleep", "ntasks": 1, **body}, format="json")


def end(api: Any, job: Job, step: str, **body: Any) -> Any:
    return api("daemon").patch(f"/api/jobs/{job.id}/steps/{step}/", body, format="json")


def accounted_steps(api: Any, job: Job) -> list[dict[str, Any]]:
    jobs = api("daemon").get(f"/api/accounting/jobs/?job={job.id}").json()["jobs"]
    return list(jobs[0]["steps"])


def test_steps_are_numbered_per_job_from_zero(api: Any, job: Job) -> None:
    first = create(api, job, ntasks=2, cpus_per_task=1)
    assert first.status_code == 201
    assert {k: first.json()[k] for k in ("job_id", "step", "name", "state", "ntasks", "nodes",
                                         "num_cpus")} == {
        "job_id": job.id, "step": "0", "name": "sleep", "state": "RUNNING", "ntasks": 2,
        "nodes": "n1", "num_cpus": 2}
    assert create(api, job).json()["step"] == "1"
    other = make_running(Node.objects.get(name="n1"))
    assert create(api, other).json()["step"] == "0"


def test_a_steps_cpus_are_at_most_its_jobs(api: Any, job: Job) -> None:
    assert create(api, job, ntasks=3, cpus_per_task=2).json()["num_cpus"] == 4


@pytest.mark.parametrize("state,status,error", [
    ("PENDING", 409, "Job is pending execution"),
    ("SUSPENDED", 409, "Requested operation is presently disabled"),
    ("COMPLETED", 409, "Job/step already completing or completed"),
])
def test_only_a_running_job_gets_steps(api: Any, job: Job, state: str, status: int,
                                       error: str) -> None:
    Job.objects.filter(pk=job.pk).update(state=state)
    r = create(api, job)
    assert (r.status_code, r.json()["errors"][0]["error"]) == (status, error)
    assert not JobStep.objects.exclude(step="batch").exists()


def test_only_the_owner_or_an_operator_creates_steps(api: Any, job: Job) -> None:
    assert create(api, job, user="bin").status_code == 403
    assert create(api, job, user="root").status_code == 201


@pytest.mark.parametrize("body", [{"name": ""}, {"ntasks": 0}, {"ntasks": "2"},
                                  {"cpus_per_task": True}, {"name": "x" * 201}])
def test_a_bad_step_request_is_a_400(api: Any, job: Job, body: dict[str, Any]) -> None:
    assert create(api, job, **body).status_code == 400


def test_an_end_is_recorded_once_and_sacct_lists_steps_after_the_batch_step(
        api: Any, job: Job) -> None:
    for _ in range(2):
        create(api, job)
    r = end(api, job, "1", exit_code=1, signal=0, cpu_time_s=0.25, max_rss_kb=2048)
    assert (r.status_code, r.json()["state"], r.json()["exit_code"]) == (200, "FAILED", [1, 0])
    again = end(api, job, "1", exit_code=0, signal=0)
    assert (again.json()["state"], again.json()["exit_code"]) == ("FAILED", [1, 0])
    assert end(api, job, "0", exit_code=0, signal=0).json()["state"] == "COMPLETED"
    # the batch step row is written after the srun steps: sacct's order all the same
    JobStep.objects.filter(job=job, step="batch").delete()
    JobStep.objects.create(job=job, step="batch", nodes="n1", start_time=job.start_time)
    steps = accounted_steps(api, job)
    assert [(s["step"], s["name"], s["state"]) for s in steps] == [
        ("batch", "", "RUNNING"), ("0", "sleep", "COMPLETED"), ("1", "sleep", "FAILED")]
    assert (steps[2]["cpu_time_s"], steps[2]["max_rss_kb"]) == (0.25, 2048)
    assert end(api, job, "7", exit_code=0).status_code == 404


def test_a_task_killed_by_a_signal_cancels_its_step(api: Any, job: Job) -> None:
    create(api, job)
    r = end(api, job, "0", exit_code=0, signal=11)
    assert (r.json()["state"], r.json()["exit_code"], r.json()["cancelled_by"]) == (
        "CANCELLED", [0, 11], None)


def test_sstat_sees_the_running_srun_step_after_the_batch_step(api: Any, job: Job) -> None:
    create(api, job)
    create(api, job)
    end(api, job, "0", exit_code=0)
    steps = api("daemon").get(f"/api/jobs/{job.id}/steps/").json()["steps"]
    assert [s["step"] for s in steps] == ["batch", "1"]


def test_scancel_of_a_step_kills_that_steps_processes_only(api: Any, job: Job) -> None:
    create(api, job)
    r = api("daemon").post(f"/api/jobs/{job.id}.0/signal/", {"signal": None}, format="json")
    assert r.status_code == 200
    assert [(o["kind"], o["payload"]) for o in pending_orders("n1")] == [
        ("signal", {"signal": "KILL", "scope": "steps", "step": "0"})]
    job.refresh_from_db()
    assert job.state == "RUNNING" and not job.kill_requested
    # srun reports its tasks killed: CANCELLED by the canceller (sacct "CANCELLED by <uid>")
    step = end(api, job, "0", exit_code=0, signal=9).json()
    assert (step["state"], step["exit_code"]) == ("CANCELLED", [0, 9])
    assert step["cancelled_by"] is not None
    r = api("daemon").post(f"/api/jobs/{job.id}.0/signal/", {"signal": None}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error"]) == (
        409, "Job/step already completing or completed")


def test_a_signal_for_a_step_goes_to_that_step(api: Any, job: Job) -> None:
    create(api, job)
    assert api("bin").post(f"/api/jobs/{job.id}.0/signal/", {"signal": "USR1"},
                           format="json").status_code == 403
    assert api("daemon").post(f"/api/jobs/{job.id}.0/signal/", {"signal": "USR1"},
                              format="json").status_code == 200
    assert [o["payload"] for o in pending_orders("n1")] == [
        {"signal": "USR1", "scope": "steps", "step": "0"}]
    assert JobStep.objects.get(job=job, step="0").cancelled_by is None


def test_steps_still_running_end_with_their_job(api: Any, job: Job) -> None:
    create(api, job)
    create(api, job)
    end(api, job, "0", exit_code=0)
    Job.objects.filter(pk=job.pk).update(kill_requested=True, cancelled_by=0)
    assert do_finish_job(Job.objects.get(pk=job.pk), "CANCELLED", 0, int(signal.SIGTERM))
    steps = {s.step: s for s in JobStep.objects.filter(job=job)}
    assert (steps["0"].state, steps["0"].cancelled_by) == ("COMPLETED", None)
    assert (steps["1"].state, steps["1"].exit_signal, steps["1"].cancelled_by) == (
        "CANCELLED", 15, 0)
    assert steps["1"].end_time == Job.objects.get(pk=job.pk).end_time
    # srun's late report keeps that end and adds its usage
    late = end(api, job, "1", exit_code=0, signal=15, cpu_time_s=1.5)
    assert (late.json()["state"], late.json()["cpu_time_s"]) == ("CANCELLED", 1.5)


def test_a_pending_job_has_no_steps_to_signal(api: Any, cluster: Any, users: Any) -> None:
    job = make_job("daemon")
    r = api("daemon").post(f"/api/jobs/{job.id}.0/signal/", {"signal": None}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error"]) == (404, "Invalid job id specified")


def test_a_requeue_ends_the_runs_steps_and_the_next_run_counts_on(api: Any, job: Job) -> None:
    create(api, job)
    assert do_finish_job(Job.objects.get(pk=job.pk), "PENDING", 0, int(signal.SIGTERM))
    assert JobStep.objects.get(job=job, step="0").state == "CANCELLED"
    Job.objects.filter(pk=job.pk).update(state="RUNNING", batch_host="n1")
    assert create(api, job).json()["step"] == "1"
