"""QOS and association limits, with Slurm's pending reasons.

A :class:`Ledger` holds what the running jobs use per QOS, user and
association; the main pass and backfill (:mod:`scheduler.core.backfill`) ask it
about each job before placing it and tell it about each job they start, and a
job over a limit waits with the limit's reason (``QOSMaxJobsPerUserLimit``,
``AssocGrpCpuLimit``, ...). Source: Slurm's ``src/slurmctld/acct_policy.c`` and
the "Resource Limits" guide.

Order, as Slurm's (``acct_policy_job_runnable_pre_select`` before
``_post_select``): first the job-count and wall-time limits (``GrpJobs``,
``MaxJobsPerUser`` or ``MaxJobs``, ``MaxWall``) of the job's QOS, of the user
association and of each account up to the root; then, in the same QOS, user,
accounts order, the TRES limits (``GrpTRES``, ``MaxTRESPerJob``,
``MaxTRESPerNode``, ``MaxTRESPerUser``). The first limit hit gives the reason.

Per-job and per-node limits (``MaxTRESPerJob``, ``MaxTRESPerNode``,
``MaxWall``) compare the request alone; aggregate limits (``GrpTRES``,
``GrpJobs``) compare what the QOS or the association's whole subtree already
runs plus the request; per-user limits (``MaxJobsPerUser``, ``MaxTRESPerUser``
on a QOS, ``MaxJobs`` on an association) count the user's running jobs in
that QOS or association.

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


#: The limits a job meets: its QOS's, its user association's, and (account, limits)
#: for each account up to the root that has any.
_Applying = tuple[LimitSet | None, LimitSet | None, list[tuple[str, LimitSet]]]


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
        """The reason ``job`` may not start now, or None.

        Slurm's order: job counts and wall time first, the QOS's then the
        associations' (``acct_policy_job_runnable_pre_select``, before nodes are
        picked), then TRES, the QOS's then the associations'
        (``acct_policy_job_runnable_post_select``, after).
        """
        applying = self._limits(who)
        return self._counts(job, who, applying) or self._tres(who, applying, tres, per_node)

    def _counts(self, job: PendingJob, who: _Job, applying: _Applying) -> str | None:
        qos, mine, chain = applying
        if qos is not None:
            reason = (_jobs(qos.grp_jobs, self.qos[who.qos], QOS_GRP_JOBS)
                      or _jobs(qos.max_jobs_per_user, self.qos_user[(who.qos, who.user)],
                               QOS_MAX_JOBS_PER_USER)
                      or _wall(job, qos, QOS_MAX_WALL))
            if reason:
                return reason
        if mine is not None:
            used = self.assoc[(who.account, who.user)]
            reason = (_jobs(mine.grp_jobs, used, ASSOC_GRP_JOBS)
                      or _jobs(mine.max_jobs_per_user, used, ASSOC_MAX_JOBS)
                      or _wall(job, mine, ASSOC_MAX_WALL))
            if reason:
                return reason
        for acct, limits in chain:
            reason = _jobs(limits.grp_jobs, self.assoc[(acct, "")], ASSOC_GRP_JOBS)
            if reason:
                return reason
        return None

    def _tres(self, who: _Job, applying: _Applying, tres: Tres, per_node: Tres
              ) -> str | None:
        qos, mine, chain = applying
        if qos is not None:
            reason = (_over(qos.grp_tres, self.qos[who.qos].tres, tres, QOS_GRP)
                      or _over(qos.max_tres_per_job, {}, tres, QOS_PER_JOB)
                      or _over(qos.max_tres_per_node, {}, per_node, QOS_PER_NODE)
                      or _over(qos.max_tres_per_user, self.qos_user[(who.qos, who.user)].tres,
                               tres, QOS_PER_USER))
            if reason:
                return reason
        if mine is not None:
            reason = (_over(mine.grp_tres, self.assoc[(who.account, who.user)].tres, tres,
                            ASSOC_GRP)
                      or _over(mine.max_tres_per_job, {}, tres, ASSOC_PER_JOB)
                      or _over(mine.max_tres_per_node, {}, per_node, ASSOC_PER_NODE))
            if reason:
                return reason
        for acct, limits in chain:
            reason = _over(limits.grp_tres, self.assoc[(acct, "")].tres, tres, ASSOC_GRP)
            if reason:
                return reason
        return None

    def _limits(self, who: _Job) -> _Applying:
        """The limits enforced on ``who``."""
        t = self.tables
        qos = t.qos.get(who.qos) if t.enforce_qos else None
        if not t.enforce_assoc:
            return qos, None, []
        chain = [(acct, t.assocs[(acct, "")]) for acct in who.chain if (acct, "") in t.assocs]
        return qos, t.assocs.get((who.account, who.user)), chain


def _jobs(limit: int | None, used: _Usage, reason: str) -> str | None:
    """``reason`` if one more running job would pass ``limit``."""
    return reason if limit is not None and used.jobs + 1 > limit else None


def _wall(job: PendingJob, limits: LimitSet, reason: str) -> str | None:
    """``reason`` if the job's time limit (none: unlimited) passes MaxWall."""
    if limits.max_wall_s is None:
        return None
    return reason if job.time_limit_s is None or job.time_limit_s > limits.max_wall_s else None


def _over(limit: Mapping[str, int], used: Mapping[str, int], request: Mapping[str, int],
          reasons: Mapping[str, str]) -> str | None:
    """The reason of the first TRES of ``request`` over ``limit`` (:func:`over`), or None."""
    name = over(limit, used, request)
    return reasons.get(kind(name)) if name else None


def ledger(running: Iterable[RunningJob], tables: LimitTables | None) -> Ledger | None:
    """The ledger of ``running`` under ``tables`` (None: no limit is enforced)."""
    if tables is None or not (tables.enforce_qos or tables.enforce_assoc):
        return None
    return Ledger.of(running, tables)
