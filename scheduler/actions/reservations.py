"""Advanced reservations: ``scontrol create|update|delete reservation`` (operators only).

A reservation's fields arrive parsed (times in epoch seconds, durations in
minutes, lists as Slurm's comma strings). The checks and their words follow
slurmctld's ``reservation.c``: unknown nodes, users, accounts or partition;
an end before the start; nodes another reservation holds in the same window
(``RESERVATION_OVERLAP``, unless either has ``MAINT`` or ``OVERLAP``); nodes
busy with jobs that would still run when it starts (``NODES_BUSY``, unless
``IGNORE_JOBS`` or ``MAINT``); deleting one that running jobs use
(``RESERVATION_BUSY``). Reservations that have ended are purged.
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting.models import Account
from scheduler import events
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.models import Job, JobState, Node, Partition, Reservation
from scheduler.records import compress_hosts, expand_hosts

FLAGS = frozenset({"MAINT", "IGNORE_JOBS", "OVERLAP", "DAILY", "WEEKLY", "WEEKDAY", "WEEKEND",
                   "FLEX", "ANY_NODES", "STATIC_ALLOC", "PART_NODES", "FIRST_CORES",
                   "TIME_FLOAT", "REPLACE", "REPLACE_DOWN", "NO_HOLD_JOBS_AFTER_END",
                   "PURGE_COMP", "MAGNETIC", "SPEC_NODES"})
_RUNNING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
FIELDS = ("name", "start_time", "end_time", "duration_min", "nodes", "node_count", "users",
          "accounts", "flags", "partition")


@dataclass
class _Spec:
    start: datetime
    end: datetime
    nodes: list[Node]
    users: str
    accounts: str
    flags: str
    partition: str


def _require_operator(actor: Any) -> None:
    if not is_operator(actor):
        raise SlurmError("ACCESS_DENIED", "only operators may manage reservations")


def purge_ended(now: datetime | None = None) -> int:
    deleted, _ = Reservation.objects.filter(end_time__lte=now or timezone.now()).delete()
    return int(deleted)


def get_reservation(name: str) -> Reservation:
    purge_ended()
    row = Reservation.objects.filter(name=name).first()
    if row is None:
        raise SlurmError("RESERVATION_INVALID", f"Reservation {name} not found")
    return row


def do_create_reservation(actor: Any, data: dict[str, Any]) -> Reservation:
    """Create a reservation from ``data`` (keys of FIELDS), or raise SlurmError."""
    _require_operator(actor)
    _known_keys(data)
    now = timezone.now()
    with transaction.atomic():
        purge_ended(now)
        spec = _spec(data, None, now)
        name = _text(data.get("name")) or _generated_name(spec)
        if Reservation.objects.filter(name=name).exists():
            raise SlurmError("RESERVATION_INVALID", f"Reservation {name} already exists")
        _check_conflicts(spec, None, now)
        row = Reservation.objects.create(
            name=name, start_time=spec.start, end_time=spec.end, users=spec.users,
            accounts=spec.accounts, flags=spec.flags, partition=spec.partition)
        row.nodes.set(spec.nodes)
    events.request_cycle()
    return row


def do_update_reservation(actor: Any, name: str, data: dict[str, Any]) -> Reservation:
    """Change the given fields of reservation ``name``."""
    _require_operator(actor)
    _known_keys(data)
    if not data:
        raise SlurmError("REST_FAIL_PARSING", "no changes specified")
    now = timezone.now()
    with transaction.atomic():
        row = get_reservation(name)
        row = Reservation.objects.select_for_update().get(pk=row.pk)
        spec = _spec(data, row, now)
        _check_conflicts(spec, row, now)
        row.start_time, row.end_time = spec.start, spec.end
        row.users, row.accounts, row.flags = spec.users, spec.accounts, spec.flags
        row.partition = spec.partition
        row.save()
        row.nodes.set(spec.nodes)
    events.request_cycle()
    return row


def do_delete_reservation(actor: Any, name: str) -> None:
    """Delete reservation ``name``; refused while running jobs use it."""
    _require_operator(actor)
    with transaction.atomic():
        row = get_reservation(name)
        if Job.objects.filter(reservation=row.name, state__in=_RUNNING).exists():
            raise SlurmError("RESERVATION_BUSY")
        row.delete()
    events.request_cycle()


# ---- checks -----------------------------------------------------------------------------


def _known_keys(data: dict[str, Any]) -> None:
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise SlurmError("REST_FAIL_PARSING", f"unknown reservation field {unknown[0]}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SlurmError("REST_FAIL_PARSING", "expected a string")
    return value.strip()


def _epoch(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SlurmError("INVALID_TIME_VALUE", f"{key} must be epoch seconds")
    return datetime.fromtimestamp(int(value), tz=UTC)


def _spec(data: dict[str, Any], row: Reservation | None, now: datetime) -> _Spec:
    start = _epoch(data.get("start_time"), "start_time")
    if start is None:
        if row is None:
            raise SlurmError("INVALID_TIME_VALUE", "A start time must be given")
        start = row.start_time
    start = max(start, now) if row is None else start
    end = _epoch(data.get("end_time"), "end_time")
    duration = data.get("duration_min")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
            raise SlurmError("INVALID_TIME_VALUE", "Duration must be a positive number of minutes")
        end = start + timedelta(minutes=duration)
    if end is None:
        if row is None:
            raise SlurmError("INVALID_TIME_VALUE", "An end time or duration must be given")
        end = row.end_time if "start_time" not in data else start + (row.end_time - row.start_time)
    if end <= start:
        raise SlurmError("INVALID_TIME_VALUE", "The end time must be after the start time")
    partition = _text(data["partition"]) if "partition" in data else (row.partition if row else "")
    if partition and not Partition.objects.filter(name=partition).exists():
        raise SlurmError("INVALID_PARTITION_NAME", f"invalid partition specified: {partition}")
    if "node_count" in data and "nodes" not in data:
        nodes = _pick_nodes(data["node_count"], partition, start, end, row)
    else:
        nodes = _nodes(data, row, partition)
    users = _users(_text(data["users"])) if "users" in data else (row.users if row else "")
    accounts = _accounts(_text(data["accounts"])) if "accounts" in data else (
        row.accounts if row else "")
    if not users and not accounts:
        raise SlurmError("RESERVATION_INVALID",
                         "Either Users/Groups and/or Accounts must be specified")
    flags = _flags(_text(data["flags"])) if "flags" in data else (row.flags if row else "")
    return _Spec(start, end, nodes, users, accounts, flags, partition)


def _nodes(data: dict[str, Any], row: Reservation | None, partition: str) -> list[Node]:
    if "nodes" not in data:
        if row is not None:
            return list(row.nodes.order_by("name"))
        if partition:
            in_part = list(Partition.objects.get(name=partition).nodes.order_by("name"))
            if in_part:
                return in_part
        raise SlurmError("REQUESTED_NODE_CONFIG_UNAVAILABLE",
                         "Nodes, NodeCnt, CoreCnt, TRES, BurstBuffer or Watts must be specified")
    text = _text(data["nodes"])
    if text.upper() == "ALL":
        return list(Node.objects.order_by("name"))
    try:
        names = expand_hosts(text)
    except Exception:
        raise SlurmError("INVALID_NODE_NAME", f"invalid node list {text}") from None
    if not names:
        raise SlurmError("INVALID_NODE_NAME", "no nodes given")
    found = {n.name: n for n in Node.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise SlurmError("INVALID_NODE_NAME", f"invalid node name specified: {missing[0]}")
    return [found[n] for n in sorted(found)]


def _pick_nodes(count: Any, partition: str, start: datetime, end: datetime,
                row: Reservation | None) -> list[Node]:
    """``NodeCnt=N``: the first N usable nodes (of the partition) that no other reservation
    holds in the window and no running job is on, by name."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SlurmError("INVALID_NODE_COUNT")
    pool = (Partition.objects.get(name=partition).nodes.all() if partition
            else Node.objects.all())
    taken = set(Reservation.objects.filter(start_time__lt=end, end_time__gt=start)
                .exclude(pk=row.pk if row is not None else None)
                .values_list("nodes__name", flat=True))
    free = [n for n in pool.order_by("name")
            if n.name not in taken and n.state in ("IDLE", "MIXED", "ALLOCATED")
            and not n.drain and n.alloc_cpus == 0]
    if len(free) < count:
        raise SlurmError("NODES_BUSY")
    return free[:count]


def _users(text: str) -> str:
    names = [u.strip() for u in text.split(",") if u.strip()]
    for name in names:
        try:
            pwd.getpwnam(name.lstrip("-"))
        except KeyError:
            raise SlurmError("USER_ID_MISSING", f"invalid user {name.lstrip('-')}") from None
    if any(n.startswith("-") for n in names) and not all(n.startswith("-") for n in names):
        raise SlurmError("RESERVATION_INVALID", "users may be all allowed or all denied")
    return ",".join(names)


def _accounts(text: str) -> str:
    names = [a.strip() for a in text.split(",") if a.strip()]
    if names and Account.objects.exists():
        known = set(Account.objects.filter(name__in=[n.lstrip("-") for n in names])
                    .values_list("name", flat=True))
        missing = [n for n in names if n.lstrip("-") not in known]
        if missing:
            raise SlurmError("INVALID_ACCOUNT", f"invalid account {missing[0]}")
    return ",".join(names)


def _flags(text: str) -> str:
    flags = [f.strip().upper() for f in text.split(",") if f.strip()]
    bad = [f for f in flags if f not in FLAGS]
    if bad:
        raise SlurmError("REST_FAIL_PARSING", f"Invalid reservation flag {bad[0]}")
    return ",".join(dict.fromkeys(flags))


def _generated_name(spec: _Spec) -> str:
    """Slurm's ``<first user or account>_<n>``."""
    first = (spec.users or spec.accounts).split(",")[0].lstrip("-") or "resv"
    n = 1
    while Reservation.objects.filter(name=f"{first}_{n}").exists():
        n += 1
    return f"{first}_{n}"


def _check_conflicts(spec: _Spec, row: Reservation | None, now: datetime) -> None:
    flags = set(spec.flags.split(","))
    names = [n.name for n in spec.nodes]
    others = Reservation.objects.filter(start_time__lt=spec.end, end_time__gt=spec.start,
                                        nodes__name__in=names).distinct()
    if row is not None:
        others = others.exclude(pk=row.pk)
    if not flags & {"MAINT", "OVERLAP"}:
        for other in others:
            if not set(other.flags.split(",")) & {"MAINT", "OVERLAP"}:
                raise SlurmError("RESERVATION_OVERLAP")
    if flags & {"IGNORE_JOBS", "MAINT"}:
        return
    if not names:
        return
    busy = Job.objects.filter(Q(alloc__has_any_keys=names), state__in=_RUNNING)
    if row is not None:
        busy = busy.exclude(reservation=row.name)
    for job in busy:
        end = (job.start_time + timedelta(minutes=job.time_limit_min)
               if job.start_time and job.time_limit_min is not None else None)
        if end is None or end > spec.start:
            raise SlurmError("NODES_BUSY")


# ---- records ----------------------------------------------------------------------------


def reservation_record(row: Reservation, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    nodes = sorted(row.nodes.all(), key=lambda n: n.name)
    return {
        "name": row.name,
        "start_time": int(row.start_time.timestamp()),
        "end_time": int(row.end_time.timestamp()),
        "duration_min": int((row.end_time - row.start_time).total_seconds() // 60),
        "nodes": compress_hosts([n.name for n in nodes]),
        "node_names": [n.name for n in nodes],
        "node_count": len(nodes),
        "core_count": sum(n.cpus for n in nodes),
        "users": row.users,
        "accounts": row.accounts,
        "flags": row.flags,
        "partition": row.partition,
        "state": "ACTIVE" if row.start_time <= now < row.end_time else "INACTIVE",
    }


def reservation_records() -> list[dict[str, Any]]:
    now = timezone.now()
    purge_ended(now)
    rows = Reservation.objects.prefetch_related("nodes").order_by("start_time", "name")
    return [reservation_record(r, now) for r in rows]
