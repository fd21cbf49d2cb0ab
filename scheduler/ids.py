"""Job ids: handed out from the single JobIdCounter row, FirstJobId onwards."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from scheduler import config
from scheduler.models import JobIdCounter


def allocate_job_ids(n: int) -> list[int]:
    """``n`` consecutive new job ids. One statement moves the counter and returns it; the
    row stays locked until the caller's transaction ends, so ids are handed out in
    commit order and never twice."""
    if n <= 0:
        return []
    first_id = max(config.get_int("FirstJobId"), 1)
    table = connection.ops.quote_name(JobIdCounter._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    for _ in range(2):
        with connection.cursor() as cur:
            # Names from the model and the vendor; the values are bound.
            cur.execute(f"UPDATE {table} SET next_id = {greatest}(next_id, %s) + %s "  # noqa: S608
                        f"WHERE id = (SELECT MIN(id) FROM {table}) RETURNING next_id",
                        [first_id, n])
            row = cur.fetchone()
        if row is not None:
            return list(range(row[0] - n, row[0]))
        try:  # the first id ever: make the row, then move it as above
            with transaction.atomic():
                JobIdCounter.objects.create(pk=1, next_id=first_id)
        except IntegrityError:
            pass  # another process made it first
    raise RuntimeError("the job id counter row could not be made")
