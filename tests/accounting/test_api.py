"""GET /api/priority/ (sprio) and /api/shares/ (sshare) on the golden-like cluster, and the
usage a finished job leaves on its association."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounting.models import Account, Association, Qos
from scheduler.actions.jobs import do_finish_job
from tests.api.builders import make_cluster, make_job, make_running, make_user, set_param
from tests.api.conftest import client_for

GOLDEN_WEIGHTS = {"PriorityType": "priority/multifactor", "PriorityWeightAge": "1000",
                  "PriorityWeightFairShare": "10000", "PriorityWeightJobSize": "1000",
                  "PriorityWeightPartition": "1000", "PriorityWeightQOS": "1000"}


@pytest.fixture
def golden(db: Any) -> Any:
    """The golden cluster: weights of 083, accounts root > science > physics, user root in each."""
    nodes = make_cluster()
    for key, value in GOLDEN_WEIGHTS.items():
        set_param(key, value)
    root = Account.objects.create(name="root")
    science = Account.objects.create(name="science", parent=root)
    physics = Account.objects.create(name="physics", parent=science)
    for acct in (root, science, physics):
        Association.objects.create(account=acct, user="root", is_default=acct is root)
    Qos.objects.get_or_create(name="normal")
    make_user("root", operator=True)
    return nodes


def test_sprio_factors_match_the_golden_cluster(golden: Any) -> None:
    # 065_sprio.txt: filler -n 4, big -N 4 -c 2, a 1-CPU job on short, a 1-CPU job on debug.
    make_job("root", id=15, ntasks=4, account="root")
    make_job("root", id=16, nodes_min=4, ntasks=4, cpus_per_task=2, account="root")
    make_job("root", id=18, partition="short", account="physics")
    make_job("root", id=22, account="root")
    make_job("root", id=23, account="root", hold="user")
    r = client_for("root").get("/api/priority/")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["weights"] == {"site": 1, "age": 1000, "assoc": 0, "fairshare": 10000,
                               "job_size": 1000, "partition": 1000, "qos": 1000, "tres": {}}
    got = {j["job_id"]: (j["priority"], round(j["weighted"]["fairshare"]),
                         round(j["weighted"]["job_size"]), round(j["weighted"]["partition"]),
                         round(j["weighted"]["qos"])) for j in data["jobs"]}
    assert got == {15: (10475, 10000, 375, 100, 0), 16: (11100, 10000, 1000, 100, 0),
                   18: (11187, 10000, 188, 1000, 0), 22: (10287, 10000, 188, 100, 0)}
    only = client_for("root").get("/api/priority/?jobs=16,18").json()["jobs"]
    assert [j["job_id"] for j in only] == [16, 18]
    assert client_for("root").get("/api/priority/?user=bin").json()["jobs"] == []


def test_sprio_shows_a_user_only_their_own_pending_jobs(golden: Any) -> None:
    make_user("daemon")
    make_job("root", id=15, account="root")
    make_job("daemon", id=16, account="root")
    mine = client_for("daemon").get("/api/priority/").json()["jobs"]
    assert [j["job_id"] for j in mine] == [16]
    assert client_for("daemon").get("/api/priority/?jobs=15&user=root").json()["jobs"] == []
    everyone = client_for("root").get("/api/priority/").json()["jobs"]
    assert [j["job_id"] for j in everyone] == [15, 16]


def test_the_cycle_writes_multifactor_priorities(golden: Any) -> None:
    from scheduler.cycle import run_cycle_once
    from scheduler.models import Job

    make_job("root", id=16, nodes_min=4, ntasks=4, cpus_per_task=2, account="root")
    make_job("root", id=15, ntasks=4, account="root")
    run_cycle_once()
    assert Job.objects.get(id=16).state == "RUNNING"
    assert Job.objects.get(id=15).priority == 10475


def test_a_finished_job_adds_decayed_billing_seconds_to_its_association(golden: Any) -> None:
    start = timezone.now() - timedelta(seconds=100)
    job = make_running(golden[0], "root", cpus=2, account="science")
    job.start_time = start
    job.save(update_fields=["start_time"])
    assoc = Association.objects.get(account__name="science", user="root")
    end = start + timedelta(seconds=100)
    assoc.raw_usage, assoc.usage_time = 1000.0, end - timedelta(days=7)  # a half-life ago
    assoc.save()
    do_finish_job(job, "COMPLETED", end_time=end)
    assoc.refresh_from_db()
    assert assoc.raw_usage == pytest.approx(500.0 + 2 * 100)
    shares = client_for("root").get("/api/shares/").json()["shares"]
    rows = {(s["account"], s["user"]): s for s in shares}
    assert [(s["account"], s["user"]) for s in shares] == [
        ("root", ""), ("root", "root"), ("science", ""), ("science", "root"), ("physics", ""),
        ("physics", "root")]
    assert rows[("science", "root")]["raw_usage"] == pytest.approx(700.0, rel=1e-3)
    assert rows[("root", "root")]["level_fs"] == "inf"
    assert rows[("root", "root")]["fairshare"] == 1.0
    assert rows[("science", "root")]["fairshare"] == pytest.approx(1 / 3)


def test_no_association_records_nothing(golden: Any) -> None:
    job = make_running(golden[0], "daemon", cpus=1)
    job.start_time = timezone.now() - timedelta(seconds=60)
    job.save(update_fields=["start_time"])
    assert do_finish_job(job, "COMPLETED")
    assert sum(Association.objects.values_list("raw_usage", flat=True)) == 0.0
