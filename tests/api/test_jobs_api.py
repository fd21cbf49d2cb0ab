"""The REST API seen by the commands: shapes, filters, permissions, errors."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from scheduler.models import Job
from tests.api.builders import desc, golden_error, make_job, make_running, set_param

pytestmark = pytest.mark.django_db


def test_submit_answers_the_job_id(cluster: Any, api: Any) -> None:
    r = api("daemon").post("/api/jobs/", desc(), format="json")
    assert r.status_code == 201
    assert Job.objects.get(id=r.json()["job_id"]).user == "daemon"


def test_submit_errors_have_slurms_shape(cluster: Any, api: Any) -> None:
    r = api("daemon").post("/api/jobs", desc(partition="nosuch"), format="json")
    assert r.status_code == 400
    error, detail = golden_error("016_err_invalid_partition")
    assert r.json() == {"errors": [{"error": error, "error_number": 2000, "detail": detail}]}


def test_a_refused_method_or_media_type_is_named_in_the_error(cluster: Any, api: Any) -> None:
    job = make_job("daemon")
    r = api("daemon").put(f"/api/jobs/{job.id}/", {}, format="json")
    assert r.status_code == 405
    assert r.json()["errors"][0]["error"] == 'Method "PUT" not allowed.'
    r = api("daemon").post("/api/jobs/", "<job/>", content_type="application/xml")
    assert r.status_code == 415
    assert r.json()["errors"][0]["error"] == 'Unsupported media type "application/xml" in request.'


@pytest.mark.parametrize("key", ["time_limit_min", "nodes_min", "cpus_per_task",
                                 "mem_per_node_mb", "begin_time"])
def test_a_number_too_large_to_store_is_a_400_and_stores_nothing(cluster: Any, api: Any,
                                                                  key: str) -> None:
    r = api("daemon").post("/api/jobs/", desc(**{key: 10**19}), format="json")
    assert r.status_code == 400
    assert r.json()["errors"][0]["detail"] == [f"{key} is out of range"]
    assert not Job.objects.exists()


def test_an_update_too_large_to_store_is_a_400(cluster: Any, api: Any) -> None:
    job = make_job("daemon")
    r = api("root").patch(f"/api/jobs/{job.id}/", {"time_limit_min": 2**40}, format="json")
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        400, ["time_limit_min is out of range"])


def test_test_only_answers_a_plan(cluster: Any, api: Any) -> None:
    r = api("daemon").post("/api/jobs/", desc(test_only=True), format="json")
    assert r.status_code == 200
    assert set(r.json()["test_only"]) == {"job_id", "start_time", "cpus", "nodes", "partition"}


def test_a_user_lists_only_their_own_jobs_an_operator_all(cluster: Any, api: Any) -> None:
    mine = make_job("daemon")
    theirs = make_job("bin")
    ids = [j["job_id"] for j in api("daemon").get("/api/jobs/").json()["jobs"]]
    assert ids == [mine.id]
    ids = [j["job_id"] for j in api("root").get("/api/jobs").json()["jobs"]]
    assert ids == [mine.id, theirs.id]
    ids = [j["job_id"] for j in api("root").get("/api/jobs/?user=bin").json()["jobs"]]
    assert ids == [theirs.id]


def test_the_job_record_has_the_contract_keys(cluster: Any, api: Any) -> None:
    job = make_running(cluster[0], user="daemon")
    record = api("daemon").get(f"/api/jobs/{job.id}/").json()
    for key in ("job_id", "array_task_str", "state", "reason", "submit_time", "run_time_s",
                "nodes", "num_cpus", "exit_code", "stdout", "steps", "cancelled_by"):
        assert key in record
    assert record["stdout"] == f"/tmp/slurm-{job.id}.out"
    assert (record["state"], record["nodes"], record["exit_code"]) == ("RUNNING", "n1", [0, 0])


def test_fields_ask_for_the_compact_answer_with_the_records_values(
        cluster: Any, api: Any) -> None:
    make_job("daemon", array_job_id=None)
    make_running(cluster[0], user="daemon")
    whole = api("daemon").get("/api/jobs/").json()["jobs"]
    fields = ["job_id", "state", "nodes", "stdout", "run_time_s", "no_such_key"]
    answer = api("daemon").get("/api/jobs/?fields=" + ",".join(fields)).json()
    assert set(answer) == {"fields", "rows"}
    assert answer["fields"] == fields
    assert [dict(zip(fields, row, strict=True)) for row in answer["rows"]] == [
        {**{k: r[k] for k in fields[:-2]}, "run_time_s": answer["rows"][i][4],
         "no_such_key": None} for i, r in enumerate(whole)]


def test_each_record_key_is_computed_from_the_columns_it_declares(
        cluster: Any, api: Any) -> None:
    from django.utils import timezone

    from scheduler.records import JOB_FIELDS, PLAIN_KEYS, job_record, job_rows, list_rows

    now = timezone.now()
    jobs = [make_job("daemon", stdout="out-%A_%a-%x.txt", stdin="in-%j"),
            make_running(cluster[0], user="daemon"),
            make_job("daemon", array_job_id=900, array_pending="2-5", array_max_tasks=2),
            make_job("daemon", state="FAILED", exit_code=3, exit_signal=0, end_time=now,
                     start_time=now),
            make_job("daemon", dependency="afterok:1", reason="Dependency")]
    for job in jobs:
        qs = Job.objects.filter(id=job.id)
        whole = job_record(list_rows(qs)[0], now, steps=[])
        for key, get in JOB_FIELDS.items():
            assert get(list_rows(qs, [key])[0], now) == whole[key], (job.id, key)
        keys = [*JOB_FIELDS, "no_such_key"]
        assert job_rows(list_rows(qs, keys), keys, now) == [[*whole.values()][:-1] + [None]]
        assert set(JOB_FIELDS) >= PLAIN_KEYS
        for key in PLAIN_KEYS:
            assert whole[key] == getattr(list_rows(qs)[0], key), (job.id, key)


@pytest.mark.parametrize("fields, shown", [
    ({"dependency": "afterok:9", "reason": "Dependency"}, "afterok:9(unfulfilled)"),
    ({"dependency": "afterok:9:10,afterany:11", "reason": "Dependency"},
     "afterok:9(unfulfilled),afterok:10(unfulfilled),afterany:11(unfulfilled)"),
    ({"dependency": "afterok:9?singleton", "reason": "Dependency"},
     "afterok:9(unfulfilled)?singleton(unfulfilled)"),
    ({"dependency": "afterok:9", "reason": "DependencyNeverSatisfied"}, "afterok:9(failed)"),
    # met: the cycle made the job eligible, and Slurm shows Dependency=(null)
    ({"dependency": "afterok:9", "reason": "Priority", "eligible_time": "now"}, ""),
    ({"dependency": "afterok:9", "state": "COMPLETED", "eligible_time": "now"}, ""),
    ({"dependency": "", "reason": "Priority"}, ""),
])
def test_a_dependency_is_shown_as_slurm_shows_it(cluster: Any, api: Any,
                                                 fields: dict[str, Any], shown: str) -> None:
    from django.utils import timezone

    if fields.get("eligible_time") == "now":
        fields = {**fields, "eligible_time": timezone.now()}
    job = make_job("daemon", **fields)
    assert api("daemon").get(f"/api/jobs/{job.id}/").json()["dependency"] == shown


def test_state_filters_and_min_job_age(cluster: Any, api: Any) -> None:
    pending = make_job("daemon")
    done = make_job("daemon", state="COMPLETED", end_time=pending.submit_time)
    client = api("daemon")
    assert [j["job_id"] for j in client.get("/api/jobs/").json()["jobs"]] == [pending.id]
    got = client.get("/api/jobs/?state=all").json()["jobs"]
    assert [j["job_id"] for j in got] == [pending.id, done.id]
    got = client.get("/api/jobs/?state=CD").json()["jobs"]
    assert [j["job_id"] for j in got] == [done.id]
    got = client.get("/api/jobs/?state=CD&all_states=1").json()["jobs"]  # as squeue -t CD asks
    assert [j["job_id"] for j in got] == [done.id]
    set_param("MinJobAge", "0")
    Job.objects.filter(pk=done.pk).update(end_time=pending.submit_time.replace(year=2020))
    assert [j["job_id"] for j in client.get("/api/jobs/?all_states=1").json()["jobs"]] == [
        pending.id]
    assert client.get(f"/api/jobs/{done.id}/").status_code == 404
    got = client.get("/api/accounting/jobs/").json()["jobs"]
    assert {j["job_id"] for j in got} == {pending.id, done.id}
    assert client.get("/api/jobs/?state=bogus").status_code == 400


def test_job_ids_filter_arrays_by_base_id_and_task(cluster: Any, api: Any) -> None:
    client = api("daemon")
    base = client.post("/api/jobs/", desc(array="0-3%2"), format="json").json()["job_id"]
    task = make_job("daemon", array_job_id=base, array_task_id=9, state="RUNNING")
    other = make_job("daemon")
    got = client.get(f"/api/jobs/?job={base}").json()["jobs"]
    assert [j["job_id"] for j in got] == [base, task.id]
    assert got[0]["array_task_str"] == "[0-3%2]"
    got = client.get(f"/api/jobs/?job={base}_2,{other.id}").json()["jobs"]
    assert [j["job_id"] for j in got] == [base, other.id]
    got = client.get(f"/api/jobs/?job={base}_9").json()["jobs"]
    assert [j["job_id"] for j in got] == [task.id]
    assert client.get(f"/api/jobs/{base}_9").json()["job_id"] == task.id


def test_another_users_job_is_invisible_and_untouchable(cluster: Any, api: Any) -> None:
    job = make_job("daemon")
    r = api("bin").get(f"/api/jobs/{job.id}/")
    assert r.status_code == 404
    assert r.json()["errors"][0]["error"] == "Invalid job id specified"
    r = api("bin").post(f"/api/jobs/{job.id}/signal/", {"signal": None}, format="json")
    assert r.status_code == 403
    assert r.json()["errors"][0] == {"error": "Access/permission denied", "error_number": 2002,
                                     "detail": []}
    assert api("root").post(f"/api/jobs/{job.id}/signal", {}, format="json").status_code == 200
    job.refresh_from_db()
    assert job.state == "CANCELLED"


def test_a_step_the_job_does_not_have_is_an_invalid_id_not_its_job(cluster: Any,
                                                                   api: Any) -> None:
    # A known step gets the signal alone (tests/api/test_steps_api.py); an unknown one
    # is Slurm's error, and neither cancels nor signals the job.
    from scheduler.actions.agent import pending_orders
    from scheduler.models import Node

    job = make_running(Node.objects.get(name="n1"))
    for body in ({"signal": None}, {"signal": "USR1"}):
        r = api("daemon").post(f"/api/jobs/{job.id}.0/signal/", body, format="json")
        assert r.status_code == 404
        assert r.json()["errors"][0]["error"] == "Invalid job id specified"
    job.refresh_from_db()
    assert job.state == "RUNNING" and not job.kill_requested
    assert pending_orders("n1") == []


def test_the_signal_endpoint_passes_scancels_scope(cluster: Any, api: Any) -> None:
    from scheduler.actions.agent import pending_orders
    from scheduler.models import Node

    job = make_running(Node.objects.get(name="n1"))
    client = api("daemon")
    for body in ({"signal": "USR1"}, {"signal": "USR1", "scope": "batch"}):
        assert client.post(f"/api/jobs/{job.id}/signal/", body, format="json").status_code == 200
    assert [o["payload"]["scope"] for o in pending_orders("n1")] == ["steps", "batch"]
    r = client.post(f"/api/jobs/{job.id}/signal/", {"signal": "USR1", "scope": "x"},
                    format="json")
    assert r.status_code == 400 and "Invalid signal scope x" in str(r.json()["errors"])


def test_hold_release_requeue_and_update_endpoints(cluster: Any, api: Any) -> None:
    job = make_job("daemon")
    client = api("daemon")
    assert client.post(f"/api/jobs/{job.id}/hold/", {}, format="json").status_code == 200
    assert client.get(f"/api/jobs/{job.id}").json()["reason"] == "JobHeldUser"
    assert client.post(f"/api/jobs/{job.id}/release", {}, format="json").status_code == 200
    r = client.patch(f"/api/jobs/{job.id}/", {"time_limit_min": 30, "name": "x"}, format="json")
    assert (r.status_code, r.json()["time_limit_min"], r.json()["name"]) == (200, 30, "x")
    r = client.post(f"/api/jobs/{job.id}/requeue/", {}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error"]) == (409, "Job is pending execution")
    r = client.post("/api/jobs/999999/hold/", {}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error_number"]) == (404, 2017)


def test_a_pending_jobs_new_resources_show_in_its_record_and_scontrol_show_job(
        cluster: Any, api: Any) -> None:
    from drover.cli.formats.records import render_job

    job = make_job("daemon")
    body = {"nodes_min": 2, "nodes_max": 2, "ntasks": 4, "mem_per_cpu_mb": 200,
            "constraint": "", "nodelist": "n[1-2]", "exclude": "n4", "requeue": False,
            "cwd": "/srv", "mail_type": "END", "mail_user": "d@x"}
    r = api("daemon").patch(f"/api/jobs/{job.id}/", body, format="json")
    assert r.status_code == 200
    shown = render_job(r.json())
    for line in ("Requeue=0 ", "ReqNodeList=n[1-2] ExcNodeList=n4",
                 "NumNodes=2-2 NumCPUs=4 NumTasks=4 CPUs/Task=1 ", "MinMemoryCPU=200M ",
                 "WorkDir=/srv", "MailUser=d@x MailType=END"):
        assert line in shown
    r = api("daemon").patch(f"/api/jobs/{job.id}/", {"min_cpus": 8}, format="json")
    assert "NumCPUs=8 NumTasks=4 CPUs/Task=2 " in render_job(r.json())


def test_resource_updates_answer_slurms_errors(cluster: Any, api: Any) -> None:
    job = make_job("daemon")
    r = api("daemon").patch(f"/api/jobs/{job.id}/", {"gres": "gpu:1"}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error_number"]) == (400, 2072)
    r = api("bin").patch(f"/api/jobs/{job.id}/", {"nodes_min": 2}, format="json")
    assert r.status_code == 403
    running = make_running(cluster[0])
    r = api("daemon").patch(f"/api/jobs/{running.id}/", {"ntasks": 2}, format="json")
    assert (r.status_code, r.json()["errors"][0]["error"]) == (
        409, "Job is no longer pending execution")


def test_nodes_partitions_config_ping(cluster: Any, api: Any) -> None:
    client = api("daemon")
    nodes = client.get("/api/nodes/").json()["nodes"]
    assert [n["name"] for n in nodes] == ["n1", "n2", "n3", "n4"]
    assert nodes[0]["partitions"] == ["debug", "short"] and nodes[0]["state"] == "IDLE"
    r = client.get("/api/nodes/nosuch")
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (404, ["Node nosuch not found"])
    parts = client.get("/api/partitions/").json()["partitions"]
    assert parts[0]["nodes"] == "n[1-4]" and parts[0]["default"] and parts[0]["total_cpus"] == 8
    assert client.get("/api/config").json()["config"]["MinJobAge"] == "300"
    assert client.get("/api/ping/").json()["ping"] == "UP"


def test_only_operators_change_node_state(cluster: Any, api: Any) -> None:
    r = api("daemon").patch("/api/nodes/n1/", {"state": "DRAIN", "reason": "x"}, format="json")
    assert r.status_code == 403
    r = api("root").patch("/api/nodes/n1/", {"state": "DRAIN", "reason": "x"}, format="json")
    assert (r.status_code, r.json()["state"], r.json()["state_flags"]) == (200, "DRAINED",
                                                                          ["DRAIN"])


def test_unknown_api_paths_are_json_404s(cluster: Any, api: Any) -> None:
    r = api("daemon").get("/api/nosuch/")
    assert r.status_code == 404 and "errors" in r.json()


def test_the_openapi_document_is_served(cluster: Any) -> None:
    r = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    assert "/api/jobs/" in str(r.content) or "jobs" in str(r.content)


def test_the_database_counts_the_nodes_of_an_allocation(cluster: Any, api: Any) -> None:
    from scheduler.jsonsql import JsonKeyCount

    two = make_job("daemon", state="RUNNING", alloc={"n1": {"cpus": 1}, "n2": {"cpus": 1}})
    empty = make_job("daemon")
    odd = make_job("daemon", alloc=["n1", "n2"])  # not an object: no nodes counted
    counts = dict(Job.objects.filter(id__in=[two.id, empty.id, odd.id])
                  .values_list("id", JsonKeyCount("alloc")))
    assert counts == {two.id: 2, empty.id: 0, odd.id: 0}
    answer = api("daemon").get("/api/jobs/?fields=job_id,num_nodes&state=all").json()
    assert dict(answer["rows"])[two.id] == 2


def test_a_pending_jobs_planned_start_reaches_squeue_start(cluster: Any, api: Any) -> None:
    from drover.cli.formats.jobs import LETTERS
    from scheduler.cycle import run_cycle_once

    for node in cluster:
        make_running(node, user="daemon", cpus=node.cpus, time_limit_min=30)
    job = make_job("daemon", time_limit_min=10)
    run_cycle_once()
    job.refresh_from_db()
    assert job.sched_start_time is not None
    planned = int(job.sched_start_time.timestamp())
    record = api("daemon").get(f"/api/jobs/{job.id}/").json()
    assert (record["sched_start_time"], record["sched_nodes"]) == (planned, job.sched_nodes)
    answer = api("daemon").get("/api/jobs/?fields=job_id,start_time,sched_start_time").json()
    assert [job.id, None, planned] in answer["rows"]
    assert LETTERS["S"].get(record) not in ("", "N/A")  # squeue --start's START_TIME


def test_scontrol_show_job_gets_the_node_range_and_mail_from_the_record(
        cluster: Any, api: Any) -> None:
    from drover.cli.formats.records import job_lines

    job = make_job("daemon", nodes_min=1, nodes_max=2, mail_type="END,FAIL",
                   mail_user="daemon@example.org")
    lines = job_lines(api("daemon").get(f"/api/jobs/{job.id}/").json())
    assert any(line.startswith("NumNodes=1-2 ") for line in lines)
    assert "MailUser=daemon@example.org MailType=END,FAIL" in lines


def test_the_wckey_reaches_squeue_and_sacct(cluster: Any, api: Any) -> None:
    from drover.cli.formats.acct import FIELDS
    from drover.cli.formats.jobs import LETTERS

    record = api("daemon").get(f"/api/jobs/{make_job('daemon', wckey='climate').id}/").json()
    assert record["wckey"] == "climate"
    assert LETTERS["w"].get(record) == "climate"  # squeue -o %w
    assert FIELDS["WCKey"].get({"job": record}) == "climate"  # sacct -o WCKey
    plain = api("daemon").get(f"/api/jobs/{make_job('daemon').id}/").json()
    assert LETTERS["w"].get(plain) == "(null)"  # Slurm's squeue without one


def test_sacct_leaves_out_what_was_never_eligible_unless_named(cluster: Any, api: Any) -> None:
    """Golden 115 (no job with an unmet dependency, no array's pending rest) and 120
    (``sacct -j 10`` shows the rest)."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    held = make_job("daemon", hold="user", reason="JobHeldUser")
    waits = make_job("daemon", dependency="afterok:1", reason="Dependency")
    met = make_job("daemon", dependency="afterok:1", eligible_time=now)
    later = make_job("daemon", begin_time=now + timedelta(hours=1), reason="BeginTime")
    rest = make_job("daemon", array_job_id=900, array_pending="2-5", reason="JobArrayTaskLimit")
    start = int((now - timedelta(hours=1)).timestamp())

    def ids(**params: Any) -> list[int]:
        r = api("daemon").get("/api/accounting/jobs/", {"start": start, **params})
        return [j["job_id"] for j in r.json()["jobs"]]

    assert ids() == [held.id, met.id]
    assert ids(job=f"{waits.id},{later.id},{rest.id}") == [waits.id, later.id, rest.id]


def test_a_requeued_job_is_its_last_run_in_sacct_and_pending_in_squeue(cluster: Any,
                                                                        api: Any) -> None:
    """Golden 115: ``8 REQUEUED 0:0`` and ``8.batch CANCELLED 0:15``, however long the
    job waits before it runs again (preemption's requeue sets a begin time)."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.models import JobStep

    now = timezone.now()
    job = make_job("daemon", restarts=1, reason="BeginTime",
                   begin_time=now + timedelta(seconds=120))
    JobStep.objects.create(job=job, step="batch", state="REQUEUED", start_time=now)
    start = int((now - timedelta(hours=1)).timestamp())
    [record] = api("daemon").get("/api/accounting/jobs/", {"start": start}).json()["jobs"]
    assert (record["state"], record["exit_code"]) == ("REQUEUED", [0, 0])
    assert [(s["step"], s["state"], s["exit_code"]) for s in record["steps"]] == [
        ("batch", "CANCELLED", [0, 15])]
    assert api("daemon").get(f"/api/jobs/{job.id}/").json()["state"] == "PENDING"
