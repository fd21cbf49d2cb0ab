"""QOS and association limits, with Slurm's pending reasons.

A :class:`Ledger` holds what the running jobs use per QOS, user and
association; the main pass and backfill (:mod:`scheduler.core.backfill`) ask it
about each job before placing it and tell it about each job they start, and a
job over a limit waits with the limit's reason (``QOSMaxJobsPerUserLimit``,
``AssocGrpCpuLimit``, ...). Source: Slurm's ``src/slurmctld/acct_policy.c`` and
the "Resource Limits" guide.

Hierarchy, as Slurm's: the job's QOS is checked first, then the user
association, then each account up to the root. Per-job and per-node limits
(``MaxTRESPerJob``, ``MaxTRESPerNode``, ``MaxWall``) compare the request
alone; aggregate limits (``GrpTRES``, ``GrpJobs``) compare what the QOS or the
association's whole subtree already runs plus the request; per-user limits
(``MaxJobsPerUser``, ``MaxTRESPerUser`` on a QOS, ``MaxJobs`` on an
association) count the user's running jobs in that QOS or association.

As in Slurm, usage counts only jobs that run: a job waiting for resources
(or holding a future reservation) does not count, so a lower job of the same
user may start in its place. Jobs started in one cycle are counted as they
start, so they never exceed a limit together.

Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scheduler.core.types import LimitSet, LimitTables, PendingJob, RunningJob

# Reason codes, spelled as squeue prints them (slurm_protocol_defs.c job_reason_string).
# Per TRES kind: cpu, node, mem, gres.
QOS_GRP = {"cpu": "QOSGrpCpuLimit", "node": "QOSGrpNodeLimit", "mem": "QOSGrpMemLimit",
           "gres": "QOSGrpGRES"}
QOS_PER_JOB = {"cpu": "QOSMaxCpuPerJobLimit", "node": "QOSMaxNodePerJobLimit",
               "mem": "QOSMaxMemoryPerJob", "gres": "QOSMaxGRESPerJob"}
QOS_PER_NODE = {"cpu": "QOSMaxCpuPerNode", "node": "QOSMaxNodePerJobLimit",
                "mem": "QOSMaxMemoryPerNode", "gres": "QOSMaxGRESPerNode"}
QOS_PER_USER = {"cpu": "QOSMaxCpuPerUserLimit", "node": "QOSMaxNodePerUserLimit",
                "mem": "QOSMaxMemoryPerUser", "gres": "QOSMaxGRESPerUser"}
QOS_GRP_JOBS = "QOSGrpJobsLimit"
QOS_MAX_JOBS_PER_USER = "QOSMaxJobsPerUserLimit"
QOS_MAX_WALL = "QOSMaxWallDurationPerJobLimit"
ASSOC_GRP = {"cpu": "AssocGrpCpuLimit", "node": "AssocGrpNodeLimit", "mem": "AssocGrpMemLimit",
             "gres": "AssocGrpGRES"}
ASSOC_PER_JOB = {"cpu": "AssocMaxCpuPerJobLimit", "node": "AssocMaxNodePerJobLimit",
                 "mem": "AssocMaxMemPerJob", "gres": "AssocMaxGRESPerJob"}
ASSOC_PER_NODE = {"cpu": "AssocMaxCpuPerNode", "node": "AssocMaxNodePerJobLimit",
                  "mem": "AssocMaxMemPerNode", "gres": "AssocMaxGRESPerNode"}
ASSOC_GRP_JOBS = "AssocGrpJobsLimit"
ASSOC_MAX_JOBS = "AssocMaxJobsLimit"
ASSOC_MAX_WALL = "AssocMaxWallDurationPerJobLimit"

#: Reasons that waiting cannot fix (the request alone is over a per-job limit).
NEVER_REASONS = frozenset({QOS_MAX_WALL, ASSOC_MAX_WALL, *QOS_PER_JOB.values(),
                           *QOS_PER_NODE.values(), *ASSOC_PER_JOB.values(),
                           *ASSOC_PER_NODE.values()})

Tres = dict[str, int]


def kind(tres: str) -> str:
    """The reason family of a TRES name: ``gres/gpu:a100`` -> ``gres``."""
    return "gres" if tres.startswith("gres/") else tres


def job_tres(job: PendingJob) -> tuple[Tres, Tres]:
    """(whole job, per node) TRES of a request at its minimum size."""
    nodes = max(job.nodes_min, 1)
    cpus = job.ntasks * job.cpus_per_task
    per_node_tasks = job.ntasks_per_node or -(-job.ntasks // nodes)
    node_cpus = per_node_tasks * job.cpus_per_task
    total: Tres = {"cpu": cpus, "node": nodes}
    per_node: Tres = {"cpu": node_cpus, "node": 1}
    if job.mem_per_node_mb:
        total["mem"], per_node["mem"] = job.mem_per_node_mb * nodes, job.mem_per_node_mb
    elif job.mem_per_cpu_mb:
        total["mem"], per_node["mem"] = job.mem_per_cpu_mb * cpus, job.mem_per_cpu_mb * node_cpus
    for key, count in job.gres.items():
        _add_gres(per_node, key, count)
        _add_gres(total, key, count * nodes)
    return total, per_node


def running_tres(job: RunningJob) -> Tres:
    out: Tres = {"cpu": sum(g.cpus for g in job.grants), "node": len(job.grants),
                 "mem": sum(g.mem_mb for g in job.grants)}
    for g in job.grants:
        for key, count in g.gres.items():
            _add_gres(out, key, count)
    return out


def _add_gres(tres: Tres, key: str, count: int) -> None:
    name = key.split(":", 1)[0]
    tres[f"gres/{name}"] = tres.get(f"gres/{name}", 0) + count
    if ":" in key:
        tres[f"gres/{key}"] = tres.get(f"gres/{key}", 0) + count


def over(limit: Mapping[str, int], used: Mapping[str, int], request: Mapping[str, int]
         ) -> str | None:
    """The first TRES (sacctmgr order) whose ``used + request`` passes ``limit``, or None."""
    for name in sorted(limit, key=_order):
        if request.get(name, 0) and used.get(name, 0) + request.get(name, 0) > limit[name]:
            return name
    return None


def _order(name: str) -> tuple[int, str]:
    ranks = ("cpu", "mem", "node")
    return (ranks.index(name), "") if name in ranks else (len(ranks), name)


@dataclass(slots=True)
class _Usage:
    jobs: int = 0
    tres: Tres = field(default_factory=dict)

    def add(self, tres: Mapping[str, int]) -> None:
        self.jobs += 1
        for k, v in tres.items():
            self.tres[k] = self.tres.get(k, 0) + v


@dataclass(frozen=True, slots=True)
class _Job:
    """The keys a job counts under."""

    qos: str
    user: str
    account: str
    chain: tuple[str, ...]  # the account and its ancestors, nearest first


class Ledger:
    """Running usage per QOS, QOS+user, user association and account subtree."""

    def __init__(self, tables: LimitTables) -> None:
        self.tables = tables
        self.qos: dict[str, _Usage] = defaultdict(_Usage)
        self.qos_user: dict[tuple[str, str], _Usage] = defaultdict(_Usage)
        self.assoc: dict[tuple[str, str], _Usage] = defaultdict(_Usage)

    def chain(self, account: str) -> tuple[str, ...]:
        out: list[str] = []
        while account and account not in out:
            out.append(account)
            account = self.tables.parents.get(account, "")
        return tuple(out)

    def keys(self, qos: str, user: str, account: str) -> _Job:
        return _Job(qos, user, account, self.chain(account))

    def add(self, who: _Job, tres: Mapping[str, int]) -> None:
        self.qos[who.qos].add(tres)
        self.qos_user[(who.qos, who.user)].add(tres)
        self.assoc[(who.account, who.user)].add(tres)
        for acct in who.chain:
            self.assoc[(acct, "")].add(tres)

    @classmethod
    def of(cls, running: Iterable[RunningJob], tables: LimitTables) -> Ledger:
        """A ledger holding the usage of ``running``."""
        ledger = cls(tables)
        for r in running:
            ledger.add(ledger.keys(r.qos, r.user, r.account), running_tres(r))
        return ledger

    def held(self, job: PendingJob) -> str | None:
        """The reason a limit keeps ``job`` from starting now, or None."""
        tres, per_node = job_tres(job)
        return self.check(job, self.keys(job.qos, job.user, job.account), tres, per_node)

    def started(self, job: PendingJob) -> None:
        """Count ``job`` as running from now on."""
        self.add(self.keys(job.qos, job.user, job.account), job_tres(job)[0])

    def admit(self, job: PendingJob) -> str | None:
        """:meth:`held`, and :meth:`started` when nothing holds ``job``."""
        reason = self.held(job)
        if reason is None:
            self.started(job)
        return reason

    def check(self, job: PendingJob, who: _Job, tres: Tres, per_node: Tres) -> str | None:
        """The reason ``job`` may not start now, or None."""
        t = self.tables
        if t.enforce_qos:
            qos = t.qos.get(who.qos)
            if qos is not None:
                reason = _check_qos(job, qos, tres, per_node, self.qos[who.qos],
                                    self.qos_user[(who.qos, who.user)])
                if reason:
                    return reason
        if t.enforce_assoc:
            return self._check_assocs(job, who, tres, per_node)
        return None

    def _check_assocs(self, job: PendingJob, who: _Job, tres: Tres, per_node: Tres
                      ) -> str | None:
        t = self.tables
        mine = t.assocs.get((who.account, who.user))
        if mine is not None:
            reason = _per_job(job, mine, tres, per_node, ASSOC_MAX_WALL, ASSOC_PER_JOB,
                              ASSOC_PER_NODE)
            if reason:
                return reason
            used = self.assoc[(who.account, who.user)]
            if mine.max_jobs_per_user is not None and used.jobs + 1 > mine.max_jobs_per_user:
                return ASSOC_MAX_JOBS
            reason = _grp(mine, used, tres, ASSOC_GRP_JOBS, ASSOC_GRP)
            if reason:
                return reason
        for acct in who.chain:
            limits = t.assocs.get((acct, ""))
            if limits is None:
                continue
            reason = _grp(limits, self.assoc[(acct, "")], tres, ASSOC_GRP_JOBS, ASSOC_GRP)
            if reason:
                return reason
        return None


def _per_job(job: PendingJob, limits: LimitSet, tres: Tres, per_node: Tres, wall: str,
             per_job: Mapping[str, str], node: Mapping[str, str]) -> str | None:
    if limits.max_wall_s is not None and (job.time_limit_s is None
                                          or job.time_limit_s > limits.max_wall_s):
        return wall
    name = over(limits.max_tres_per_job, {}, tres)
    if name:
        return per_job.get(kind(name))
    name = over(limits.max_tres_per_node, {}, per_node)
    if name:
        return node.get(kind(name))
    return None


def _grp(limits: LimitSet, used: _Usage, tres: Tres, jobs: str,
         grp: Mapping[str, str]) -> str | None:
    if limits.grp_jobs is not None and used.jobs + 1 > limits.grp_jobs:
        return jobs
    name = over(limits.grp_tres, used.tres, tres)
    return grp.get(kind(name)) if name else None


def _check_qos(job: PendingJob, qos: LimitSet, tres: Tres, per_node: Tres, used: _Usage,
               user_used: _Usage) -> str | None:
    reason = _per_job(job, qos, tres, per_node, QOS_MAX_WALL, QOS_PER_JOB, QOS_PER_NODE)
    if reason:
        return reason
    reason = _grp(qos, used, tres, QOS_GRP_JOBS, QOS_GRP)
    if reason:
        return reason
    if qos.max_jobs_per_user is not None and user_used.jobs + 1 > qos.max_jobs_per_user:
        return QOS_MAX_JOBS_PER_USER
    name = over(qos.max_tres_per_user, user_used.tres, tres)
    return QOS_PER_USER.get(kind(name)) if name else None


def ledger(running: Iterable[RunningJob], tables: LimitTables | None) -> Ledger | None:
    """The ledger of ``running`` under ``tables`` (None: no limit is enforced)."""
    if tables is None or not (tables.enforce_qos or tables.enforce_assoc):
        return None
    return Ledger.of(running, tables)
