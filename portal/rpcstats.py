"""Counts the requests that stand for slurmctld's RPCs (``sdiag``'s RPC sections).

A request is counted under the message type its route and method stand for
(``RPCS``), with the time the server took for it, once a user is authenticated
(the agents' registrations under the user the controller runs as). Portal pages,
accounting (slurmdbd's, which sdiag leaves out) and the agents' syncs (long polls:
their time is mostly waiting) are not counted. The figures live in
:mod:`scheduler.rpcstats`.
"""

from __future__ import annotations

import functools
import os
import pwd
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from scheduler import rpcstats

_JOB = "REQUEST_JOB_INFO_SINGLE"
_UPDATE = "REQUEST_UPDATE_JOB"
_KILL = "REQUEST_KILL_JOB"
_RESV = "REQUEST_RESERVATION_INFO"
_SUBMIT = "REQUEST_SUBMIT_BATCH_JOB"
_STATS = "REQUEST_STATS_INFO"

#: (URL name, method) -> message type.
RPCS: dict[tuple[str, str], str] = {
    ("api-jobs", "GET"): "REQUEST_JOB_INFO",
    ("api-jobs", "POST"): _SUBMIT,
    ("api-job", "GET"): _JOB,
    ("api-job", "PATCH"): _UPDATE,
    ("api-job-steps", "GET"): "REQUEST_JOB_STEP_INFO",
    ("api-job-steps", "POST"): "REQUEST_JOB_STEP_CREATE",
    ("api-job-step", "PATCH"): "REQUEST_STEP_COMPLETE",
    ("api-job-signal", "POST"): _KILL,
    ("api-job-hold", "POST"): _UPDATE,
    ("api-job-release", "POST"): _UPDATE,
    ("api-job-requeue", "POST"): "REQUEST_JOB_REQUEUE",
    ("api-nodes", "GET"): "REQUEST_NODE_INFO",
    ("api-node", "GET"): "REQUEST_NODE_INFO_SINGLE",
    ("api-node", "PATCH"): "REQUEST_UPDATE_NODE",
    ("api-partitions", "GET"): "REQUEST_PARTITION_INFO",
    ("api-reservations", "GET"): _RESV,
    ("api-reservations", "POST"): "REQUEST_CREATE_RESERVATION",
    ("api-reservation", "GET"): _RESV,
    ("api-reservation", "PATCH"): "REQUEST_UPDATE_RESERVATION",
    ("api-reservation", "DELETE"): "REQUEST_DELETE_RESERVATION",
    ("api-reservation-delete", "POST"): "REQUEST_DELETE_RESERVATION",
    ("api-config", "GET"): "REQUEST_BUILD_INFO",
    ("api-ping", "GET"): "REQUEST_PING",
    ("api-diag", "GET"): _STATS,
    ("api-diag", "POST"): _STATS,
    ("api-priority", "GET"): "REQUEST_PRIORITY_FACTORS",
    ("api-shares", "GET"): "REQUEST_SHARE_INFO",
    ("agent-register", "POST"): "MESSAGE_NODE_REGISTRATION_STATUS",
    ("slurmrest-ping", "GET"): "REQUEST_PING",
    ("slurmrest-diag", "GET"): _STATS,
    ("slurmrest-job_submit", "POST"): _SUBMIT,
    ("slurmrest-job", "GET"): _JOB,
    ("slurmrest-job", "DELETE"): _KILL,
    ("slurmrest-jobs", "GET"): "REQUEST_JOB_INFO",
    ("slurmrest-nodes", "GET"): "REQUEST_NODE_INFO",
    ("slurmrest-node", "GET"): "REQUEST_NODE_INFO_SINGLE",
    ("slurmrest-partitions", "GET"): "REQUEST_PARTITION_INFO",
    ("slurmrest-partition", "GET"): "REQUEST_PARTITION_INFO",
}


class RpcStatsMiddleware:
    """Times and counts the requests in ``RPCS``; works in sync and async chains (an
    async one stays async: no thread hop of its own)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        start = time.perf_counter()
        response = self.get_response(request)
        if _count(request, response, start):
            rpcstats.flush()
        return response

    async def _acall(self, request: HttpRequest) -> Any:
        start = time.perf_counter()
        response = await self.get_response(request)
        if _count(request, response, start):
            # the shared cache may be Redis: its round trips go off the event loop
            await sync_to_async(rpcstats.flush, thread_sensitive=False)()
        return response


def _count(request: HttpRequest, response: HttpResponse, start: float) -> bool:
    """Count ``request`` if it is an RPC; whether the counts are due to be flushed."""
    match = request.resolver_match
    message = RPCS.get((match.url_name or "", request.method or "")) if match else None
    if message is None:
        return False
    if message == _SUBMIT and response.status_code == 200:
        message = "REQUEST_JOB_WILL_RUN"  # sbatch --test-only: answered, nothing made
    user: str | None
    uid: int | None
    if match is not None and match.url_name == "agent-register":
        if response.status_code >= 400:
            return False
        user, uid = _controller_user()
    else:
        user = _authenticated(request)
        if user is None:
            return False
        uid = _uid(user)
    us = int((time.perf_counter() - start) * 1_000_000)
    return rpcstats.record(message, user, uid, us)


def _authenticated(request: HttpRequest) -> str | None:
    """The request's user name if one was authenticated, without loading one that was
    not asked for (a lazy session user would read the database)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user.__dict__.get("_wrapped", empty)
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.get_username())


@functools.lru_cache(maxsize=1024)
def _uid(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:  # a portal-only login: counted by message type alone
        return None


@functools.lru_cache(maxsize=1)
def _controller_user() -> tuple[str, int]:
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:
        return str(uid), uid
