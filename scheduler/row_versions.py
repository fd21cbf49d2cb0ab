"""Row versions of jobs: what tells a scheduling cycle which pending rows changed.

A cycle over a thousand pending jobs spent most of its load reading and comparing
every row's 37 columns (and on SQLite, with the embedded loop sharing the process's
interpreter with request threads, that slowed every start). Instead, each row has a
version that any write changes, and the cycle re-reads only the rows whose version
moved since it last read them.

* PostgreSQL: ``xmin``, the transaction that wrote the row version (free, and never
  reused while a row is cached here).
* SQLite: the ``row_version`` column, set to ``random()`` by triggers after every
  insert and update (a random draw rather than a count: ids come back after a test's
  rollback or a flush, and a count would meet its old values again). The triggers are
  made on first use rather than by a migration, because SQLite rebuilds a table for
  many later schema changes and its triggers go with it; a cycle that has to make them
  cannot trust what it read before (rows written meanwhile kept their versions), so
  its caller forgets its cache then.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F
from django.db.models.expressions import Combinable, RawSQL

# Recursive triggers are off (SQLite's default, and Django's), so a trigger's own
# UPDATE does not fire it again.
_TRIGGERS = {
    "scheduler_job_version_insert":
        "CREATE TRIGGER IF NOT EXISTS scheduler_job_version_insert AFTER INSERT ON scheduler_job "
        "FOR EACH ROW BEGIN UPDATE scheduler_job SET row_version = random() WHERE id = NEW.id; END",
    "scheduler_job_version_update":
        "CREATE TRIGGER IF NOT EXISTS scheduler_job_version_update AFTER UPDATE ON scheduler_job "
        "FOR EACH ROW BEGIN UPDATE scheduler_job SET row_version = random() WHERE id = NEW.id; END",
}


def version_expression() -> Combinable:
    """The job rows' version, for ``annotate``."""
    if connection.vendor == "postgresql":
        return RawSQL("xmin::text", ())
    return F("row_version")


def ensure() -> bool:
    """Make sure versions move on every write; False when they did not until now (the
    triggers were missing and are made now: forget what was read before)."""
    if connection.vendor == "postgresql":
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        if set(_TRIGGERS) <= {name for (name,) in cur.fetchall()}:
            return True
        for statement in _TRIGGERS.values():
            cur.execute(statement)
    return False
