"""Advanced reservations as a stage before the cycle: who may use which nodes, and when.

A reservation holds its nodes from ``start`` to ``end``. Applied to a snapshot
(:func:`restrict`) it changes only the pending jobs' node lists, so the rest of
the pipeline (filter, main, backfill) needs no knowledge of reservations:

* a job that asks for a reservation (``--reservation``) and may use it is
  confined to the reservation's nodes; before the reservation starts it waits
  with reason ``Reservation``; a reservation that no longer exists leaves it
  pending with ``ReservationDeleted``; one it may not use, ``AccessDenied``;
* every other job loses the reserved nodes when its run could overlap the
  window: ``now + time limit > start`` (no limit: always) and ``now < end``.
  A job short enough to end before the window opens still gets them, which is
  Slurm's backfill in front of a reservation;
* a ``MAGNETIC`` reservation also takes its members' jobs that name no
  reservation (they may use its nodes and the others);
* ``MAINT`` reservations block everyone outside them the same way, and the
  jobs they keep waiting show Slurm's ``ReqNodeNotAvail, Reserved for
  maintenance``.

Membership follows Slurm: ``Users=`` lists names (``-name`` denies), ``Accounts=``
account names; a user is a member when listed, or their account is; with
both empty nobody is.

After the cycle, :func:`explain` rewrites the reasons of jobs that the
restriction kept from nodes ("never fits" there only means "not while the
reservation lasts").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from scheduler.core import types
from scheduler.core.types import Decision, PendingJob, Snapshot

MAINT_REASON = "ReqNodeNotAvail, Reserved for maintenance"
WAIT_RESERVATION = "Reservation"
RESERVATION_DELETED = "ReservationDeleted"
#: Reasons the pipeline gives a job when its allowed nodes cannot hold it.
_NO_NODES = frozenset({types.PARTITION_CONFIG, types.REQ_NODE_NOT_AVAIL, types.BAD_CONSTRAINTS})


@dataclass(frozen=True, slots=True)
class ReservationInfo:
    name: str
    start: int
    end: int
    nodes: frozenset[str]
    users: frozenset[str] = frozenset()
    denied_users: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()

    @property
    def maint(self) -> bool:
        return "MAINT" in self.flags

    def active(self, now: int) -> bool:
        return self.start <= now < self.end

    def admits(self, user: str, account: str) -> bool:
        if user in self.denied_users:
            return False
        if self.users and user in self.users:
            return True
        if self.accounts and account in self.accounts:
            return True
        return bool(self.denied_users) and not self.users and not self.accounts


@dataclass(frozen=True, slots=True)
class JobAsk:
    """What a pending job brings to the reservation check."""

    reservation: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class Restricted:
    snapshot: Snapshot
    #: Jobs made ineligible here (by job id): their reason.
    reasons: Mapping[int, str] = field(default_factory=dict)
    #: Jobs that lost nodes to a reservation: the reason to show if they wait for them.
    blocked: Mapping[int, str] = field(default_factory=dict)


def restrict(snapshot: Snapshot, reservations: tuple[ReservationInfo, ...],
             asks: Mapping[int, JobAsk], now: int) -> Restricted:
    """The snapshot with every pending job's node lists narrowed by ``reservations``.

    ``asks`` maps job ids to their ``--reservation`` and account (missing: none).
    """
    if not reservations and not any(a.reservation for a in asks.values()):
        return Restricted(snapshot)
    by_name = {r.name: r for r in reservations}
    all_nodes = frozenset(n.name for n in snapshot.nodes)
    parts = {p.name: p for p in snapshot.partitions}
    reasons: dict[int, str] = {}
    blocked: dict[int, str] = {}
    out: list[PendingJob] = []
    for job in snapshot.pending:
        ask = asks.get(job.id, JobAsk())
        if not job.eligible:
            out.append(job)
            continue
        new, why, block = _one(job, ask, by_name, all_nodes, parts, now)
        if why:
            reasons[job.id] = why
            new = replace(new, eligible=False, reason=why)
        if block:
            blocked[job.id] = block
        out.append(new)
    snap = Snapshot(snapshot.nodes, snapshot.partitions, snapshot.running, tuple(out))
    return Restricted(snap, reasons, blocked)


def _one(job: PendingJob, ask: JobAsk, by_name: Mapping[str, ReservationInfo],
         all_nodes: frozenset[str], parts: Mapping[str, types.PartitionInfo],
         now: int) -> tuple[PendingJob, str, str]:
    """(job with narrowed nodes, reason if ineligible, reason if it waits for reserved nodes)."""
    mine = by_name.get(ask.reservation) if ask.reservation else None
    if ask.reservation:
        if mine is None:
            return job, RESERVATION_DELETED, ""
        if not mine.admits(job.user, ask.account):
            return job, types.ACCESS_DENIED, ""
        if now < mine.start:
            return job, WAIT_RESERVATION, ""
        if now >= mine.end:
            return job, RESERVATION_DELETED, ""
    limit = _limit(job, parts)
    excluded: set[str] = set()
    block = ""
    for r in by_name.values():
        if r is mine or now >= r.end:
            continue
        if mine is None and "MAGNETIC" in r.flags and r.start <= now and r.admits(
                job.user, ask.account):
            continue  # members' jobs are drawn in without asking
        if limit is not None and now + limit <= r.start:
            continue  # ends before the window opens
        excluded |= r.nodes
        if not block or r.maint:
            block = MAINT_REASON if r.maint else types.RESOURCES
    if mine is not None:
        excluded |= all_nodes - mine.nodes
    if not excluded:
        return job, "", ""
    return replace(job, exc_nodes=job.exc_nodes | excluded), "", block


def _limit(job: PendingJob, parts: Mapping[str, types.PartitionInfo]) -> int | None:
    if job.time_limit_s is not None:
        return job.time_limit_s
    limits = []
    for name in job.partitions:
        p = parts.get(name)
        if p is None:
            continue
        limit = p.default_time_s if p.default_time_s is not None else p.max_time_s
        if limit is None:
            return None
        limits.append(limit)
    return max(limits) if limits else None


def explain(decision: Decision, restricted: Restricted) -> Decision:
    """Reasons of jobs kept off reserved nodes: theirs instead of "never fits"."""
    if not restricted.blocked:
        return decision
    reasons = dict(decision.reasons)
    for jid, why in restricted.blocked.items():
        if reasons.get(jid) in _NO_NODES:
            reasons[jid] = why
    return replace(decision, reasons=reasons)
