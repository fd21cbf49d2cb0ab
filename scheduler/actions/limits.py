"""Submit-time QOS and association limits (called from ``do_submit_job``).

Only when AccountingStorageEnforce turns limits on (``limits`` or ``safe``),
as in Slurm; with ``qos`` the job's QOS must also be one its association allows
(else "Invalid qos specification"). Two kinds of check, both failing with Slurm's
ESLURM_ACCOUNTING_POLICY ("Job violates accounting/QOS policy (job submit
limit, user's size and/or time limits)"):

- submit limits: ``MaxSubmitJobsPerUser`` of the QOS, ``GrpSubmitJobs`` of the
  QOS, ``MaxSubmitJobs`` of the user association and ``GrpSubmitJobs`` of it and
  of each account above it, counting jobs pending or running (an array counts
  its tasks);
- a request over ``MaxTRESPerJob``, ``MaxTRESPerNode`` or ``MaxWall`` of the QOS
  or the (inherited) association limits, only when the job's QOS has the flag
  DenyOnLimit. Without it such a job is accepted and pends with its reason
  (``QOSMaxWallDurationPerJobLimit``, ``AssocMaxCpuPerJobLimit``, ...), as in
  Slurm ("By default, jobs that go over these limits will pend until they
  conform", resource_limits). A job without ``--time`` whose default time
  passes MaxWall gets MaxWall as its limit instead, as Slurm sets it.

Slurm prints no detail for these, so neither do we. Everything that only has
to wait (GrpTRES, MaxJobs, ...) is checked by the scheduling passes
(scheduler/core/limits.py), with its pending reasons.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from accounting.models import Account, Association, Qos
from scheduler import config, limits_load
from scheduler.actions.errors import SlurmError
from scheduler.core import limits as core_limits
from scheduler.core import types as core
from scheduler.models import Job, JobState

ACTIVE = (JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)


def check_submit_limits(username: str, fields: dict[str, Any], count: int,
                        time_given: bool) -> None:
    """Raise ACCOUNTING_POLICY if the job (``count`` tasks) breaks a limit; may lower
    ``fields["time_limit_min"]`` to MaxWall when the user gave no time. ``count`` 0: a
    queued job changed by ``scontrol update``, already counted by the submit limits."""
    enforce = config.get("AccountingStorageEnforce")
    if {w.strip().lower() for w in enforce.split(",")} & {"qos", "safe"}:
        _check_qos_allowed(username, fields)
    if not limits_load.enforced(enforce):
        return
    qos = Qos.objects.filter(name=fields.get("qos") or limits_load.DEFAULT_QOS).first()
    tables = limits_load.tables()
    account = fields.get("account") or ""
    sets: list[core.LimitSet] = []
    if qos is not None:
        sets.append(tables.qos[qos.name])
    mine = tables.assocs.get((account, username))
    if mine is not None:
        sets.append(mine)
    deny = qos is not None and "denyonlimit" in qos.flags.lower().replace(" ", "")
    _cap_time(fields, sets, time_given, deny)
    if deny:
        _check_size(fields, sets)
    if count:
        _check_submit(username, account, qos, count)


def _check_qos_allowed(username: str, fields: dict[str, Any]) -> None:
    """``AccountingStorageEnforce=qos``: the QOS must be one of the association's."""
    assoc = Association.objects.filter(account__name=fields.get("account") or "",
                                       user=username).first()
    if assoc is None:
        return
    allowed = set(assoc.qos.values_list("name", flat=True))
    if allowed and (fields.get("qos") or limits_load.DEFAULT_QOS) not in allowed:
        raise SlurmError("INVALID_QOS")


def _cap_time(fields: dict[str, Any], sets: list[core.LimitSet], time_given: bool,
              deny: bool) -> None:
    """No ``--time``: MaxWall becomes the limit. A longer ``--time``: rejected under
    DenyOnLimit, else left for the cycle (``QOSMaxWallDurationPerJobLimit``)."""
    walls = [s.max_wall_s // 60 for s in sets if s.max_wall_s is not None]
    if not walls:
        return
    wall = min(walls)
    limit = fields.get("time_limit_min")
    if limit is not None and limit <= wall:
        return
    if not time_given:
        fields["time_limit_min"] = wall
    elif deny:
        raise SlurmError("ACCOUNTING_POLICY")


def _check_size(fields: dict[str, Any], sets: list[core.LimitSet]) -> None:
    job = _as_pending(fields)
    total, per_node = core_limits.job_tres(job)
    for s in sets:
        name = core_limits.over(s.max_tres_per_job, {}, total)
        if name:
            raise SlurmError("ACCOUNTING_POLICY")
        name = core_limits.over(s.max_tres_per_node, {}, per_node)
        if name:
            raise SlurmError("ACCOUNTING_POLICY")


def _as_pending(fields: dict[str, Any]) -> core.PendingJob:
    from scheduler.validation import parse_gres

    gres: dict[str, int] = {}
    for name, typ, n in parse_gres(fields.get("gres") or ""):
        key = f"{name}:{typ}" if typ else name
        gres[key] = gres.get(key, 0) + n
    return core.PendingJob(
        id=0, submit_time=0, partitions=(), nodes_min=fields["nodes_min"],
        ntasks=fields["ntasks"], cpus_per_task=fields["cpus_per_task"],
        ntasks_per_node=fields.get("ntasks_per_node"),
        mem_per_node_mb=fields.get("mem_per_node_mb"),
        mem_per_cpu_mb=fields.get("mem_per_cpu_mb"), gres=gres)


def _check_submit(username: str, account: str, qos: Qos | None, count: int) -> None:
    active = Job.objects.filter(state__in=ACTIVE)
    if qos is not None:
        in_qos = active.filter(qos=qos.name)
        if qos.grp_submit_jobs is not None and in_qos.count() + count > qos.grp_submit_jobs:
            raise SlurmError("ACCOUNTING_POLICY")
        limit = qos.max_submit_jobs_per_user
        if limit is not None and in_qos.filter(user=username).count() + count > limit:
            raise SlurmError("ACCOUNTING_POLICY")
    if not account:
        return
    assoc = Association.objects.filter(account__name=account, user=username).first()
    chain = _chain(account)
    limit = assoc.max_submit_jobs_per_user if assoc is not None else None
    if limit is None:
        limit = next((a.max_submit_jobs_per_user for a in chain
                      if a.max_submit_jobs_per_user is not None), None)
    if limit is not None and active.filter(
            account=account, user=username).count() + count > limit:
        raise SlurmError("ACCOUNTING_POLICY")
    if assoc is not None and assoc.grp_submit_jobs is not None and active.filter(
            account=account, user=username).count() + count > assoc.grp_submit_jobs:
        raise SlurmError("ACCOUNTING_POLICY")
    _check_grp_submit(chain, active, count)


def _chain(account: str) -> list[Account]:
    """The account and its ancestors, nearest first (one query)."""
    by_id = {a.pk: a for a in Account.objects.all()}
    by_name = {a.name: a for a in by_id.values()}
    out: list[Account] = []
    acct = by_name.get(account)
    while acct is not None and acct not in out:
        out.append(acct)
        acct = by_id.get(acct.parent_id) if acct.parent_id is not None else None
    return out


def _check_grp_submit(chain: list[Account], active: Any, count: int) -> None:
    limited = [a for a in chain if a.grp_submit_jobs is not None]
    if not limited:
        return
    children: dict[int | None, list[Account]] = {}
    for a in Account.objects.all():
        children.setdefault(a.parent_id, []).append(a)
    for acct in limited:
        names, todo = [], [acct]
        while todo:
            a = todo.pop()
            if a.name in names:
                continue
            names.append(a.name)
            todo.extend(children.get(a.pk, []))
        used = active.aggregate(n=Count("id", filter=Q(account__in=names)))["n"]
        if used + count > (acct.grp_submit_jobs or 0):
            raise SlurmError("ACCOUNTING_POLICY")
