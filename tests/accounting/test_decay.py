"""Usage decay by PriorityDecayHalfLife and resets by PriorityUsageResetPeriod."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from accounting.core import decay
from accounting.usage import billing_seconds

DAY = 86_400
WEEK = 7 * DAY


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(("elapsed", "half_life", "expected"), [
    (0, WEEK, 1.0), (WEEK, WEEK, 0.5), (2 * WEEK, WEEK, 0.25), (WEEK // 2, WEEK, 2 ** -0.5),
    (WEEK, 0, 1.0),  # half-life 0: no decay
    (-5, WEEK, 1.0),
])
def test_half_life(elapsed: int, half_life: int, expected: float) -> None:
    assert decay.factor(elapsed, half_life) == pytest.approx(expected)


@pytest.mark.parametrize(("now", "period", "boundary"), [
    ("2026-11-25T15:30:00", "NONE", None),
    ("2026-11-25T15:30:00", "NOW", None),
    ("2026-11-25T15:30:00", "DAILY", "2026-11-25T00:00:00"),
    ("2026-11-25T15:30:00", "WEEKLY", "2026-11-22T00:00:00"),  # a Wednesday -> Sunday
    ("2026-11-22T01:00:00", "WEEKLY", "2026-11-22T00:00:00"),
    ("2026-11-25T15:30:00", "MONTHLY", "2026-11-01T00:00:00"),
    ("2026-11-25T15:30:00", "QUARTERLY", "2026-10-01T00:00:00"),
    ("2026-02-25T15:30:00", "QUARTERLY", "2026-01-01T00:00:00"),
    ("2026-11-25T15:30:00", "yearly", "2026-01-01T00:00:00"),
])
def test_reset_boundaries(now: str, period: str, boundary: str | None) -> None:
    assert decay.reset_boundary(at(now), period) == (None if boundary is None else at(boundary))


def test_bad_period_is_an_error() -> None:
    with pytest.raises(ValueError):
        decay.reset_boundary(0, "HOURLY")


@pytest.mark.parametrize(("usage", "since", "now", "period", "expected"), [
    (1000.0, 0, WEEK, "NONE", 500.0),
    (1000.0, None, WEEK, "NONE", 1000.0),
    (1000.0, at("2026-11-24T23:00:00"), at("2026-11-25T01:00:00"), "DAILY", 0.0),
    (1000.0, at("2026-11-25T00:30:00"), at("2026-11-25T01:00:00"), "DAILY",
     1000.0 * 0.5 ** (1800 / WEEK)),
])
def test_decayed_and_reset(usage: float, since: int | None, now: int, period: str,
                           expected: float) -> None:
    assert decay.decayed(usage, since, now, WEEK, period) == pytest.approx(expected)


def test_add_decays_first() -> None:
    assert decay.add(1000.0, 0, WEEK, 200.0, WEEK) == pytest.approx(700.0)


def test_decay_many_matches_scalar() -> None:
    usage = np.array([1000.0, 1000.0, 50.0])
    since = np.array([0, -1, at("2026-11-24T10:00:00")], dtype=np.int64)
    now = at("2026-11-25T10:00:00")
    got = decay.decay_many(usage, since, now, WEEK, "DAILY")
    assert got.tolist() == pytest.approx([0.0, 1000.0, 0.0])
    got = decay.decay_many(usage, since, now, WEEK)
    assert got[2] == pytest.approx(decay.decayed(50.0, int(since[2]), now, WEEK))


@pytest.mark.parametrize(("cpus", "elapsed", "factor", "expected"), [
    (2, 100, 1.0, 200.0), (4, 60, 0.5, 120.0), (1, -5, 1.0, 0.0), (8, 10, 0.0, 0.0),
])
def test_billing_seconds(cpus: int, elapsed: float, factor: float, expected: float) -> None:
    assert billing_seconds(cpus, elapsed, factor) == expected
