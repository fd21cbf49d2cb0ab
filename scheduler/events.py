"""Announcements of state changes over the channel layer, sent after commit.

The database row is the truth; these messages only tell live pages and agents
that something changed. Every function defers its send with
``transaction.on_commit`` (so a rolled-back change announces nothing) and never
raises: a broken channel layer must not undo a committed action.

Groups and message shapes (``type`` is the consumer handler, dots -> underscores):

* ``"queue"``: every job change, in batches:
  ``{"type": "job.updates", "jobs": [<job record>, ...]}``
* ``"user.<username>"``: the same, with that user's jobs only (a job's live page
  listens to its owner's group: one send per user, not one per job)
* ``"user.<username>"`` also: running steps' new usage samples, one message per agent
  sync and owner: ``{"type": "job.steps", "jobs": [{"job_id": int, "user": str,
  "steps": [<step record>, ...]}, ...]}`` (only the steps sampled; a job's live page
  merges their figures into the steps it shows)
* ``"nodes"``: ``{"type": "node.update", "node": <node record>}``
* ``"agent.<node>"``: ``{"type": "agent.wake"}``: an order waits for that node's agent

Records are those of ``scheduler.records`` (docs/architecture.md), built after
commit from fresh rows. A job that no longer exists is skipped.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)
_GROUP_BAD = re.compile(r"[^A-Za-z0-9._-]")
SEND_TIMEOUT_S = 10.0


def group_name(prefix: str, key: object) -> str:
    """A channel-layer-safe group name (ASCII letters, digits, ``._-``; < 100 chars)."""
    return (prefix + "." + _GROUP_BAD.sub("_", str(key)))[:99]


#: The event loop of this process's ASGI server, when other threads of the process announce
#: too (``drover up``: the scheduling loop's thread). The in-memory channel layer is
#: queues of that loop; a message put from a loop of another thread reaches a waiting
#: consumer only when the server's loop next wakes: on an idle cluster ~40 ms late, the
#: doorbell of every launch order.
_server_loop: asyncio.AbstractEventLoop | None = None
#: Elsewhere (the Celery worker, management commands), unless in a request's thread: a
#: loop of the process's own, in a daemon thread, with the process id it was made in.
#: ``async_to_sync`` outside a request would make a new loop, thread and Redis
#: connection for every announcement.
_own: tuple[int, asyncio.AbstractEventLoop] | None = None
_own_lock = threading.Lock()


def send_on(loop: asyncio.AbstractEventLoop) -> None:
    """Send every announcement on ``loop``, the ASGI server's (call it from that loop)."""
    global _server_loop
    _server_loop = loop


def _send(messages: list[tuple[str, dict[str, Any]]]) -> None:
    if not messages:
        return
    try:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return

        async def send_all() -> None:
            for group, message in messages:
                await layer.group_send(group, message)

        future = asyncio.run_coroutine_threadsafe(send_all(), _loop())
        future.result(timeout=SEND_TIMEOUT_S)
    except Exception:  # a dead channel layer must not break a committed action
        log.warning("broadcast failed", exc_info=True)


def _loop() -> asyncio.AbstractEventLoop:
    """The loop to announce on: the server's, unless this thread runs it (waiting on it
    there would deadlock); in a request's thread, the loop serving the request (what
    ``async_to_sync`` would use: asgiref notes it in the thread); else the process's own."""
    global _own
    for loop in (_server_loop, _request_loop()):
        if loop is not None and loop.is_running() and not _runs_in(loop):
            return loop
    with _own_lock:
        if _own is None or _own[0] != os.getpid():  # none yet, or made before a fork
            own = asyncio.new_event_loop()
            threading.Thread(target=own.run_forever, name="drover-announce",
                             daemon=True).start()
            _own = (os.getpid(), own)
        return _own[1]


def _request_loop() -> asyncio.AbstractEventLoop | None:
    from asgiref.sync import SyncToAsync

    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    return getattr(local, "main_event_loop", None)


def _runs_in(loop: asyncio.AbstractEventLoop) -> bool:
    """Is this thread the one running ``loop``?"""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


#: The groups each kind of announcement goes to, as prefixes (``user`` is ``user.<name>``).
JOB_GROUPS = ("queue", "user")
STEP_GROUPS = ("user",)
NODE_GROUPS = ("nodes",)


def heard_by(prefixes: tuple[str, ...]) -> bool:
    """May anyone hear a message to a group named ``prefix`` or ``prefix.<key>``?

    Known only of the in-memory layer (``drover up``): its groups are a dict of this
    process, without the groups nobody is in. There, with no page open, the records
    a message would carry are not built at all (a third of a busy cycle's commit).
    Other layers (Redis), or a layer that fails here, are assumed heard."""
    try:
        from channels.layers import get_channel_layer

        groups = getattr(get_channel_layer(), "groups", None)
    except Exception:  # _send logs a broken layer
        return True
    if not isinstance(groups, dict):
        return True
    names = list(groups)  # one step under the GIL: the server's loop may change it
    return any(name == p or name.startswith(p + ".") for name in names for p in prefixes)


def _send_heard(prefixes: tuple[str, ...], build: Callable[[], list[tuple[str, Any]]]) -> None:
    """After commit, if anyone may hear them, build the messages and send them."""
    def send() -> None:
        if heard_by(prefixes):
            _send(build())

    transaction.on_commit(send)


def _job_messages(ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    from scheduler.models import Job
    from scheduler.records import job_records

    jobs = Job.objects.filter(id__in=ids).prefetch_related("steps").order_by("id")
    return _record_messages(job_records(jobs))


def _record_messages(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """One message to "queue" and one per owner: a cycle that moves the planned start of
    a hundred jobs sends a few messages, not three hundred (each a Redis round trip)."""
    if not records:
        return []
    by_user: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_user.setdefault(str(record["user"]), []).append(record)
    out = [("queue", {"type": "job.updates", "jobs": records})]
    out += [(group_name("user", user), {"type": "job.updates", "jobs": mine})
            for user, mine in by_user.items()]
    return out


def _node_messages(names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    from scheduler.models import Node
    from scheduler.records import node_records

    nodes = Node.objects.filter(name__in=names).prefetch_related("partitions")
    return [("nodes", {"type": "node.update", "node": r}) for r in node_records(nodes)]


def broadcast_jobs(ids: Iterable[int]) -> None:
    """After commit, send the jobs' records to "queue" and to their owners' groups."""
    wanted = sorted({int(i) for i in ids})
    if wanted:
        _send_heard(JOB_GROUPS, lambda: _job_messages(wanted))


def broadcast_new_job(job: Any) -> None:
    """As ``broadcast_jobs`` for a job just inserted without steps, from the saved
    instance: it is the committed row (nothing can have changed it before the
    scheduling kick queued after this message), so no query reads it back (a third
    of a submission's broadcast cost)."""

    def build() -> list[tuple[str, dict[str, Any]]]:
        from scheduler.records import job_record

        return _record_messages([job_record(job, steps=[])])

    _send_heard(JOB_GROUPS, build)


def broadcast_nodes(names: Iterable[str]) -> None:
    """After commit, send each node's record to "nodes"."""
    wanted = sorted(set(names))
    if wanted:
        _send_heard(NODE_GROUPS, lambda: _node_messages(wanted))


def broadcast_records(jobs: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> None:
    """After commit, send job and node records the caller built from rows it holds
    locked (so they are what commits: no read-back), nodes first, in one send: the
    messages of ``broadcast_nodes`` and ``broadcast_jobs`` for a whole agent sync."""
    messages = [("nodes", {"type": "node.update", "node": r}) for r in nodes]
    messages += _record_messages(jobs)
    if messages:
        transaction.on_commit(lambda: _send(messages))


def broadcast_step_usage(jobs: list[dict[str, Any]]) -> None:
    """After commit, send the new usage of running steps to their owners' groups, one
    message per owner: ``jobs`` as ``job.steps`` carries them (built by the caller from
    the rows it writes; no read-back). Not to "queue": no queue page shows steps."""
    by_user: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_user.setdefault(str(job["user"]), []).append(job)
    messages = [(group_name("user", user), {"type": "job.steps", "jobs": mine})
                for user, mine in sorted(by_user.items())]
    if messages:
        transaction.on_commit(lambda: _send(messages))


def wake_agent(node_name: str) -> None:
    """After commit, ring the doorbell of the node's agent (its sync long poll answers)."""
    group = group_name("agent", node_name)
    transaction.on_commit(lambda: _send([(group, {"type": "agent.wake"})]))


def request_cycle() -> None:
    """After commit, ask for a scheduling cycle soon (``scheduler.kick.request_cycle``)."""

    def kick() -> None:
        try:
            kick_module = importlib.import_module("scheduler.kick")
        except ImportError:  # the kick module is the core's; absent while assembling
            return
        fn = getattr(kick_module, "request_cycle", None)
        if callable(fn):
            try:
                fn()
            except Exception:
                log.warning("request_cycle failed", exc_info=True)

    transaction.on_commit(kick)
