"""The cycle's snapshot re-reads only the pending rows written since the last one
(PostgreSQL), and always sees what was written."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from scheduler import snapshot
from scheduler.models import Job
from tests.api.builders import make_cluster, make_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_load_sees_every_write_and_only_pending_rows() -> None:
    make_cluster(nodes=1)
    a, b, c = make_job(name="a"), make_job(name="b"), make_job(name="c")
    first = snapshot._pending_rows()
    assert [r["name"] for r in first] == ["a", "b", "c"]
    Job.objects.filter(pk=b.pk).update(nice=7, name="b2")
    Job.objects.filter(pk=c.pk).update(state="CANCELLED")
    d = make_job(name="d")
    second = snapshot._pending_rows()
    assert [(r["id"], r["name"], r["nice"]) for r in second] == [
        (a.pk, "a", a.nice), (b.pk, "b2", 7), (d.pk, "d", d.nice)]
    assert {job.id for job in snapshot.load(timezone.now()).snapshot.pending} == {
        a.pk, b.pk, d.pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row versions are PostgreSQL's")
def test_unchanged_rows_are_not_read_again() -> None:
    make_cluster(nodes=1)
    a, b = make_job(name="a"), make_job(name="b")
    first = {r["id"]: r for r in snapshot._pending_rows()}
    Job.objects.filter(pk=b.pk).update(reason="Resources")
    second = {r["id"]: r for r in snapshot._pending_rows()}
    assert second[a.pk] is first[a.pk]  # the same values, not read again
    assert second[b.pk] is not first[b.pk] and second[b.pk]["reason"] == "Resources"
