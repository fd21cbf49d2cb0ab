"""Node events (sacctmgr show event): recorded by scontrol update, lost heartbeats and an
agent coming back; listed by GET /api/accounting/events/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.actions.nodes import do_register_node, do_update_node
from scheduler.health import check_nodes
from scheduler.models import Node, NodeEvent
from tests.api.builders import make_cluster, make_running, make_user, set_param
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_node_drained_then_resumed_gives_one_closed_event() -> None:
    (n1,) = make_cluster(nodes=1)
    root = make_user("root", operator=True)
    do_update_node(root, n1, "DRAIN", "bad fan")
    do_update_node(root, Node.objects.get(pk=n1.pk), "DRAIN", "bad fan")  # no change
    do_update_node(root, Node.objects.get(pk=n1.pk), "RESUME")
    (event,) = NodeEvent.objects.all()
    assert (event.node_name, event.state, event.reason, event.user) == (
        "n1", "DRAIN", "bad fan", "root")
    assert event.tres == {"cpu": 2, "mem": 4000, "gres/gpu": 0}
    assert event.time_end is not None and event.time_end >= event.time_start


def test_draining_a_busy_node_then_downing_it_starts_a_new_event() -> None:
    (n1,) = make_cluster(nodes=1)
    make_running(n1, cpus=2)
    root = make_user("root", operator=True)
    do_update_node(root, Node.objects.get(pk=n1.pk), "DRAIN", "swap disk")
    do_update_node(root, Node.objects.get(pk=n1.pk), "DOWN", "dead disk")
    first, second = NodeEvent.objects.order_by("id")
    assert (first.state, first.reason, first.time_end is not None) == ("DRNG", "swap disk",
                                                                        True)
    assert (second.state, second.reason, second.time_end) == ("DRAIN", "dead disk", None)


def test_a_silent_node_is_down_until_its_agent_registers_again() -> None:
    (n1,) = make_cluster(nodes=1)
    n1.last_heartbeat = timezone.now() - timedelta(seconds=400)
    n1.save(update_fields=["last_heartbeat"])
    set_param("ReturnToService", "1")
    check_nodes()
    event = NodeEvent.objects.get()
    assert (event.state, event.reason, event.user, event.time_end) == (
        "DOWN", "Not responding", "slurm", None)
    do_register_node({"node": "n1"})
    event.refresh_from_db()
    assert event.time_end is not None
    assert NodeEvent.objects.count() == 1


def test_any_user_lists_events_unless_private_data_events() -> None:
    (n1,) = make_cluster(nodes=1)
    root = make_user("root", operator=True)
    make_user("bob")
    do_update_node(root, n1, "DOWN", "PSU")
    r = client_for("bob").get("/api/accounting/events/",
                              {"states": "down", "nodes": "n[1-2]"})
    assert r.status_code == 200, r.content
    (row,) = r.json()["events"]
    assert (row["node_name"], row["state"], row["reason"], row["user"], row["time_end"]) == (
        "n1", "DOWN", "PSU", "root", None)
    later = int((timezone.now() + timedelta(hours=1)).timestamp())
    assert client_for("bob").get("/api/accounting/events/", {"start": later, "end": later + 60}
                                 ).json()["events"] == [row]  # still open
    assert client_for("bob").get("/api/accounting/events/",
                                 {"states": "DRAIN"}).json()["events"] == []
    assert client_for("bob").get("/api/accounting/events/",
                                 {"states": "up"}).status_code == 400
    set_param("PrivateData", "events")
    assert client_for("bob").get("/api/accounting/events/").status_code == 403
    assert client_for("root").get("/api/accounting/events/").status_code == 200


def test_an_event_of_this_very_second_is_listed_in_a_window_up_to_now() -> None:
    (n1,) = make_cluster(nodes=1)
    root = make_user("root", operator=True)
    do_update_node(root, n1, "DRAIN", "test")
    do_update_node(root, Node.objects.get(pk=n1.pk), "RESUME")
    hour_ago = int((timezone.now() - timedelta(hours=1)).timestamp())
    rows = client_for("root").get("/api/accounting/events/", {"start": hour_ago}).json()
    assert [(r["node_name"], r["state"]) for r in rows["events"]] == [("n1", "DRAIN")]
