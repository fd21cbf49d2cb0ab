"""/api/diag/ (sdiag): every scheduling cycle counts itself; the job counters come from
the job rows; any user reads, operators reset."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from scheduler import cycle, stats
from scheduler.actions.submit import do_submit_job
from scheduler.models import Job
from tests.api.builders import desc

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh() -> None:
    stats.reset()


def figures(api: Any, user: str = "daemon") -> dict[str, Any]:
    r = api(user).get("/api/diag/")
    assert r.status_code == 200
    return dict(r.json()["statistics"])


def test_cycles_and_jobs_are_counted(cluster: Any, users: dict[str, Any], api: Any) -> None:
    for _ in range(10):  # 4 nodes of 2 CPUs: 8 start, 2 wait
        do_submit_job(users["daemon"], desc(cpus_per_task=1))
    cycle.run_cycle_once()
    cycle.run_cycle_once()  # no CPU free: the main pass alone (scheduler/passes.py)
    f = figures(api)
    assert (f["schedule_cycle_total"], f["bf_cycle_counter"]) == (2, 1)
    assert f["schedule_cycle_last"] > 0 and f["schedule_cycle_max"] >= f["schedule_cycle_last"]
    assert (f["jobs_submitted"], f["jobs_started"], f["jobs_pending"], f["jobs_running"]) == (
        10, 8, 2, 8)
    assert f["schedule_queue_length"] == 2
    # the backfill figures are the first cycle's: 10 pending, 2 of them planned
    assert (f["bf_queue_len"], f["bf_last_depth"], f["bf_last_depth_try"],
            f["bf_table_size"]) == (10, 10, 10, 2)
    assert f["agent_queue_size"] == 8  # launch orders no agent has taken yet
    assert f["bf_when_last_cycle"] >= f["req_time_start"]


def test_a_job_started_behind_one_waiting_for_resources_counts_as_backfilled(
        cluster: Any, users: dict[str, Any], api: Any) -> None:
    do_submit_job(users["daemon"], desc(cpus_per_task=2, nodes_min=3, ntasks=3,
                                        time_limit_min=60))
    cycle.run_cycle_once()  # three of the four nodes
    do_submit_job(users["daemon"], desc(cpus_per_task=2, nodes_min=4, ntasks=4))  # waits
    do_submit_job(users["daemon"], desc(cpus_per_task=1, nodes_min=5, ntasks=5))  # never fits
    do_submit_job(users["daemon"], desc(cpus_per_task=1, time_limit_min=1))  # fits before
    cycle.run_cycle_once()
    assert list(Job.objects.order_by("id").values_list("state", "reason")) == [
        ("RUNNING", "None"), ("PENDING", "Resources"), ("PENDING", "PartitionConfig"),
        ("RUNNING", "None")]
    f = figures(api)
    assert f["bf_backfilled_jobs"] == f["bf_last_backfilled_jobs"] == 1


def test_only_an_operator_resets(cluster: Any, users: dict[str, Any], api: Any) -> None:
    cycle.run_cycle_once()
    assert api("daemon").post("/api/diag/").status_code == 403
    assert figures(api)["schedule_cycle_total"] == 1
    r = api("root").post("/api/diag/")
    assert r.status_code == 200 and r.json()["statistics"]["schedule_cycle_total"] == 0



def rpcs(f: dict[str, Any]) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """(count by message type, (uid, count) by user) of the statistics."""
    assert all(r["type_id"] and r["average_time"] == r["total_time"] // r["count"]
               for r in f["rpcs_by_message_type"])
    return ({r["message_type"]: r["count"] for r in f["rpcs_by_message_type"]},
            {r["user"]: (r["user_id"], r["count"]) for r in f["rpcs_by_user"]})


def test_requests_count_as_slurmctlds_rpcs_by_type_and_user(cluster: Any,
                                                            users: dict[str, Any],
                                                            api: Any) -> None:
    daemon = api("daemon")
    assert daemon.post("/api/jobs/", desc(), format="json").status_code == 201
    assert daemon.post("/api/jobs/", desc(test_only=True), format="json").status_code == 200
    assert daemon.post("/api/jobs/", desc(partition="nope"), format="json").status_code == 400
    daemon.get("/api/jobs/")
    api("root").get("/api/partitions/")
    api("root").get("/api/nodes/n1/")
    assert APIClient().get("/api/jobs/").status_code == 401  # nobody: not an RPC
    daemon.get("/api/accounting/jobs/")  # slurmdbd's, not slurmctld's
    types, by_user = rpcs(figures(api))
    assert types == {"REQUEST_SUBMIT_BATCH_JOB": 2, "REQUEST_JOB_WILL_RUN": 1,
                     "REQUEST_JOB_INFO": 1, "REQUEST_PARTITION_INFO": 1,
                     "REQUEST_NODE_INFO_SINGLE": 1}
    # figures() itself came after the counts were read: counted for the next one
    assert by_user == {"daemon": (1, 4), "root": (0, 2)}
    assert rpcs(figures(api))[0]["REQUEST_STATS_INFO"] == 1


def test_a_reset_starts_the_rpc_counts_again(cluster: Any, users: dict[str, Any],
                                             api: Any) -> None:
    api("daemon").get("/api/jobs/")
    assert rpcs(figures(api))[0] == {"REQUEST_JOB_INFO": 1}
    assert api("root").post("/api/diag/").status_code == 200
    types, by_user = rpcs(figures(api))
    assert "REQUEST_JOB_INFO" not in types and "daemon" not in by_user
