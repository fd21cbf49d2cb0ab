"""The scheduling pace: a short wait after a request, a rest as long as the last cycle."""

from __future__ import annotations

import pytest

from scheduler.pace import COALESCE_S, MAX_REST_S, Pace


def test_a_first_cycle_waits_only_to_coalesce() -> None:
    assert Pace().wait_s() == COALESCE_S


def test_after_a_cycle_the_next_rests_as_long_as_it_took() -> None:
    pace = Pace()
    pace.ran(0.5)
    assert 0.4 < pace.wait_s() <= 0.5


def test_the_rest_is_capped() -> None:
    pace = Pace()
    pace.ran(30.0)
    assert pace.wait_s() == pytest.approx(MAX_REST_S, abs=0.05)


def test_a_short_cycle_still_leaves_the_coalescing_wait() -> None:
    pace = Pace()
    pace.ran(0.001)
    assert pace.wait_s() == COALESCE_S
