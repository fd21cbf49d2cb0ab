"""Job ids: handed out from the single JobIdCounter row, FirstJobId onwards."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from scheduler import config
from scheduler.models import JobIdCounter


def allocate_job_ids(n: int) -> list[int]:
    """``n`` consecutive new job ids (the counter row is locked until the caller commits)."""
    if n <= 0:
        return []
    first_id = max(config.get_int("FirstJobId"), 1)
    with transaction.atomic():
        counter = JobIdCounter.objects.select_for_update().order_by("pk").first()
        if counter is None:
            try:
                with transaction.atomic():
                    JobIdCounter.objects.create(pk=1, next_id=first_id)
            except IntegrityError:
                pass  # another process created it first
            counter = JobIdCounter.objects.select_for_update().order_by("pk").first()
            assert counter is not None
        start = max(counter.next_id, first_id)
        counter.next_id = start + n
        counter.save(update_fields=["next_id"])
    return list(range(start, start + n))
