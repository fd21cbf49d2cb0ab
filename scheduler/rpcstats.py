"""Remote procedure call statistics: ``sdiag``'s counts and times per message type and
per user.

Each request the controller answers for a Slurm command is one of slurmctld's RPCs
(``portal/rpcstats.py`` says which); ``record`` counts it with its time in
microseconds. Counts gather in the process and reach the shared cache at most once
a second (and before they are read), as atomic increments: in production several
web processes answer requests and the figures are their sums. Keys: one per message
type (a fixed set) and per user, the users numbered in the order first seen so
they can be listed without scanning the cache. ``reset`` (``sdiag --reset``) starts
them again.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from scheduler.kick import shared_cache

#: slurmctld's message types that Drover's requests stand for: name -> Slurm's number.
MESSAGE_TYPES: dict[str, int] = {
    "MESSAGE_NODE_REGISTRATION_STATUS": 1002,
    "REQUEST_PING": 1008,
    "REQUEST_BUILD_INFO": 2001,
    "REQUEST_JOB_INFO": 2003,
    "REQUEST_JOB_STEP_INFO": 2005,
    "REQUEST_NODE_INFO": 2007,
    "REQUEST_PARTITION_INFO": 2009,
    "REQUEST_JOB_INFO_SINGLE": 2021,
    "REQUEST_SHARE_INFO": 2022,
    "REQUEST_RESERVATION_INFO": 2024,
    "REQUEST_PRIORITY_FACTORS": 2026,
    "REQUEST_STATS_INFO": 2035,
    "REQUEST_NODE_INFO_SINGLE": 2040,
    "REQUEST_UPDATE_JOB": 3001,
    "REQUEST_UPDATE_NODE": 3002,
    "REQUEST_CREATE_RESERVATION": 3006,
    "REQUEST_DELETE_RESERVATION": 3008,
    "REQUEST_UPDATE_RESERVATION": 3009,
    "REQUEST_SUBMIT_BATCH_JOB": 4003,
    "REQUEST_JOB_WILL_RUN": 4012,
    "REQUEST_JOB_STEP_CREATE": 5001,
    "REQUEST_STEP_COMPLETE": 5016,
    "REQUEST_JOB_REQUEUE": 5023,
    "REQUEST_KILL_JOB": 5032,
}

PREFIX = "drover:rpc"
FLUSH_S = 1.0

_lock = threading.Lock()
_types: dict[str, list[int]] = {}  # name -> [count, microseconds], not yet flushed
_users: dict[tuple[str, int], list[int]] = {}
_flushed = 0.0


def record(message: str, user: str | None, uid: int | None, us: int) -> bool:
    """Count one ``message`` (a key of MESSAGE_TYPES) from ``user`` (None: by type only)
    that took ``us`` microseconds; whether the caller should now :func:`flush` (at
    most once a second; the caller picks the thread that waits for the cache)."""
    global _flushed
    with _lock:
        _add_local(_types, message, us)
        if user is not None and uid is not None:
            _add_local(_users, (user, uid), us)
        now = time.monotonic()
        due = now - _flushed >= FLUSH_S
        if due:
            _flushed = now
    return due


def _add_local(table: dict[Any, list[int]], key: Any, us: int) -> None:
    sums = table.setdefault(key, [0, 0])
    sums[0] += 1
    sums[1] += us


def flush() -> None:
    """Move this process's counts to the shared cache."""
    global _types, _users
    with _lock:
        types, users, _types, _users = _types, _users, {}, {}
    cache = shared_cache()
    for name, (count, us) in types.items():
        _incr(cache, f"{PREFIX}:t:{name}:n", count)
        _incr(cache, f"{PREFIX}:t:{name}:us", us)
    for (user, uid), (count, us) in users.items():
        key = f"{PREFIX}:u:{user}:{uid}"
        if cache.add(f"{key}:n", 0, None):  # first seen (once, whichever process): list it
            slot = _incr(cache, f"{PREFIX}:users", 1)
            cache.set(f"{PREFIX}:user:{slot}", [user, uid], None)
        _incr(cache, f"{key}:n", count)
        _incr(cache, f"{key}:us", us)


def _incr(cache: Any, key: str, delta: int) -> int:
    """Add ``delta`` to ``key`` atomically, creating it."""
    try:
        return int(cache.incr(key, delta))
    except ValueError:  # missing: create it, unless another process just did
        if cache.add(key, delta, None):
            return delta
        return int(cache.incr(key, delta))


def figures() -> dict[str, list[dict[str, Any]]]:
    """Both lists under slurmrestd's ``diag`` names, most called first."""
    flush()
    cache = shared_cache()
    got = cache.get_many([f"{PREFIX}:t:{name}:{x}" for name in MESSAGE_TYPES
                          for x in ("n", "us")])
    by_type = [_row(got, f"{PREFIX}:t:{name}", message_type=name, type_id=number)
               for name, number in MESSAGE_TYPES.items()]
    users = _users_seen(cache)
    got = cache.get_many([f"{PREFIX}:u:{user}:{uid}:{x}" for user, uid in users
                          for x in ("n", "us")])
    by_user = [_row(got, f"{PREFIX}:u:{user}:{uid}", user=user, user_id=uid)
               for user, uid in users]
    return {"rpcs_by_message_type": _ranked(by_type, "type_id"),
            "rpcs_by_user": _ranked(by_user, "user_id")}


def _users_seen(cache: Any) -> list[tuple[str, int]]:
    slots = int(cache.get(f"{PREFIX}:users") or 0)
    found = cache.get_many([f"{PREFIX}:user:{i}" for i in range(1, slots + 1)])
    return [(str(v[0]), int(v[1])) for v in found.values()]


def _row(got: dict[str, Any], key: str, **names: Any) -> dict[str, Any]:
    count, us = int(got.get(f"{key}:n") or 0), int(got.get(f"{key}:us") or 0)
    return {**names, "count": count, "average_time": us // count if count else 0,
            "total_time": us}


def _ranked(rows: list[dict[str, Any]], ident: str) -> list[dict[str, Any]]:
    return sorted((r for r in rows if r["count"]), key=lambda r: (-r["count"], r[ident]))


def reset() -> None:
    """Start the counts again (``sdiag --reset``): this process's and the shared ones."""
    with _lock:
        _types.clear()
        _users.clear()
    cache = shared_cache()
    users = _users_seen(cache)
    slots = int(cache.get(f"{PREFIX}:users") or 0)
    cache.delete_many(
        [f"{PREFIX}:t:{name}:{x}" for name in MESSAGE_TYPES for x in ("n", "us")]
        + [f"{PREFIX}:u:{user}:{uid}:{x}" for user, uid in users for x in ("n", "us")]
        + [f"{PREFIX}:user:{i}" for i in range(1, slots + 1)] + [f"{PREFIX}:users"])
