"""Running steps' usage: agents report it with their syncs, sstat reads it.

Agent side (``POST /api/agent/sync/``): a well-formed ``usage`` list updates the
running batch step; a malformed one gets the whole sync refused (400) naming the
field; a report for a step that does not run there changes nothing. Read side
(``GET /api/jobs/{id}/steps/``): owners and operators see the steps, other users
are told the job does not exist.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from scheduler.models import JobStep, Node
from tests.api.builders import make_cluster, make_running, make_user
from tests.api.conftest import client_for
from tests.api.test_agent_api import answer, post, sync_body

pytestmark = pytest.mark.django_db(transaction=True)


def report(job_id: int, **fields: Any) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "job_id": job_id, "step": "batch", "ntasks": 1, "pids": [4242, 4243],
        "time": time.time(), "cpu_time_s": 1.5, "rss_kb": 51200, "max_rss_kb": 61440,
        "vmsize_kb": 200000, "max_vmsize_kb": 210000, "read_bytes": 4096,
        "write_bytes": 1048576,
    }
    usage.update(fields)
    return usage


@pytest.fixture
def running(transactional_db: Any) -> Any:
    """A job running on n1 whose "started" event the controller has applied."""
    make_cluster()
    make_user("daemon")
    job = make_running(Node.objects.get(name="n1"), cpus=1, mem=100)
    started = {"seq": 1, "kind": "started", "job_id": job.id, "time": time.time()}
    assert answer(post("/api/agent/sync/", sync_body(events=[started])))["acked_events"] == [1]
    return job


def test_a_heartbeat_usage_report_updates_the_running_batch_step(running: Any) -> None:
    r = post("/api/agent/sync/", sync_body(running=[running.id], usage=[report(running.id)]))
    assert r.status_code == 200
    step = JobStep.objects.get(job=running, step="batch")
    assert (step.rss_kb, step.max_rss_kb, step.vmsize_kb, step.max_vmsize_kb) == \
        (51200, 61440, 200000, 210000)
    assert (step.cpu_time_s, step.read_bytes, step.write_bytes, step.pids) == \
        (1.5, 4096, 1048576, [4242, 4243])
    assert step.usage_time is not None


def test_maxima_never_go_down_and_an_older_sample_is_ignored(running: Any) -> None:
    now = time.time()
    post("/api/agent/sync/", sync_body(usage=[report(running.id, time=now)]))
    post("/api/agent/sync/", sync_body(usage=[report(running.id, time=now + 1, rss_kb=100,
                                                     max_rss_kb=100, cpu_time_s=0.1)]))
    post("/api/agent/sync/", sync_body(usage=[report(running.id, time=now - 5, rss_kb=7)]))
    step = JobStep.objects.get(job=running, step="batch")
    assert (step.rss_kb, step.max_rss_kb, step.cpu_time_s) == (100, 61440, 1.5)


def test_a_report_from_another_node_or_for_an_ended_step_changes_nothing(running: Any) -> None:
    post("/api/agent/sync/", sync_body(node="n2", usage=[report(running.id)]))
    assert JobStep.objects.get(job=running, step="batch").usage_time is None
    ended = {"seq": 2, "kind": "ended", "job_id": running.id, "time": time.time(),
             "exit_code": 0, "signal": 0, "cpu_time_s": 9.0, "max_rss_kb": 777}
    # the end and a late sample in one sync: the end's final figures stay
    post("/api/agent/sync/", sync_body(events=[ended], usage=[report(running.id)]))
    step = JobStep.objects.get(job=running, step="batch")
    assert (step.state, step.max_rss_kb, step.cpu_time_s) == ("COMPLETED", 777, 9.0)


@pytest.mark.parametrize(("usage", "detail"), [
    ({"x": 1}, "usage must be a list"),
    ([7], "usage[0] must be an object"),
    ([{"step": "batch"}], "usage[0].job_id must be a non-negative integer"),
    (["R", {"rss_kb": -1}], "usage[0].rss_kb must be a non-negative integer"),
    (["R", {"max_rss_kb": True}], "usage[0].max_rss_kb must be a non-negative integer"),
    (["R", {"read_bytes": 2**63}], "usage[0].read_bytes must be a non-negative integer"),
    (["R", {"cpu_time_s": "1"}], "usage[0].cpu_time_s must be a non-negative number of seconds"),
    (["R", {"time": 1e300}], "usage[0].time must be a non-negative number of seconds"),
    (["R", {"step": ""}], "usage[0].step must be a step name"),
    (["R", {"pids": [0]}], "usage[0].pids must be a list of process ids"),
    (["R", {"pids": "12"}], "usage[0].pids must be a list of process ids"),
])
def test_malformed_usage_gets_the_sync_refused_naming_the_field(
        running: Any, usage: Any, detail: str) -> None:
    if isinstance(usage, list) and usage[:1] == ["R"]:  # a good report with one bad field
        usage = [report(running.id, **usage[1])]
    r = post("/api/agent/sync/", sync_body(usage=usage))
    assert r.status_code == 400
    assert r.json()["errors"][0]["detail"] == [detail]
    assert JobStep.objects.get(job=running, step="batch").usage_time is None


def test_owners_and_operators_see_the_running_steps_and_others_do_not(running: Any) -> None:
    make_user("root", operator=True)
    make_user("bin")
    post("/api/agent/sync/", sync_body(usage=[report(running.id)]))
    for who in ("daemon", "root"):
        got = client_for(who).get(f"/api/jobs/{running.id}/steps/")
        assert got.status_code == 200
        body = got.json()
        assert (body["job_id"], body["state"]) == (running.id, "RUNNING")
        [step] = body["steps"]
        assert (step["step"], step["max_rss_kb"], step["rss_kb"], step["pids"]) == \
            ("batch", 61440, 51200, [4242, 4243])
    hidden = client_for("bin").get(f"/api/jobs/{running.id}/steps")
    assert hidden.status_code == 404
    assert hidden.json()["errors"][0]["error"] == "Invalid job id specified"


def test_a_job_that_ended_lists_no_running_steps(running: Any) -> None:
    ended = {"seq": 2, "kind": "ended", "job_id": running.id, "time": time.time(),
             "exit_code": 0, "signal": 0}
    post("/api/agent/sync/", sync_body(events=[ended]))
    got = client_for("daemon").get(f"/api/jobs/{running.id}/steps/").json()
    assert (got["state"], got["steps"]) == ("COMPLETED", [])


def test_sacct_gets_an_ended_steps_final_figures(running: Any) -> None:
    post("/api/agent/sync/", sync_body(usage=[report(running.id)]))
    ended = {"seq": 2, "kind": "ended", "job_id": running.id, "time": time.time(),
             "exit_code": 0, "signal": 0, "cpu_time_s": 9.0, "max_rss_kb": 777}
    post("/api/agent/sync/", sync_body(events=[ended]))
    [job] = client_for("daemon").get("/api/accounting/jobs/").json()["jobs"]
    [step] = job["steps"]
    assert {k: step[k] for k in ("state", "ntasks", "cpu_time_s", "max_rss_kb",
                                 "max_vmsize_kb", "read_bytes", "write_bytes")} == {
        "state": "COMPLETED", "ntasks": 1, "cpu_time_s": 9.0, "max_rss_kb": 777,
        "max_vmsize_kb": 210000, "read_bytes": 4096, "write_bytes": 1048576}


def test_an_srun_steps_usage_is_taken_and_the_jobs_end_ends_the_step(running: Any) -> None:
    created = client_for("daemon").post(f"/api/jobs/{running.id}/steps/",
                                        {"name": "sleep", "ntasks": 2}, format="json")
    assert created.json()["step"] == "0"
    post("/api/agent/sync/", sync_body(usage=[report(running.id, step="0", ntasks=1,
                                                     max_rss_kb=3000, rss_kb=2000)]))
    step = JobStep.objects.get(job=running, step="0")
    assert (step.max_rss_kb, step.ntasks, step.pids) == (3000, 2, [4242, 4243])
    ended = {"seq": 2, "kind": "ended", "job_id": running.id, "time": time.time(),
             "exit_code": 0, "signal": 0}
    post("/api/agent/sync/", sync_body(events=[ended]))
    step.refresh_from_db()
    assert (step.state, step.exit_signal, step.max_rss_kb) == ("CANCELLED", 15, 3000)
    assert step.end_time is not None
