"""Ask for a scheduling cycle soon (after a submit, a job's end, a node change).

Embedded mode sets an event the loop thread (scheduler/loop.py) waits on.
Production queues the Celery task ``scheduler.tasks.schedule`` after commit,
debounced through the cache: ``cache.add`` lets one request through per
second, so a burst of 1,000 submits queues one or two tasks, not 1,000. A
request made while a cycle runs still gets a cycle afterwards: the task clears
the debounce key before it starts, so the next request queues the next cycle.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)
wake = threading.Event()
DEBOUNCE_KEY = "drover:cycle-pending"
DEBOUNCE_S = 1


def request_cycle() -> None:
    if getattr(settings, "EMBEDDED", True):
        transaction.on_commit(wake.set)
        return
    transaction.on_commit(_queue)


def _queue() -> None:
    from django.core.cache import cache

    try:
        if not cache.add(DEBOUNCE_KEY, 1, DEBOUNCE_S):
            return
        from scheduler import tasks

        tasks.schedule.apply_async(expires=60)
    except Exception:  # the periodic beat still runs the cycle
        log.warning("could not queue a scheduling cycle", exc_info=True)


def clear_pending() -> None:
    """Called as a cycle begins: later requests queue the next one."""
    if getattr(settings, "EMBEDDED", True):
        wake.clear()
        return
    from django.core.cache import cache

    try:
        cache.delete(DEBOUNCE_KEY)
    except Exception:
        log.warning("could not clear the cycle debounce key", exc_info=True)
