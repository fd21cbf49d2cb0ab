"""Reservations against the database: the actions' checks and words, and the cycle obeying them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.utils import timezone

from scheduler.actions import reservations as actions
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.cycle import run_cycle_once
from scheduler.models import Job, Reservation
from tests.api.builders import desc, make_cluster, make_job, make_running, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(db: Any) -> Any:
    make_cluster(nodes=3)
    return make_user("root", operator=True)


def now() -> int:
    return int(time.time())


def create(root: Any, **fields: Any) -> Reservation:
    data: dict[str, Any] = {"start_time": now(), "duration_min": 60, "users": "daemon",
                            "nodes": "n[1-2]"}
    data.update(fields)
    return actions.do_create_reservation(root, data)


def refused(fn: Any, *args: Any) -> SlurmError:
    with pytest.raises(SlurmError) as info:
        fn(*args)
    return info.value


def test_it_creates_a_reservation_with_a_generated_name(root: Any) -> None:
    row = create(root)
    assert row.name == "daemon_1"
    rec = actions.reservation_record(row)
    assert rec["nodes"] == "n[1-2]" and rec["node_count"] == 2 and rec["core_count"] == 4
    assert rec["duration_min"] == 60 and rec["state"] == "ACTIVE"
    assert create(root, nodes="n3").name == "daemon_2"


@pytest.mark.parametrize(("fields", "error"), [
    ({"nodes": "n9"}, "Invalid node name specified"),
    ({"users": "no-such-user-x"}, "Invalid user id"),
    ({"users": "", "accounts": ""}, "Requested reservation is invalid"),
    ({"partition": "nosuch"}, "Invalid partition name specified"),
    ({"flags": "BOGUS"}, "Failure during parsing"),
    ({"duration_min": None, "end_time": None}, "Invalid time specified"),
    ({"duration_min": None, "end_time": 1}, "Invalid time specified"),
])
def test_it_refuses_bad_reservations(root: Any, fields: dict[str, Any], error: str) -> None:
    data: dict[str, Any] = {"start_time": now(), "duration_min": 60, "users": "daemon",
                            "nodes": "n1"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    assert refused(actions.do_create_reservation, root, data).error == error


def test_only_operators_manage_reservations(root: Any) -> None:
    err = refused(actions.do_create_reservation, make_user("daemon"),
                  {"start_time": now(), "duration_min": 5, "users": "daemon", "nodes": "n1"})
    assert err.error == "Access/permission denied"


def test_overlapping_reservations_are_refused_unless_maint_or_overlap(root: Any) -> None:
    create(root, name="a", nodes="n1")
    with pytest.raises(SlurmError) as info:
        create(root, name="b", nodes="n[1-2]")
    assert info.value.error == "Requested reservation overlaps with another reservation"
    assert create(root, name="c", nodes="n1", flags="MAINT").name == "c"
    assert create(root, name="d", nodes="n2", start_time=now() + 7200).name == "d"


def test_busy_nodes_are_refused_unless_ignore_jobs(root: Any) -> None:
    from scheduler.models import Node

    make_running(Node.objects.get(name="n1"))
    with pytest.raises(SlurmError) as info:
        create(root, nodes="n1")
    assert info.value.error == "Requested nodes are busy"
    assert create(root, nodes="n1", flags="IGNORE_JOBS").name == "daemon_1"


def test_update_and_delete(root: Any) -> None:
    row = create(root, name="r1")
    row = actions.do_update_reservation(root, "r1", {"nodes": "n3", "duration_min": 120})
    rec = actions.reservation_record(row)
    assert rec["nodes"] == "n3" and rec["duration_min"] == 120
    actions.do_delete_reservation(root, "r1")
    assert not Reservation.objects.exists()
    assert refused(actions.do_delete_reservation, root, "r1").error == \
        "Requested reservation is invalid"


def test_a_reservation_in_use_cannot_be_deleted(root: Any) -> None:
    from scheduler.models import Node

    create(root, name="r1", nodes="n1")
    make_running(Node.objects.get(name="n1"), reservation="r1")
    assert refused(actions.do_delete_reservation, root, "r1").error == \
        "Requested reservation is in use"


def test_ended_reservations_are_purged(root: Any) -> None:
    row = create(root, name="old")
    Reservation.objects.filter(pk=row.pk).update(end_time=timezone.now())
    assert actions.reservation_records() == []


def test_submit_checks_the_reservation(root: Any) -> None:
    create(root, name="r1", users="root")
    daemon = make_user("daemon")
    with pytest.raises(SlurmError) as info:
        do_submit_job(daemon, desc(reservation="nosuch"))
    assert info.value.error == "Requested reservation is invalid"
    with pytest.raises(SlurmError) as info:
        do_submit_job(daemon, desc(reservation="r1"))
    assert info.value.error == "Access denied to requested reservation"


def test_the_cycle_keeps_outsiders_off_reserved_nodes_and_members_on_them(root: Any) -> None:
    create(root, name="r1", nodes="n[1-2]", users="daemon")
    outsider = make_job(user="bin", cpus_per_task=2)
    member = make_job(reservation="r1", cpus_per_task=2)
    second = make_job(user="bin", cpus_per_task=2)
    run_cycle_once()
    for j in (outsider, member, second):
        j.refresh_from_db()
    assert (outsider.state, outsider.nodes) == ("RUNNING", "n3")
    assert member.state == "RUNNING" and member.nodes in ("n1", "n2")
    assert (second.state, second.reason) == ("PENDING", "Resources")


def test_maint_reason_and_future_reservation_waits(root: Any) -> None:
    create(root, name="m", nodes="n[1-3]", users="root", flags="MAINT")
    later = create(root, name="later", nodes="n1", start_time=now() + 3 * 3600, users="daemon",
                   flags="OVERLAP")
    blocked = make_job(user="bin")
    waiting = make_job(reservation=later.name)
    run_cycle_once()
    blocked.refresh_from_db()
    waiting.refresh_from_db()
    assert (blocked.state, blocked.reason) == (
        "PENDING", "ReqNodeNotAvail, Reserved for maintenance")
    assert (waiting.state, waiting.reason) == ("PENDING", "Reservation")
    actions.do_delete_reservation(root, "later")
    run_cycle_once()
    waiting.refresh_from_db()
    assert waiting.reason == "ReservationDeleted"
    assert Job.objects.filter(state="RUNNING").count() == 0


def test_nodes_in_an_active_reservation_carry_its_state_flags(root: Any) -> None:
    from drover.cli.formats.nodes import node_state_compact, node_state_scontrol
    from scheduler.models import Node
    from scheduler.records import node_record, node_records

    create(root, name="m", nodes="n1", users="root", flags="MAINT")
    create(root, name="r", nodes="n2", users="root")
    create(root, name="later", nodes="n3", users="root", start_time=now() + 3600)
    recs = {r["name"]: r for r in node_records(Node.objects.order_by("name"))}
    assert recs["n1"]["state_flags"] == ["MAINT", "RESERVED"]
    assert recs["n2"]["state_flags"] == ["RESERVED"] and recs["n3"]["state_flags"] == []
    assert node_record(Node.objects.get(name="n2"))["state_flags"] == ["RESERVED"]
    assert node_state_compact(recs["n1"]) == "maint"
    assert node_state_compact(recs["n2"]) == "resv"
    assert node_state_scontrol(recs["n2"]) == "IDLE+RESERVED"


def test_test_only_plans_around_reservations(root: Any) -> None:
    create(root, name="r1", nodes="n[1-2]", users="root")
    plan = do_submit_job(make_user("daemon"), desc(test_only=True)).test_only
    assert plan is not None and plan["nodes"] == "n3"
    plan = do_submit_job(root, desc(test_only=True, reservation="r1")).test_only
    assert plan is not None and plan["nodes"] in ("n1", "n2")


def test_a_pending_job_may_change_or_leave_its_reservation(root: Any) -> None:
    from scheduler.actions.jobs import do_update_job

    create(root, name="r1", nodes="n1", users="daemon")
    daemon = make_user("daemon")
    job = do_submit_job(daemon, desc(reservation="r1", hold=True)).job
    assert job is not None and job.reservation == "r1"
    with pytest.raises(SlurmError) as info:
        do_update_job(daemon, job, {"reservation": "nosuch"})
    assert info.value.error == "Requested reservation is invalid"
    assert do_update_job(daemon, job, {"reservation": ""}).reservation == ""


def test_node_count_picks_free_unreserved_nodes(root: Any) -> None:
    from scheduler.models import Node

    make_running(Node.objects.get(name="n1"))
    create(root, name="a", nodes="n2")
    row = actions.do_create_reservation(root, {"name": "b", "start_time": now(),
                                               "duration_min": 10, "users": "daemon",
                                               "node_count": 1})
    assert [n.name for n in row.nodes.all()] == ["n3"]
    with pytest.raises(SlurmError) as info:
        actions.do_create_reservation(root, {"name": "c", "start_time": now(),
                                             "duration_min": 10, "users": "daemon",
                                             "node_count": 1})
    assert info.value.error == "Requested nodes are busy"
