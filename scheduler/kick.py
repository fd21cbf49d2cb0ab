"""Ask for a scheduling cycle soon (after a submit, a job's end, a node change).

Embedded mode sets an event the loop thread (scheduler/loop.py) waits on.
Production queues the Celery task ``scheduler.tasks.schedule`` after commit,
debounced through the cache: ``cache.add`` lets one request through per
second, so a burst of 1,000 submits queues one or two tasks, not 1,000. A
request made while a cycle runs still gets a cycle afterwards: a cycle clears
the debounce key once it holds the cycle lock, before it reads anything, so the
next request queues the next cycle, which waits for this one to end.

Embedded mode also counts the requests, after their commit, so a cycle asked for can
tell whether the last cycle already saw every request
(:func:`scheduler.cycle.run_cycle_once`). A job ending while a cycle waits for the
lock otherwise costs a second cycle that finds nothing to do: half the cycles of
300 one-second jobs draining on 2 nodes. (Production's cycles run in other
processes than the requests. Counting there in a PostgreSQL sequence was tried: in
the same drain its cycles that start nothing follow requests made after they began
reading, and it skipped 2 cycles of 367, so it was not kept.)
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)
wake = threading.Event()
_count_lock = threading.Lock()
_counted = 0  # embedded: requests made so far in this process
DEBOUNCE_KEY = "drover:cycle-pending"
DEBOUNCE_S = 1


def request_cycle() -> None:
    if getattr(settings, "EMBEDDED", True):
        transaction.on_commit(_ring)
        return
    transaction.on_commit(_queue)


def _ring() -> None:
    global _counted
    with _count_lock:
        _counted += 1
    wake.set()


def requests_so_far() -> int | None:
    """How many requests this process made so far (each counted after its commit); None
    in production, where the requests come from other processes."""
    return _counted if getattr(settings, "EMBEDDED", True) else None


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
