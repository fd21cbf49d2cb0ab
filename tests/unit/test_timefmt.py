"""drover.timefmt: Slurm's time limits, durations, timestamps and dates."""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drover import timefmt
from drover.timefmt import (
    TimeFormatError,
    format_elapsed,
    format_hms,
    format_time_limit,
    format_time_limit_padded,
    format_timestamp,
    parse_begin,
    parse_time_limit,
    parse_timestamp,
)

NOW = datetime(2026, 11, 24, 12, 0, 0).astimezone()


@pytest.mark.parametrize(("text", "minutes"), [
    ("5", 5), ("1:30", 2), ("1:00", 1), ("1:00:00", 60), ("01:00:00", 60), ("1-0", 1440),
    ("1-2", 1560), ("1-2:3", 1563), ("1-2:3:4", 1564), ("0:3600", 60), ("0:61", 2),
    ("7-00:00:00", 10080), ("0", 0), ("UNLIMITED", None), ("infinite", None), ("-1", None),
])
def test_parse_time_limit_accepts_every_slurm_form(text: str, minutes: int | None) -> None:
    assert parse_time_limit(text) == minutes


@pytest.mark.parametrize("bad", ["banana", "", "1-", "-5", "1::2", "1-2-3", "1:2:3:4", "1h",
                                 "1.5", "forever", "2:"])
def test_parse_time_limit_rejects_garbage(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time_limit(bad)


@pytest.mark.parametrize(("minutes", "text"), [
    (60, "1:00:00"), (1440, "1-00:00:00"), (10, "10:00"), (1, "1:00"), (30, "30:00"),
    (None, "UNLIMITED"), (2880, "2-00:00:00"),
])
def test_format_time_limit_is_sinfo_style(minutes: int | None, text: str) -> None:
    assert format_time_limit(minutes) == text


@pytest.mark.parametrize(("minutes", "text"), [
    (60, "01:00:00"), (20, "00:20:00"), (10, "00:10:00"), (1440, "1-00:00:00"),
    (None, "UNLIMITED"),
])
def test_format_time_limit_padded_is_scontrol_style(minutes: int | None, text: str) -> None:
    assert format_time_limit_padded(minutes) == text


@pytest.mark.parametrize(("secs", "short", "hms"), [
    (0, "0:00", "00:00:00"), (7, "0:07", "00:00:07"), (13, "0:13", "00:00:13"),
    (3723, "1:02:03", "01:02:03"), (86400, "1-00:00:00", "1-00:00:00"),
    (90061, "1-01:01:01", "1-01:01:01"),
])
def test_durations(secs: int, short: str, hms: str) -> None:
    assert format_elapsed(secs) == short
    assert format_hms(secs) == hms


@pytest.fixture
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_format_timestamp_is_local_iso_without_zone(utc: None) -> None:
    epoch = calendar.timegm((2026, 11, 24, 12, 34, 56, 0, 0, 0))
    assert format_timestamp(float(epoch)) == "2026-11-24T12:34:56"
    assert format_timestamp(None) == "Unknown"


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("now+1hour", NOW + timedelta(hours=1)),
    ("now+60", NOW + timedelta(seconds=60)),
    ("now+2days", NOW + timedelta(days=2)),
    ("now+10minutes", NOW + timedelta(minutes=10)),
    ("16:00", NOW.replace(hour=16)),
    ("11:00", NOW.replace(hour=11) + timedelta(days=1)),
    ("4:30pm", NOW.replace(hour=16, minute=30)),
    ("2026-01-20T12:34:00", NOW.replace(month=1, day=20, hour=12, minute=34)),
    ("2026-12-01", NOW.replace(month=12, day=1, hour=0)),
    ("today", NOW.replace(hour=0)),
    ("tomorrow", NOW.replace(day=25, hour=0)),
    ("midnight", NOW.replace(day=25, hour=0)),
    ("noon", NOW.replace(hour=12)),
    ("teatime", NOW.replace(hour=16)),
    ("1225", NOW.replace(month=12, day=25, hour=0)),
])
def test_parse_begin(text: str, expected: datetime) -> None:
    assert parse_begin(text, NOW) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("now-1day", NOW - timedelta(days=1)),
    ("now-3hours", NOW - timedelta(hours=3)),
    ("2026-11-01", NOW.replace(day=1, hour=0)),
    ("2026-11-01T08:30", NOW.replace(day=1, hour=8, minute=30)),
    ("2026-11-01T08:30:15", NOW.replace(day=1, hour=8, minute=30, second=15)),
    ("1225", NOW.replace(year=2025, month=12, day=25, hour=0)),
    ("010126", NOW.replace(month=1, day=1, hour=0)),
    ("16:00", NOW.replace(hour=16) - timedelta(days=1)),
])
def test_parse_timestamp_reads_dates_in_the_past(text: str, expected: datetime) -> None:
    assert parse_timestamp(text, NOW) == expected


@pytest.mark.parametrize("bad", ["junk", "now+1parsec", "2026-13-01", "25:00", "now+", ""])
def test_bad_dates_are_rejected(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_begin(bad, NOW)


@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_d_h_m_s_parses_to_rounded_up_minutes(d: int, h: int, m: int, s: int) -> None:
    total = d * 86400 + h * 3600 + m * 60 + s
    assert parse_time_limit(f"{d}-{h}:{m:02d}:{s:02d}") == -(-total // 60)
    assert timefmt.parse_time_limit_s(f"{d}-{h}:{m}:{s}") == total


@given(st.integers(1, 10**6))
def test_format_time_limit_round_trips(minutes: int) -> None:
    assert parse_time_limit(format_time_limit(minutes)) == minutes
    assert parse_time_limit(format_time_limit_padded(minutes)) == minutes


@given(st.integers(0, 10**5))
def test_seconds_only_round_up(secs: int) -> None:
    assert parse_time_limit(f"0:{secs}") == -(-secs // 60)
