"""Reservations as a stage before the cycle: who may use reserved nodes, and when."""

from __future__ import annotations

import pytest

from scheduler.core import reservations as resv
from scheduler.core.cycle import run_cycle
from scheduler.core.reservations import JobAsk, ReservationInfo
from scheduler.core.types import Decision, SchedConfig, Snapshot
from tests.core.builders import NOW, job, node, part, started

HOUR = 3600


def r(name: str = "r1", start: int = NOW - 60, end: int = NOW + HOUR, nodes: str = "n1,n2",
      users: str = "alice", accounts: str = "", flags: str = "") -> ReservationInfo:
    names = [u for u in users.split(",") if u]
    return ReservationInfo(name=name, start=start, end=end, nodes=frozenset(nodes.split(",")),
                           users=frozenset(u for u in names if not u.startswith("-")),
                           denied_users=frozenset(u[1:] for u in names if u.startswith("-")),
                           accounts=frozenset(a for a in accounts.split(",") if a),
                           flags=frozenset(f for f in flags.split(",") if f))


def decide(reservations: list[ReservationInfo], pending: list[object],
           asks: dict[int, JobAsk] | None = None, n: int = 3) -> Decision:
    nodes = tuple(node(f"n{i}", cpus=4) for i in range(1, n + 1))
    snap = Snapshot(nodes, (part(),), (), tuple(pending))  # type: ignore[arg-type]
    restricted = resv.restrict(snap, tuple(reservations), asks or {}, NOW)
    return resv.explain(run_cycle(restricted.snapshot, SchedConfig(), NOW), restricted)


# (case, reservation, job kwargs, ask, expected nodes or None, expected reason)
CASES = [
    ("no reservation: any node", None, {}, JobAsk(), ["n1"], None),
    ("outsider avoids active reservation", r(), {"user": "bob"}, JobAsk(), ["n3"], None),
    ("member without --reservation avoids it too", r(), {"user": "alice"}, JobAsk(),
     ["n3"], None),
    ("member with --reservation gets reserved nodes", r(), {"user": "alice"},
     JobAsk("r1"), ["n1"], None),
    ("member via account", r(users="", accounts="physics"), {"user": "carol"},
     JobAsk("r1", "physics"), ["n1"], None),
    ("denied user may not use it", r(users="-alice"), {"user": "alice"}, JobAsk("r1"),
     None, "AccessDenied"),
    ("a non-member asking is denied", r(), {"user": "bob"}, JobAsk("r1"), None,
     "AccessDenied"),
    ("unknown reservation", None, {"user": "alice"}, JobAsk("gone"), None,
     "ReservationDeleted"),
    ("future reservation: member waits for it", r(start=NOW + HOUR, end=NOW + 2 * HOUR),
     {"user": "alice"}, JobAsk("r1"), None, "Reservation"),
    ("short job runs before a future reservation",
     r(start=NOW + 2 * HOUR, end=NOW + 3 * HOUR, nodes="n1,n2,n3"), {"limit": HOUR},
     JobAsk(), ["n1"], None),
    ("long job is kept off a future reservation",
     r(start=NOW + HOUR // 2, end=NOW + 3 * HOUR, nodes="n1,n2,n3"), {"limit": HOUR},
     JobAsk(), None, "Resources"),
    ("an unlimited job is kept off any future reservation",
     r(start=NOW + 10 * HOUR, end=NOW + 11 * HOUR, nodes="n1,n2,n3"), {"limit": None},
     JobAsk(), None, "Resources"),
    ("ended reservation frees its nodes", r(start=NOW - 2 * HOUR, end=NOW), {"user": "bob"},
     JobAsk(), ["n1"], None),
    ("maint blocks everyone outside it",
     r(nodes="n1,n2,n3", users="root", flags="MAINT"), {"user": "alice"}, JobAsk(), None,
     "ReqNodeNotAvail, Reserved for maintenance"),
    ("maint blocks members not asking for it",
     r(nodes="n1,n2,n3", users="alice", flags="MAINT"), {"user": "alice"}, JobAsk(), None,
     "ReqNodeNotAvail, Reserved for maintenance"),
    ("magnetic draws members in without asking", r(nodes="n1,n2,n3", flags="MAGNETIC"),
     {"user": "alice"}, JobAsk(), ["n1"], None),
    ("magnetic keeps outsiders out", r(nodes="n1,n2,n3", flags="MAGNETIC"),
     {"user": "bob"}, JobAsk(), None, "Resources"),
    ("a job larger than the free nodes waits", r(), {"user": "bob", "nodes": 2}, JobAsk(),
     None, "Resources"),
    ("a member's job larger than the reservation never fits it", r(),
     {"user": "alice", "nodes": 3}, JobAsk("r1"), None, "PartitionConfig"),
]


@pytest.mark.parametrize(("case", "reservation", "kw", "ask", "nodes", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_reservation_rules(case: str, reservation: ReservationInfo | None,
                           kw: dict[str, object], ask: JobAsk, nodes: list[str] | None,
                           reason: str | None) -> None:
    j = job(1, **kw)  # type: ignore[arg-type]
    d = decide([reservation] if reservation else [], [j], {1: ask})
    if nodes is None:
        assert started(d) == {}
        assert d.reasons[1] == reason
    else:
        assert started(d) == {1: nodes}


def test_two_reservations_leave_only_free_nodes_to_outsiders() -> None:
    d = decide([r("a", nodes="n1"), r("b", nodes="n2", users="bob")],
               [job(1, user="carol", ntasks=2, cpus=4, nodes=2)], {})
    assert started(d) == {} and d.reasons[1] == "Resources"
    d = decide([r("a", nodes="n1"), r("b", nodes="n2", users="bob")],
               [job(1, user="carol")], {})
    assert started(d) == {1: ["n3"]}


def test_restrict_without_reservations_changes_nothing() -> None:
    snap = Snapshot((node("n1"),), (part(),), (), (job(1),))
    assert resv.restrict(snap, (), {}, NOW).snapshot is snap


def test_membership() -> None:
    assert r(users="alice").admits("alice", "")
    assert not r(users="alice").admits("bob", "")
    assert r(users="", accounts="phys").admits("bob", "phys")
    assert r(users="-bob").admits("alice", "") and not r(users="-bob").admits("bob", "")
    assert not r(users="", accounts="").admits("alice", "")
