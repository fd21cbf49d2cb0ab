"""Celery glue only: the scheduling cycle and the node health check."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from scheduler.pace import COALESCE_S

log = logging.getLogger(__name__)
LEAD_WAIT_S = 30.0


@shared_task(  # type: ignore[untyped-decorator]
    name="scheduler.tasks.schedule", ignore_result=True)
def schedule() -> dict[str, object]:
    """One cycle, after the one another worker may be running (it may have read the queue
    before the change that asked for this one). The debounce key (scheduler/kick.py)
    is cleared only once a cycle leads, so while this task waits the requests made
    meanwhile queue at most one more task a DEBOUNCE_S. It first waits as
    scheduler/pace.py says (the key stays set meanwhile: requests join this cycle)."""
    from scheduler.cycle import run_cycle_once

    time.sleep(COALESCE_S)
    result = run_cycle_once(wait_s=LEAD_WAIT_S)
    if not result.ran:  # a very long cycle: try again later
        schedule.apply_async(countdown=1, expires=60)
        return {"ran": False}
    return {"ran": True, "started": len(result.started), "seconds": round(result.seconds, 3)}


@shared_task(  # type: ignore[untyped-decorator]
    name="scheduler.tasks.check_nodes", ignore_result=True)
def check_nodes() -> dict[str, object]:
    from scheduler import health

    report = health.check_nodes()
    return {"down": report.down, "failed": report.failed, "requeued": report.requeued,
            "timeouts": report.timeouts}
