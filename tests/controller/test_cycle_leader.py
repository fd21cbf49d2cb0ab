"""One cycle at a time: a second one gives up at once, or waits for the first to end."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from scheduler.cycle import leader, run_cycle_once

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_lead(holding: threading.Event, release: threading.Event) -> None:
    try:
        with leader() as got:
            assert got
            holding.set()
            release.wait(10)
    finally:
        connection.close()


@pytest.fixture
def lead_held_elsewhere() -> Iterator[tuple[threading.Event, threading.Thread]]:
    holding, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_hold_lead, args=(holding, release))
    thread.start()
    assert holding.wait(10)
    yield release, thread
    release.set()
    thread.join(10)


def test_a_second_cycle_gives_up_at_once(lead_held_elsewhere: tuple[threading.Event,
                                                                    threading.Thread]) -> None:
    assert not run_cycle_once().ran


def test_a_second_cycle_waits_for_the_first_then_runs(
        lead_held_elsewhere: tuple[threading.Event, threading.Thread]) -> None:
    release, holder = lead_held_elsewhere
    threading.Timer(0.3, release.set).start()
    assert run_cycle_once(wait_s=10).ran
    assert release.is_set()  # it led only once the first had let go


def test_a_second_cycle_gives_up_after_waiting(
        lead_held_elsewhere: tuple[threading.Event, threading.Thread]) -> None:
    release, _ = lead_held_elsewhere
    assert not run_cycle_once(wait_s=0.2).ran
    assert not release.is_set()
    release.set()
    assert run_cycle_once(wait_s=10).ran  # the connection is usable after the timeout
