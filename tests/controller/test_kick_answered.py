"""Embedded mode: a request the last cycle already saw starts no second cycle; one made
after it (or by that cycle's own commit) does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from scheduler import cycle, events, kick

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def embedded(settings: Any) -> None:
    settings.EMBEDDED = True


def _request() -> None:
    with transaction.atomic():
        kick.request_cycle()


def test_a_request_committed_before_the_cycle_is_answered_by_it() -> None:
    _request()
    assert kick.wake.is_set()
    result = cycle.run_cycle_once()
    assert result.ran and kick.answered(result.seen_until)


def test_a_request_after_the_cycle_is_not_answered() -> None:
    result = cycle.run_cycle_once()
    _request()
    assert not kick.answered(result.seen_until)


def test_what_the_cycles_own_commit_asks_for_is_not_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def after_cycle(*args: object) -> list[int]:
        events.request_cycle()  # as a cycle that preempts or cancels does
        return []

    monkeypatch.setattr(cycle.features, "after_cycle", after_cycle)
    result = cycle.run_cycle_once()
    assert not kick.answered(result.seen_until)
