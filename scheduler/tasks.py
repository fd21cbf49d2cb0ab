"""Celery glue only: the scheduling cycle and the node health check."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(  # type: ignore[untyped-decorator]
    name="scheduler.tasks.schedule", ignore_result=True)
def schedule() -> dict[str, object]:
    """One cycle; returns at once when another worker holds the cycle lock."""
    from scheduler import kick
    from scheduler.cycle import run_cycle_once

    kick.clear_pending()
    result = run_cycle_once()
    if not result.ran:
        # Another worker is mid-cycle and may have read the queue before the change
        # that asked for this one: run again right after it.
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
