"""sreport's figures: cluster utilization, usage by account and user, job sizes.

The arithmetic of Slurm 22.05's rollups (``as_mysql_rollup.c``) done directly on
the job records of one window instead of on hourly rollup tables:

* a job's use of the window is ``TRES count x seconds of [start, end or now]
  that fall inside [window start, window end)``;
* Reported = the TRES count of the cluster's nodes x the window length;
* Planned (Slurm's "Reserved" before 22.05) = what eligible pending jobs asked for
  while they waited in the window, at most the time left idle;
* Down = the TRES count of each node x the seconds of its node events (DOWN or
  drained) inside the window, at most what allocations leave of Reported; PLND Down
  is 0 (Drover has no planned-down state);
* Idle = Reported - Allocated - Down - PLND Down - Planned.

An account's usage is the sum over its subtree (``root`` sums everything), as
``sreport cluster AccountUtilizationByUser`` shows it. Everything here is plain
data in, plain dicts out; the loading lives in ``scheduler.reports_load``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: sreport job SizesByAccount's default Grouping.
DEFAULT_GROUPING = (50, 250, 500, 1000)


@dataclass(frozen=True)
class JobUse:
    """One job's share of the window: its TRES count and seconds inside the window."""

    user: str
    account: str
    count: int
    seconds: int

    @property
    def tres_s(self) -> int:
        return self.count * self.seconds


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds, inclusive
    end: int  # exclusive

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def overlap(self, begin: int | None, finish: int | None, now: int) -> int:
        """Seconds of ``[begin, finish or now)`` inside the window (0 if none)."""
        if begin is None:
            return 0
        stop = now if finish is None else finish
        return max(0, min(stop, self.end) - max(begin, self.start))


@dataclass(frozen=True)
class Assoc:
    """A row of the association tree in sacctmgr's depth-first order."""

    account: str
    user: str  # "" for the account's own row
    parent: str  # the parent account of an account row
    depth: int


def utilization(uses: Iterable[JobUse], waiting_tres_s: int, capacity: int,
                window: Window, down_tres_s: int = 0) -> dict[str, int]:
    """``sreport cluster Utilization`` in TRES-seconds (see the module docstring)."""
    reported = capacity * window.seconds
    allocated = sum(u.tres_s for u in uses)
    # A draining node's jobs count as allocated: its down time is what they leave.
    down, planned_down = min(down_tres_s, max(0, reported - allocated)), 0
    free = max(0, reported - allocated - down - planned_down)
    planned = min(waiting_tres_s, free)
    return {"count": capacity, "allocated": allocated, "down": down,
            "planned_down": planned_down, "planned": planned, "idle": free - planned,
            "reported": reported}


def _subtree(tree: Sequence[Assoc], roots: set[str]) -> set[str]:
    """The named accounts and every account below them."""
    out = set(roots)
    for a in tree:  # depth first: a parent comes before its children
        if not a.user and a.parent in out:
            out.add(a.account)
    return out


def account_by_user(tree: Sequence[Assoc], uses: Iterable[JobUse], *,
                    accounts: Sequence[str] = (), users: Sequence[str] = ()
                    ) -> list[dict[str, Any]]:
    """Tree rows with usage: a user row its own, an account row its whole subtree's.

    ``accounts`` keeps those accounts and their subtrees; ``users`` keeps only
    those users' rows (as Slurm's association query with a user list does).
    """
    own: dict[tuple[str, str], int] = defaultdict(int)
    for u in uses:
        own[(u.account, u.user)] += u.tres_s
    parent = {a.account: a.parent for a in tree if not a.user}
    subtree: dict[str, int] = defaultdict(int)
    for (account, _user), secs in own.items():
        seen: set[str] = set()
        while account and account not in seen:  # a cycle must not hang a report
            seen.add(account)
            subtree[account] += secs
            account = parent.get(account, "")
    keep = _subtree(tree, set(accounts)) if accounts else None
    rows = []
    for a in tree:
        if keep is not None and a.account not in keep:
            continue
        if users and a.user not in users:
            continue
        used = own.get((a.account, a.user), 0) if a.user else subtree.get(a.account, 0)
        rows.append({"account": a.account, "user": a.user, "parent": a.parent,
                     "depth": a.depth, "used": used})
    return rows


def _by_user_account(uses: Iterable[JobUse], accounts: Sequence[str],
                     users: Sequence[str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for u in uses:
        if (accounts and u.account not in accounts) or (users and u.user not in users):
            continue
        out[(u.user, u.account)] += u.tres_s
    return out


def _busiest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # common.c sort_user_dec: most TRES-seconds first, ties by user name.
    return sorted(rows, key=lambda r: (-r["used"], r["user"], r["account"]))


def user_by_account(uses: Iterable[JobUse], *, accounts: Sequence[str] = (),
                    users: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per (user, account) that used the window, busiest first."""
    pairs = _by_user_account(uses, accounts, users)
    return _busiest_first([{"user": u, "account": a, "used": s}
                           for (u, a), s in pairs.items() if s > 0])


def top_users(uses: Iterable[JobUse], *, top: int, group: bool,
              accounts: Sequence[str] = (), users: Sequence[str] = ()
              ) -> list[dict[str, Any]]:
    """``user TopUsage``: a row per user and account (per user with ``group``, its
    accounts joined by ", "), busiest first, the first ``top`` (0: all)."""
    pairs = _by_user_account(uses, accounts, users)
    if group:
        merged: dict[str, dict[str, Any]] = {}
        for (user, account), secs in sorted(pairs.items()):
            row = merged.setdefault(user, {"user": user, "accounts": [], "used": 0})
            row["accounts"].append(account)
            row["used"] += secs
        rows = [{"user": r["user"], "account": ", ".join(r["accounts"]), "used": r["used"]}
                for r in merged.values()]
    else:
        rows = [{"user": u, "account": a, "used": s} for (u, a), s in pairs.items()]
    rows = _busiest_first([r for r in rows if r["used"] > 0])
    return rows[:top] if top > 0 else rows


def size_bins(grouping: Sequence[int]) -> list[tuple[int, int | None]]:
    """``Grouping=50,250`` -> [(0, 50), (50, 250), (250, None)]: half-open TRES ranges."""
    edges = [0, *grouping]
    bins: list[tuple[int, int | None]] = list(zip(edges, edges[1:], strict=False))
    if grouping:
        bins.append((grouping[-1], None))
    return bins


def job_sizes(tree: Sequence[Assoc], uses: Iterable[JobUse], bins: Sequence[tuple[int, int | None]],
              *, accounts: Sequence[str] = (), flat: bool = False) -> list[dict[str, Any]]:
    """``job SizesByAccount``: per top-level account (every account with ``flat``),
    the TRES-seconds and job counts of its subtree's jobs in each size bin."""
    parent = {a.account: a.parent for a in tree if not a.user}
    if accounts:
        heads = list(dict.fromkeys(accounts))
    elif flat:
        heads = [a.account for a in tree if not a.user and a.account != "root"]
    else:
        heads = [a.account for a in tree if not a.user and a.parent == "root"]
    rows: dict[str, dict[str, Any]] = {
        h: {"account": h, "used": 0, "jobs": 0, "bins": [0] * len(bins),
            "bin_jobs": [0] * len(bins)} for h in sorted(heads)}
    for u in uses:
        head = u.account if flat else _head(u.account, parent, set(rows))
        row = rows.get(head)
        if row is None:
            continue
        row["used"] += u.tres_s
        row["jobs"] += 1
        for i, (low, high) in enumerate(bins):
            if u.count >= low and (high is None or u.count < high):
                row["bins"][i] += u.tres_s
                row["bin_jobs"][i] += 1
                break
    return list(rows.values())


def _head(account: str, parent: dict[str, str], heads: set[str]) -> str:
    """The first of ``heads`` on the way from ``account`` up to root."""
    seen: set[str] = set()
    while account and account not in heads and account not in seen:
        seen.add(account)
        account = parent.get(account, "")
    return account
