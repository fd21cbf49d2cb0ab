"""Reading PostgreSQL timestamps at C speed.

Django reads ``timestamptz`` through a subclass of psycopg's pure-Python loader
(to attach the connection's time zone), which parses each value with a regular
expression: 1.8 us a value, against 0.08 us for ``datetime.fromisoformat``, and
a scheduling cycle over 1,000 pending jobs reads 2,000 of them (squeue and
sacct more). This loader parses the ISO form PostgreSQL sends (``DateStyle``
ISO, which Django sets) with ``fromisoformat`` and hands anything else
(``infinity``, BC dates) to psycopg's. It keeps Django's ``timezone`` attribute,
so Django's per-cursor check keeps it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db.backends.postgresql.psycopg_any import BaseTzLoader


@cache
def _loader_for(tz: Any) -> type[BaseTzLoader]:
    class IsoTzLoader(BaseTzLoader):  # type: ignore[misc]
        timezone = tz

        def load(self, data: Any) -> datetime:
            try:
                value = datetime.fromisoformat(bytes(data).decode("ascii"))
            except ValueError:
                return super().load(data)  # type: ignore[no-any-return]
            return value.replace(tzinfo=self.timezone)

    return IsoTzLoader


def use_iso_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: the fast loader on every new PostgreSQL connection."""
    if connection.vendor != "postgresql":
        return
    connection.connection.adapters.register_loader("timestamptz",
                                                   _loader_for(connection.timezone))
