"""Timestamps read through portal/pgtime.py are the ones written, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from portal.pgtime import _loader_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pg() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.mark.usefixtures("pg")
@pytest.mark.parametrize("value", [
    datetime(2026, 11, 24, 22, 30, 0, 123456, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
])
def test_what_is_written_is_read(value: datetime) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT %s::timestamptz", [value])
        got = cur.fetchone()[0]
    assert got == value and got.tzinfo is not None
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader is _loader_for(connection.timezone)  # the fast one reads it


@pytest.mark.usefixtures("pg")
def test_what_iso_cannot_say_goes_to_psycopg() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT '0044-03-15 12:00:00+00 BC'::timestamptz")
        with pytest.raises(Exception, match="BC"):  # psycopg's own answer: Python has no BC
            cur.fetchone()
