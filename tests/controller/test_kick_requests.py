"""A cycle asked for by requests the last cycle already saw is skipped; one asked for
after it (or by that cycle's own commit), or by the clock, runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from scheduler import cycle, events, kick
from scheduler.models import Job
from tests.api.builders import make_cluster, make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def embedded(settings: Any) -> None:
    settings.EMBEDDED = True


def _request() -> None:
    with transaction.atomic():
        kick.request_cycle()


def test_a_request_the_last_cycle_saw_starts_no_second_cycle() -> None:
    make_cluster(nodes=1)
    _request()
    assert kick.wake.is_set()
    assert cycle.run_cycle_once(requested=True).ran
    job = make_job()  # written without asking: only a cycle that runs would start it
    skipped = cycle.run_cycle_once(requested=True)
    assert skipped.ran and skipped.started == []
    assert Job.objects.get(pk=job.pk).state == "PENDING"
    assert cycle.run_cycle_once().started == [job.pk]  # the clock's cycle is never skipped


def test_a_request_after_the_cycle_is_answered() -> None:
    make_cluster(nodes=1)
    cycle.run_cycle_once()
    job = make_job()
    _request()
    assert cycle.run_cycle_once(requested=True).started == [job.pk]


def test_what_the_cycles_own_commit_asks_for_is_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_cluster(nodes=1)
    asked: list[int] = []

    def after_cycle(*args: object) -> list[int]:
        events.request_cycle()  # as a cycle that preempts or cancels does
        asked.append(1)
        return []

    monkeypatch.setattr(cycle.features, "after_cycle", after_cycle)
    cycle.run_cycle_once()
    job = make_job()
    assert cycle.run_cycle_once(requested=True).started == [job.pk]
    assert asked == [1, 1]
