"""The scheduling loop of embedded mode: a daemon thread of the ``drover up`` process.

It waits for a request (scheduler/kick.py) or at most ``INTERVAL_S``, then runs
one cycle, paced by scheduler/pace.py, and every ``INTERVAL_S`` the node health
check (as the production beat runs it every few seconds, not before every cycle:
a busy cluster runs many cycles a second). Exceptions are logged and the loop goes
on.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from scheduler import config, kick
from scheduler.pace import Pace

log = logging.getLogger(__name__)
INTERVAL_S = 2.0
_stop = threading.Event()
_thread: threading.Thread | None = None


def start_loop() -> threading.Thread:
    """Start the loop thread (once); returns it."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return _thread
    _stop.clear()
    _thread = threading.Thread(target=_run, name="drover-scheduler", daemon=True)
    _thread.start()
    return _thread


def stop_loop(timeout: float = 10.0) -> None:
    global _thread
    _stop.set()
    kick.wake.set()
    if _thread is not None:
        _thread.join(timeout)
    _thread = None


def _run() -> None:
    from scheduler.cycle import run_cycle_once
    from scheduler.health import check_nodes

    pace = Pace()
    checked = -INTERVAL_S
    while not _stop.is_set():
        requested = kick.wake.wait(INTERVAL_S)
        if _stop.wait(pace.wait_s()):
            break
        started = time.monotonic()
        try:
            close_old_connections()
            if started - checked >= INTERVAL_S:
                checked = started
                with config.cached():  # the parameters, read once for the health check
                    check_nodes()
            run_cycle_once(requested=requested)
        except Exception:
            log.exception("scheduling cycle failed; retrying")
        finally:
            close_old_connections()
        pace.ran(time.monotonic() - started)
    from django.db import connection

    connection.close()
