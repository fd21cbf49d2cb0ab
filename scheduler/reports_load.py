"""Job and node records -> the plain data of ``accounting.reports`` (sreport).

A fixed number of queries whatever the window: the jobs that ran in it, the jobs
that waited in it, the node events in it, the nodes, and the association tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from accounting import reports
from accounting.records import association_records
from scheduler import config
from scheduler.actions.node_history import gpu_count
from scheduler.models import Job, JobState, Node, NodeEvent
from scheduler.records import epoch

#: The TRES a report can be about, as ``sreport -T`` names them.
TRES = ("cpu", "mem", "gres/gpu")


def _count(row: dict[str, Any], tres: str) -> int:
    """The job's allocated count of ``tres`` (its request, for a job never placed)."""
    alloc = row["alloc"] or {}
    if tres == "cpu":
        if alloc:
            return sum(int(a.get("cpus", 0)) for a in alloc.values())
        return int(row["ntasks"] * row["cpus_per_task"])
    if tres == "mem":
        return sum(int(a.get("mem_mb", 0)) for a in alloc.values())
    return sum(len(a.get("gpus") or ()) for a in alloc.values())


_FIELDS = ("user", "account", "alloc", "ntasks", "cpus_per_task", "start_time", "end_time")


def job_uses(window: reports.Window, tres: str, now: int) -> list[reports.JobUse]:
    """Every job that held resources during the window, with its share of it."""
    rows = Job.objects.filter(
        Q(end_time__isnull=True) | Q(end_time__gt=_dt(window.start)),
        start_time__isnull=False, start_time__lt=_dt(window.end)).values(*_FIELDS)
    out = []
    for r in rows:
        secs = window.overlap(epoch(r["start_time"]), epoch(r["end_time"]), now)
        if secs > 0:
            out.append(reports.JobUse(r["user"], r["account"], _count(r, tres), secs))
    return out


def waiting_tres_s(window: reports.Window, tres: str, now: int) -> int:
    """TRES-seconds that eligible pending jobs asked for while they waited in the window."""
    if tres != "cpu":
        return 0  # a pending job's memory and GPUs are not known as one count
    rows = Job.objects.filter(
        Q(start_time__isnull=True) | Q(start_time__gt=_dt(window.start)),
        eligible_time__isnull=False, eligible_time__lt=_dt(window.end),
    ).exclude(state=JobState.CANCELLED, start_time__isnull=True, end_time__isnull=True
              ).values("eligible_time", "start_time", "end_time", "ntasks", "cpus_per_task")
    total = 0
    for r in rows:
        # A job cancelled while pending stopped waiting at its end.
        until = r["start_time"] or r["end_time"]
        total += (window.overlap(epoch(r["eligible_time"]), epoch(until), now)
                  * r["ntasks"] * r["cpus_per_task"])
    return total


def down_tres_s(window: reports.Window, tres: str, now: int) -> int:
    """TRES-seconds of nodes out of service (their events) inside the window."""
    rows = NodeEvent.objects.filter(
        Q(time_end__isnull=True) | Q(time_end__gt=_dt(window.start)),
        time_start__lt=_dt(window.end)).values_list("time_start", "time_end", "tres")
    return sum(window.overlap(epoch(start), epoch(end), now) * int(counts.get(tres, 0))
               for start, end, counts in rows)


def capacity(tres: str) -> int:
    """The cluster's count of ``tres``: CPUs, MB of memory or GPUs over all nodes."""
    if tres == "cpu":
        return int(Node.objects.aggregate(n=Coalesce(Sum("cpus"), 0))["n"])
    if tres == "mem":
        return int(Node.objects.aggregate(n=Coalesce(Sum("real_memory_mb"), 0))["n"])
    return sum(gpu_count(spec) for spec in Node.objects.values_list("gres", flat=True))


def tree() -> list[reports.Assoc]:
    """The association tree, one row per account and per (account, user)."""
    seen: set[tuple[str, str]] = set()
    out: list[reports.Assoc] = []
    for r in association_records():
        key = (r["account"], r["user"])
        if key in seen:  # a user's per-partition associations are one row here
            continue
        seen.add(key)
        out.append(reports.Assoc(r["account"], r["user"], r["parent_account"],
                                 int(r["depth"])))
    return out


def _dt(when: int) -> datetime:
    return datetime.fromtimestamp(when, tz=UTC)


#: The reports of ``GET /api/accounting/reports/<name>/``.
REPORTS = ("utilization", "account-by-user", "user-by-account", "top-users", "job-sizes")


def build(name: str, window: reports.Window, tres: str, now: int, *,
          accounts: Sequence[str] = (), users: Sequence[str] = (), top: int = 10,
          group: bool = False, grouping: Sequence[int] = reports.DEFAULT_GROUPING,
          flat: bool = False) -> dict[str, Any]:
    """One report over the window, figures in TRES-seconds; ``total`` is what sreport's
    percentages divide by (the cluster's Reported time, or its used time for job sizes)."""
    uses = job_uses(window, tres, now)
    util = reports.utilization(uses, waiting_tres_s(window, tres, now), capacity(tres),
                               window, down_tres_s(window, tres, now))
    out: dict[str, Any] = {"report": name, "cluster": config.settings_map()["ClusterName"],
                           "tres": tres, "start": window.start,
                           "end": window.end, "total": util["reported"]}
    if name == "utilization":
        out["utilization"] = util
    elif name == "account-by-user":
        out["rows"] = reports.account_by_user(tree(), uses, accounts=accounts, users=users)
    elif name == "user-by-account":
        out["rows"] = reports.user_by_account(uses, accounts=accounts, users=users)
    elif name == "top-users":
        out["rows"] = reports.top_users(uses, top=top, group=group, accounts=accounts,
                                        users=users)
    else:
        if users:
            uses = [u for u in uses if u.user in users]
        bins = reports.size_bins(grouping)
        out["bins"] = [[low, high] for low, high in bins]
        out["rows"] = reports.job_sizes(tree(), uses, bins, accounts=accounts, flat=flat)
        out["total"] = sum(r["used"] for r in out["rows"])
    return out
