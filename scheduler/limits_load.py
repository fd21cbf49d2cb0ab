"""ORM -> the QOS and association limit tables the core checks (scheduler/core/limits.py).

Three queries when limits are enforced (QOS, accounts, associations) plus one
for the running jobs' owners; none otherwise. Follows Slurm's
AccountingStorageEnforce: ``limits`` (or ``safe``, which implies it) turns on
association and QOS limits; without it nothing is enforced, as in Slurm.

Association ``Max*`` limits are inherited: a user association without its own
MaxJobs/MaxTRES/MaxTRESPerNode/MaxWall takes its account's, else the nearest
ancestor's. ``Grp*`` limits stay where they are set and cover the subtree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from accounting import tres
from accounting.models import Account, Association, Limits, Qos
from scheduler import config as conf
from scheduler.core import types as core
from scheduler.models import Job, JobState

HOLDING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
DEFAULT_QOS = "normal"


def enforced(setting: str) -> bool:
    """Whether AccountingStorageEnforce turns limits on (``limits`` or ``safe``)."""
    words = {w.strip().lower() for w in setting.split(",")}
    return bool(words & {"limits", "safe"})


def _tres(text: str) -> dict[str, int]:
    try:
        return {k: v for k, v in tres.parse(text or "").items() if v >= 0}
    except tres.TresError:
        return {}


def _wall(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


def limit_set(row: Limits, inherited: core.LimitSet | None = None) -> core.LimitSet:
    """A model row's limits; ``max_*`` not set on the row come from ``inherited``."""
    up = inherited or core.LimitSet()
    return core.LimitSet(
        grp_tres=_tres(row.grp_tres), grp_jobs=row.grp_jobs,
        max_tres_per_job=_tres(row.max_tres_per_job) or dict(up.max_tres_per_job),
        max_tres_per_node=_tres(row.max_tres_per_node) or dict(up.max_tres_per_node),
        max_tres_per_user=_tres(row.max_tres_per_user),
        max_jobs_per_user=row.max_jobs_per_user if row.max_jobs_per_user is not None
        else up.max_jobs_per_user,
        max_wall_s=_wall(row.max_wall_min) if row.max_wall_min is not None else up.max_wall_s)


def tables() -> core.LimitTables:
    """Every QOS's and association's limits (three queries)."""
    qos = {q.name: limit_set(q) for q in Qos.objects.all()}
    accounts = {a.pk: a for a in Account.objects.all()}
    by_name = {a.name: a for a in accounts.values()}
    parents = {a.name: accounts[a.parent_id].name for a in accounts.values()
               if a.parent_id in accounts}
    effective: dict[str, core.LimitSet] = {}

    def account_set(name: str, seen: tuple[str, ...] = ()) -> core.LimitSet:
        if name in effective:
            return effective[name]
        parent = parents.get(name)
        up = account_set(parent, (*seen, name)) if parent and parent not in seen else None
        effective[name] = limit_set(by_name[name], up)
        return effective[name]

    assocs: dict[tuple[str, str], core.LimitSet] = {}
    for name in by_name:
        assocs[(name, "")] = account_set(name)
    for a in Association.objects.select_related("account").order_by("partition", "id"):
        key = (a.account.name, a.user)
        if key not in assocs:  # the partition-less association first
            assocs[key] = limit_set(a, assocs.get((a.account.name, "")))
    return core.LimitTables(qos=qos, assocs=assocs, parents=parents)


def apply(snapshot: core.Snapshot, pending: Iterable[Mapping[str, Any]],
          settings: Mapping[str, str] | None = None) -> core.Snapshot:
    """``snapshot`` with limit tables and each job's user, account and QOS filled in."""
    settings = conf.settings_map() if settings is None else settings
    if not enforced(settings.get("AccountingStorageEnforce", "")):
        return snapshot
    rows = {r["id"]: r for r in pending}
    jobs = tuple(_owned(j, rows.get(j.id)) for j in snapshot.pending)
    owners = {r["id"]: r for r in Job.objects.filter(
        id__in=[r.id for r in snapshot.running], state__in=HOLDING).values(
            "id", "user", "account", "qos")}
    running = tuple(_owned_running(r, owners.get(r.id)) for r in snapshot.running)
    return replace(snapshot, pending=jobs, running=running, limits=tables())


def _owned(job: core.PendingJob, row: Mapping[str, Any] | None) -> core.PendingJob:
    if row is None:
        return job
    return replace(job, user=job.user or row.get("user") or "",
                   account=job.account or row.get("account") or "",
                   qos=job.qos or row.get("qos") or DEFAULT_QOS)


def _owned_running(job: core.RunningJob, row: Mapping[str, Any] | None) -> core.RunningJob:
    if row is None:
        return job
    return replace(job, user=row["user"], account=row["account"] or "",
                   qos=row["qos"] or DEFAULT_QOS)
