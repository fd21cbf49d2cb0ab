"""ORM -> :mod:`scheduler.core.reservations` inputs (one query for the reservations and nodes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scheduler.core import reservations as core
from scheduler.core.types import PendingJob, Snapshot
from scheduler.models import Job, Reservation


def split_names(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def info(r: Reservation, node_names: Iterable[str]) -> core.ReservationInfo:
    users = split_names(r.users)
    return core.ReservationInfo(
        name=r.name, start=int(r.start_time.timestamp()), end=int(r.end_time.timestamp()),
        nodes=frozenset(node_names),
        users=frozenset(u for u in users if not u.startswith("-")),
        denied_users=frozenset(u[1:] for u in users if u.startswith("-")),
        accounts=frozenset(split_names(r.accounts)),
        flags=frozenset(f.upper() for f in split_names(r.flags)))


def current(now: datetime) -> tuple[core.ReservationInfo, ...]:
    """Reservations that have not ended at ``now``."""
    rows = Reservation.objects.filter(end_time__gt=now).prefetch_related("nodes")
    return tuple(info(r, sorted(n.name for n in r.nodes.all())) for r in rows)


def apply(snapshot: Snapshot, pending: Iterable[Mapping[str, Any]],
          now: datetime) -> core.Restricted:
    """The snapshot narrowed by the reservations (``pending``: rows with id, reservation,
    account)."""
    pending = list(pending)
    resvs = current(now)
    if not resvs and not any(r.get("reservation") for r in pending):
        return core.Restricted(snapshot)  # the usual case: nothing to narrow
    asks = {int(r["id"]): core.JobAsk(r.get("reservation") or "", r.get("account") or "")
            for r in pending}
    return core.restrict(snapshot, resvs, asks, int(now.timestamp()))


def node_flags(now: datetime | None = None) -> dict[str, list[str]]:
    """State flags of nodes in an active reservation: ``MAINT`` first when it has that flag,
    then ``RESERVED`` (sinfo prints ``maint`` / ``resv``)."""
    from django.utils import timezone

    now = now or timezone.now()
    out: dict[str, list[str]] = {}
    rows = Reservation.objects.filter(start_time__lte=now, end_time__gt=now).prefetch_related(
        "nodes")
    for r in rows:
        maint = "MAINT" in {f.strip().upper() for f in r.flags.split(",")}
        for n in r.nodes.all():
            flags = out.setdefault(n.name, [])
            if maint and "MAINT" not in flags:
                flags.insert(0, "MAINT")
            if "RESERVED" not in flags:
                flags.append("RESERVED")
    return out


def restrict_one(snapshot: Snapshot, job: PendingJob, row: Job, now: datetime) -> PendingJob:
    """``job`` (a probe for ``sbatch --test-only``, not in ``snapshot``) as the reservations
    narrow it."""
    alone = Snapshot(snapshot.nodes, snapshot.partitions, snapshot.running, (job,))
    asks = {job.id: core.JobAsk(row.reservation or "", row.account or "")}
    return core.restrict(alone, current(now), asks, int(now.timestamp())).snapshot.pending[0]
