"""Node actions: an operator's state changes and an agent's registration."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.actions.errors import SlurmError
from scheduler.actions.nodes import do_register_node, do_update_node
from scheduler.models import Node
from tests.api.builders import make_cluster, make_running, make_user, set_param

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db: Any) -> Any:
    make_cluster()
    return make_user("root", operator=True)


def n1() -> Node:
    return Node.objects.get(name="n1")


def test_drain_needs_a_reason_and_an_operator(root: Any) -> None:
    with pytest.raises(SlurmError) as info:
        do_update_node(root, n1(), "DRAIN", "")
    assert info.value.error == "Invalid node state specified"
    assert "must specify a reason" in info.value.detail[0]
    with pytest.raises(SlurmError) as info:
        do_update_node(make_user("daemon"), n1(), "DRAIN", "disk")
    assert (info.value.error, info.value.http_status) == ("Access/permission denied", 403)


def test_drain_then_resume(root: Any) -> None:
    make_running(n1())
    node = do_update_node(root, n1(), "drain", "bad disk")
    assert (node.drain, node.reason, node.reason_user) == (True, "bad disk", "root")
    from scheduler.records import node_record

    assert node_record(n1())["state"] == "DRAINING"
    node = do_update_node(root, n1(), "RESUME")
    assert (node.drain, node.reason) == (False, "")


def test_down_ends_the_jobs_on_the_node(root: Any) -> None:
    job = make_running(n1())
    do_update_node(root, n1(), "DOWN", "maintenance")
    job.refresh_from_db()
    assert job.state == "NODE_FAIL"
    assert (n1().state, n1().alloc_cpus) == ("DOWN", 0)
    assert do_update_node(root, n1(), "RESUME").state == "IDLE"


def test_registration_of_an_unknown_node_is_refused(root: Any) -> None:
    with pytest.raises(SlurmError):
        do_register_node({"node": "nosuch"})


def test_registration_brings_a_node_into_service(root: Any) -> None:
    Node.objects.filter(name="n1").update(state="UNKNOWN")
    node = do_register_node({"node": "n1", "cpus": 64, "real_memory_mb": 999999,
                             "version": "0.1.0", "boot_time": 1795520000.0, "running": []})
    assert (node.state, node.version, node.cpus, node.real_memory_mb) == ("IDLE", "0.1.0", 2, 4000)
    assert node.boot_time is not None and node.agent_start_time is not None


@pytest.mark.parametrize("rts, reason, back", [
    ("1", "Not responding", True), ("1", "admin says so", False), ("0", "Not responding", False),
    ("2", "admin says so", True)])
def test_a_down_node_returns_as_return_to_service_says(root: Any, rts: str, reason: str,
                                                       back: bool) -> None:
    set_param("ReturnToService", rts)
    Node.objects.filter(name="n1").update(state="DOWN", reason=reason)
    node = do_register_node({"node": "n1"})
    assert (node.state == "IDLE") is back
