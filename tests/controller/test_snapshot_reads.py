"""The cycle's snapshot re-reads only the pending rows written since the last one
(row versions: PostgreSQL's ``xmin``, SQLite's triggers), and always sees what was
written."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from scheduler import row_versions, snapshot
from scheduler.models import Job
from tests.api.builders import make_cluster, make_job

pytestmark = pytest.mark.django_db(transaction=True)


def rows() -> list[dict[str, Any]]:
    return [row for _, row in snapshot._pending_rows()]


def test_a_load_sees_every_write_and_only_pending_rows() -> None:
    make_cluster(nodes=1)
    a, b, c = make_job(name="a"), make_job(name="b"), make_job(name="c")
    assert [r["name"] for r in rows()] == ["a", "b", "c"]
    Job.objects.filter(pk=b.pk).update(nice=7, name="b2")
    Job.objects.filter(pk=c.pk).update(state="CANCELLED")
    d = make_job(name="d")
    assert [(r["id"], r["name"], r["nice"]) for r in rows()] == [
        (a.pk, "a", a.nice), (b.pk, "b2", 7), (d.pk, "d", d.nice)]
    assert {job.id for job in snapshot.load(timezone.now()).snapshot.pending} == {
        a.pk, b.pk, d.pk}


def test_unchanged_rows_are_not_read_again() -> None:
    make_cluster(nodes=1)
    a, b = make_job(name="a"), make_job(name="b")
    first = {r["id"]: r for r in rows()}
    Job.objects.filter(pk=b.pk).update(reason="Resources")
    second = {r["id"]: r for r in rows()}
    assert second[a.pk] is first[a.pk]  # the same values, not read again
    assert second[b.pk] is not first[b.pk] and second[b.pk]["reason"] == "Resources"


def test_a_saved_instance_moves_the_version_even_when_it_writes_an_old_one() -> None:
    make_cluster(nodes=1)
    job = make_job(name="a")
    stale = Job.objects.get(pk=job.pk)  # holds the version read now
    rows()
    Job.objects.filter(pk=job.pk).update(nice=3)
    rows()
    stale.name = "renamed"
    stale.save()  # writes back the old row_version (and nice=0)
    (row,) = rows()
    assert (row["name"], row["nice"]) == ("renamed", 0)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
def test_missing_triggers_are_made_and_what_was_read_is_forgotten() -> None:
    make_cluster(nodes=1)
    job = make_job(name="a")
    rows()
    with connection.cursor() as cur:  # as a table rebuild by a later migration would
        cur.execute("DROP TRIGGER scheduler_job_version_update")
    Job.objects.filter(pk=job.pk).update(name="b")  # the version does not move
    assert [r["name"] for r in rows()] == ["b"]
    assert row_versions.ensure()
    Job.objects.filter(pk=job.pk).update(name="c")
    assert [r["name"] for r in rows()] == ["c"]
