"""Node health: silent nodes go DOWN, their jobs end NODE_FAIL or requeue; the backstop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.health import check_nodes
from scheduler.models import AgentOrder, Job, Node
from tests.api.builders import make_cluster, make_running, set_param

pytestmark = pytest.mark.django_db(transaction=True)


def silent(node: Node, seconds: int = 400) -> None:
    node.last_heartbeat = timezone.now() - timedelta(seconds=seconds)
    node.save(update_fields=["last_heartbeat"])


def test_it_marks_a_silent_node_down_and_fails_its_jobs() -> None:
    n1, n2 = make_cluster(nodes=2)
    job = make_running(n1, cpus=2, requeue=False)
    silent(n1)
    n2.last_heartbeat = timezone.now()
    n2.save()
    report = check_nodes()
    assert report.down == ["n1"] and report.failed == [job.id]
    n1.refresh_from_db()
    assert (n1.state, n1.reason, n1.alloc_cpus) == ("DOWN", "Not responding", 0)
    job.refresh_from_db()
    assert job.state == "NODE_FAIL" and job.end_time is not None and job.exit_code == 0
    assert job.alloc == {}
    assert AgentOrder.objects.filter(job=job, kind="terminate").exists()
    assert Node.objects.get(name="n2").state == "IDLE"


def test_it_requeues_job_when_node_dies_and_requeue_is_allowed() -> None:
    (n1,) = make_cluster(nodes=1)
    job = make_running(n1, cpus=1, requeue=True)
    silent(n1)
    report = check_nodes()
    assert report.requeued == [job.id]
    job.refresh_from_db()
    assert (job.state, job.restarts, job.nodes) == ("PENDING", 1, "")


def test_job_requeue_zero_fails_instead() -> None:
    (n1,) = make_cluster(nodes=1)
    set_param("JobRequeue", "0")
    job = make_running(n1, cpus=1, requeue=True)
    silent(n1)
    assert check_nodes().failed == [job.id]


def test_a_recent_heartbeat_keeps_the_node_up() -> None:
    (n1,) = make_cluster(nodes=1)
    silent(n1, seconds=10)
    assert check_nodes().down == []


def test_the_backstop_terminates_a_job_far_past_its_limit_once() -> None:
    (n1,) = make_cluster(nodes=1)
    n1.last_heartbeat = timezone.now()
    n1.save()
    job = make_running(n1, time_limit_min=1)
    Job.objects.filter(pk=job.pk).update(start_time=timezone.now() - timedelta(seconds=200))
    assert check_nodes().timeouts == [job.id]
    order = AgentOrder.objects.get(job=job)
    assert order.kind == "terminate" and order.payload == {"reason": "timeout"}
    assert check_nodes().timeouts == []
    fresh = make_running(n1, time_limit_min=1)
    assert fresh.id not in check_nodes().timeouts
