"""scheduler.bulk.update_rows writes what save() would, in one statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduler.bulk import update_rows
from scheduler.models import Job, Node
from tests.api.builders import make_cluster, make_job

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ["reason", "priority", "sched_start_time", "sched_nodes", "alloc"]


def test_each_row_gets_its_own_values_and_no_other_row_changes() -> None:
    jobs = [make_job() for _ in range(4)]
    bystander = make_job(reason="Dependency", priority=7)
    t0 = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    wanted = [
        ("Resources", 10, t0, "n1", {"n1": {"cpus": 2}}),
        ("Priority", 10, t0 + timedelta(hours=1), "n[1-2]", {}),
        ("Resources", 0, None, "", {"n2": {"cpus": 1, "gres": {"gpu": [0]}}}),
        ("Priority", 4_294_967_295, t0, "n2", {"odd 'quote\"": [1, None]}),
    ]
    for job, values in zip(jobs, wanted, strict=True):
        for name, value in zip(FIELDS, values, strict=True):
            setattr(job, name, value)
    with CaptureQueriesContext(connection) as queries:
        update_rows(Job, jobs, FIELDS)
    assert len(queries) == 1
    for job, values in zip(jobs, wanted, strict=True):
        fresh = Job.objects.get(pk=job.pk)
        assert tuple(getattr(fresh, f) for f in FIELDS) == values
    fresh = Job.objects.get(pk=bystander.pk)
    assert (fresh.reason, fresh.priority) == ("Dependency", 7)


def test_nothing_to_write_runs_no_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        update_rows(Job, [], FIELDS)
    assert len(queries) == 0


def test_rows_of_another_model() -> None:
    make_cluster(nodes=2)
    n1, n2 = Node.objects.get(name="n1"), Node.objects.get(name="n2")
    n1.alloc_cpus, n2.alloc_cpus = 1, 2
    n1.last_busy = datetime(2026, 1, 1, tzinfo=UTC)
    update_rows(Node, [n1, n2], ["alloc_cpus", "last_busy"])
    assert Node.objects.get(name="n1").alloc_cpus == 1
    assert Node.objects.get(name="n2").alloc_cpus == 2
    assert Node.objects.get(name="n1").last_busy == datetime(2026, 1, 1, tzinfo=UTC)
