"""Ask for a scheduling cycle soon (after a submit, a job's end, a node change).

Embedded mode sets an event the loop thread (scheduler/loop.py) waits on.
Production queues the Celery task ``scheduler.tasks.schedule`` after commit,
debounced through the cache: ``cache.add`` lets one request through per
second, so a burst of 1,000 submits queues one or two tasks, not 1,000. A
request made while a cycle runs still gets a cycle afterwards: a cycle clears
the debounce key once it holds the cycle lock, before it reads anything, so the
next request queues the next cycle, which waits for this one to end.

Embedded mode also notes when each request was made (after its commit), so the loop
can tell a request the last cycle already answered from a new one: with SQLite,
writers take turns, so a commit announced before a cycle's own commit was made
before that cycle began and is in what it read. A job ending while a cycle waits
for the write lock would otherwise cost a second cycle that finds nothing to do
(half the cycles of 300 one-second jobs draining on 2 nodes).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)
wake = threading.Event()
_requested_at = 0.0  # time.monotonic() when the latest embedded request was made
DEBOUNCE_KEY = "drover:cycle-pending"
DEBOUNCE_S = 1


def request_cycle() -> None:
    if getattr(settings, "EMBEDDED", True):
        transaction.on_commit(_ring)
        return
    transaction.on_commit(_queue)


def _ring() -> None:
    global _requested_at
    _requested_at = time.monotonic()
    wake.set()


def answered(seen_until: float) -> bool:
    """Whether every request so far was committed before ``seen_until``: the time up to
    which the last cycle saw every commit (:attr:`scheduler.cycle.CycleResult.seen_until`)."""
    return _requested_at < seen_until


_debounce_cache: Any = None


def shared_cache() -> Any:
    """One cache client for the process. ``django.core.cache.cache`` is per thread and,
    under ASGI, per request: each kick would open a new connection to Redis (~1/10
    of the web process's time in the end-to-end benchmark). Redis clients are
    thread-safe."""
    global _debounce_cache
    if _debounce_cache is None:
        from django.core.cache import caches

        _debounce_cache = caches.create_connection("default")
    return _debounce_cache


def _queue() -> None:
    try:
        if not shared_cache().add(DEBOUNCE_KEY, 1, DEBOUNCE_S):
            return
        from scheduler import tasks

        tasks.schedule.apply_async(expires=60)
    except Exception:  # the periodic beat still runs the cycle
        log.warning("could not queue a scheduling cycle", exc_info=True)


def clear_pending() -> None:
    """Called as a cycle begins, holding the lock: later requests ask for the next one."""
    if getattr(settings, "EMBEDDED", True):
        wake.clear()
        return
    try:
        shared_cache().delete(DEBOUNCE_KEY)
    except Exception:
        log.warning("could not clear the cycle debounce key", exc_info=True)
