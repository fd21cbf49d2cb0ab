"""Submit, show, list and cancel through the slurmrestd API, each version's request form."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.models import AgentOrder, Job
from scheduler.records import job_record
from tests.api.builders import make_job, make_running
from tests.slurmrest.conftest import VERSIONS, golden_json

pytestmark = pytest.mark.django_db

SCRIPT = "#!/bin/bash\nsleep 30\n"


def v38_submission(**job: Any) -> dict[str, Any]:
    """Golden 105's request: top-level script, environment object."""
    base = {"name": "restjob", "current_working_directory": "/tmp",
            "environment": {"PATH": "/usr/bin:/bin"}}
    return {"script": SCRIPT, "job": {**base, **job}}


def v39_submission(**job: Any) -> dict[str, Any]:
    """Slurm 23.02+: job.script, environment list, no_val numbers."""
    base = {"name": "restjob", "script": SCRIPT, "current_working_directory": "/tmp",
            "environment": ["PATH=/usr/bin:/bin", "A=b=c"]}
    return {"job": {**base, **job}}


def test_v0038_submit_answers_like_golden_105(cluster: Any, rest: Any) -> None:
    r = rest("daemon").post("/slurm/v0.0.38/job/submit", v38_submission(
        standard_output="/tmp/rest/%j.out", standard_error="/tmp/rest/%j.err"), format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == set(golden_json("105")) | {"warnings"}
    assert (body["step_id"], body["job_submit_user_msg"]) == ("BATCH", "")
    job = Job.objects.get(id=body["job_id"])
    assert (job.user, job.name, job.script, job.work_dir) == ("daemon", "restjob", SCRIPT, "/tmp")
    assert job.environment == {"PATH": "/usr/bin:/bin"}
    record = job_record(job)
    assert record["stdout"] == f"/tmp/rest/{job.id}.out"
    assert record["stderr"] == f"/tmp/rest/{job.id}.err"


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_v0039_plus_submit_takes_job_script_and_an_environment_list(
        cluster: Any, rest: Any, version: str) -> None:
    r = rest("daemon").post(f"/slurm/{version}/job/submit", v39_submission(
        standard_output="o-%j.txt", partition="short", account="",
        time_limit={"set": True, "infinite": False, "number": 5}, tasks=2, cpus_per_task=1,
        nodes="1", memory_per_cpu={"set": True, "infinite": False, "number": 200}),
        format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["errors"] == [] and body["warnings"] == []
    job = Job.objects.get(id=body["job_id"])
    assert job.script == SCRIPT
    assert job.environment == {"PATH": "/usr/bin:/bin", "A": "b=c"}
    assert (job.partition, job.time_limit_min, job.ntasks, job.mem_per_cpu_mb) == (
        "short", 5, 2, 200)
    assert job_record(job)["stdout"] == f"/tmp/o-{job.id}.txt"
    if version == "v0.0.41":
        assert body["result"]["job_id"] == job.id
        assert set(body["result"]) == {"job_id", "step_id", "error_code", "error",
                                       "job_submit_user_msg"}
    else:
        assert "result" not in body


def test_a_v0038_style_body_is_accepted_by_later_versions_too(cluster: Any, rest: Any) -> None:
    r = rest("daemon").post("/slurm/v0.0.40/job/submit", v38_submission(time_limit=7),
                            format="json")
    assert r.status_code == 200, r.content
    assert Job.objects.get(id=r.json()["job_id"]).time_limit_min == 7


def test_a_submitted_job_shows_up_in_jobs_and_job(cluster: Any, rest: Any) -> None:
    client = rest("daemon")
    job_id = client.post("/slurm/v0.0.38/job/submit", v38_submission(),
                         format="json").json()["job_id"]
    listed = [j["job_id"] for j in client.get("/slurm/v0.0.41/jobs").json()["jobs"]]
    assert listed == [job_id]
    job = client.get(f"/slurm/v0.0.41/job/{job_id}").json()["jobs"][0]
    assert (job["name"], job["job_state"], job["user_name"]) == ("restjob", ["PENDING"],
                                                                "daemon")


@pytest.mark.parametrize("version", VERSIONS)
def test_delete_cancels_a_pending_job(cluster: Any, rest: Any, version: str) -> None:
    job = make_job("daemon")
    r = rest("daemon").delete(f"/slurm/{version}/job/{job.id}")
    assert r.status_code == 200, r.content
    assert r.json()["errors"] == []
    job.refresh_from_db()
    assert job.state == "CANCELLED"


def test_delete_of_a_running_job_asks_its_agent_to_terminate(cluster: Any, rest: Any) -> None:
    job = make_running(cluster[0], user="daemon")
    assert rest("daemon").delete(f"/slurm/v0.0.38/job/{job.id}/").status_code == 200
    job.refresh_from_db()
    assert job.kill_requested
    assert AgentOrder.objects.filter(job=job, kind="terminate").exists()


def test_delete_with_signal_only_signals(cluster: Any, rest: Any) -> None:
    job = make_running(cluster[0], user="daemon")
    r = rest("daemon").delete(f"/slurm/v0.0.39/job/{job.id}?signal=SIGUSR1")
    assert r.status_code == 200, r.content
    order = AgentOrder.objects.get(job=job)
    # as slurm_kill_job with no flags: the job's steps (scancel without -b or -f)
    assert (order.kind, order.payload) == ("signal", {"signal": "USR1", "scope": "steps"})
    job.refresh_from_db()
    assert not job.kill_requested


def test_a_user_sees_and_cancels_only_their_own_jobs(cluster: Any, rest: Any) -> None:
    mine, theirs = make_job("daemon"), make_job("bin")
    client = rest("daemon")
    assert [j["job_id"] for j in client.get("/slurm/v0.0.38/jobs").json()["jobs"]] == [mine.id]
    r = client.get(f"/slurm/v0.0.38/job/{theirs.id}")
    assert r.status_code == 500
    assert r.json()["errors"][0]["error_number"] == 2017
    r = client.delete(f"/slurm/v0.0.38/job/{theirs.id}")
    assert r.status_code == 500
    assert r.json()["errors"][0]["error"] == "Access/permission denied"
    theirs.refresh_from_db()
    assert theirs.state == "PENDING"
    listed = [j["job_id"] for j in rest("root").get("/slurm/v0.0.38/jobs").json()["jobs"]]
    assert listed == [mine.id, theirs.id]


def test_an_operator_may_act_as_another_user(cluster: Any, rest: Any) -> None:
    client = rest("root", as_user="daemon")
    r = client.post("/slurm/v0.0.38/job/submit", v38_submission(), format="json")
    assert r.status_code == 200, r.content
    assert Job.objects.get(id=r.json()["job_id"]).user == "daemon"
