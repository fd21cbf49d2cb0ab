"""Job priority and the queue order (Slurm's priority/multifactor and priority/basic).

Source: Slurm's *Multifactor Priority Plugin* page (``priority_multifactor.html``)
and ``src/plugins/priority/multifactor/priority_multifactor.c`` (22.05). Each
factor is a number in [0, 1]; the priority is their weighted sum::

    priority = site
             + PriorityWeightAge       * age
             + PriorityWeightAssoc     * assoc
             + PriorityWeightFairshare * fairshare
             + PriorityWeightJobSize   * job_size
             + PriorityWeightPartition * partition
             + PriorityWeightQOS       * qos
             + SUM(PriorityWeightTRES[t] * tres[t])
             - nice

truncated to an integer, at least 1 (0 means held in Slurm). The factors:

* age = min(now - eligible time, PriorityMaxAge) / PriorityMaxAge;
* job_size (default, "favor large") = (min_nodes / cluster nodes + CPUs / cluster CPUs) / 2;
  with PriorityFavorSmall=YES ``1 -`` that; with PriorityFlags=SMALL_RELATIVE_TO_TIME
  max(min_nodes * average CPUs per node, CPUs) / time limit in minutes / cluster CPUs
  (also inverted by PriorityFavorSmall); clamped to [0, 1];
* partition = the partition's PriorityJobFactor / the largest PriorityJobFactor
  (the raw value with PriorityFlags=NO_NORMAL_PART); a job queued to several
  partitions gets the best of them;
* fairshare, qos, assoc and site come with the job (``PendingJob.fairshare`` etc.):
  they depend on the association tree and the QOS table, which the glue (or a
  simulator) turns into factors with :mod:`accounting.core.fairshare`;
* tres[t] = the job's request of TRES ``t`` / the partition's total of it
  (``cpu``, ``mem``, ``node``, ``gres/<name>``); with PriorityFlags=MAX_TRES only
  the largest weighted TRES term counts.

priority/basic keeps its historical meaning here: only the age and partition
terms (both weights zero unless configured), so every job gets priority 1 and
the queue is first come, first served. A job with a fixed priority
(``PendingJob.priority > 0``, set by an operator) keeps it.

The queue order is an explicit total order: higher partition PriorityTier
first (Slurm schedules tier by tier), then higher priority, then earlier
submit time, then lower job id, then lower array task id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from scheduler.core.types import NodeInfo, PartitionInfo, PendingJob, SchedConfig

MULTIFACTOR = "priority/multifactor"

F64 = npt.NDArray[np.float64]


def _empty() -> F64:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Factors:
    """Per-job factors (arrays aligned with the pending list), kept for ``sprio``.

    Every factor is unweighted, in [0, 1]; ``tres`` holds each TRES factor and
    ``tres_weighted`` their weighted sum; ``nice`` is the job's nice value.
    """

    age: F64
    partition: F64
    priority: npt.NDArray[np.int64]
    fairshare: F64 = field(default_factory=_empty)
    job_size: F64 = field(default_factory=_empty)
    qos: F64 = field(default_factory=_empty)
    assoc: F64 = field(default_factory=_empty)
    site: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nice: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tres: Mapping[str, F64] = field(default_factory=dict)
    tres_weighted: F64 = field(default_factory=_empty)


def _col(values: Iterable[float], n: int) -> F64:
    return np.fromiter(values, dtype=np.float64, count=n)


def compute(jobs: Sequence[PendingJob], partitions: Mapping[str, PartitionInfo],
            config: SchedConfig, now: int, nodes: Sequence[NodeInfo] = ()) -> Factors:
    """Factors and priorities for ``jobs``; unknown partitions count as factor 0.

    ``nodes`` (the cluster) sizes the job-size and TRES factors; without them
    both are 0. Vectorised: one pass per job attribute, then numpy.
    """
    n = len(jobs)
    since = np.fromiter(((j.eligible_time if j.eligible_time is not None else j.submit_time)
                         for j in jobs), dtype=np.int64, count=n)
    max_age = max(1, config.max_age_s)
    age = np.clip((now - since) / max_age, 0.0, 1.0)
    raw_part = "NO_NORMAL_PART" in config.priority_flags
    top = 1 if raw_part else (max((p.priority_job_factor for p in partitions.values()),
                                  default=1) or 1)
    part = np.asarray(_per_partitions(jobs, partitions, "priority_job_factor"),
                      dtype=np.float64) / top
    nice = np.fromiter((j.nice for j in jobs), dtype=np.int64, count=n)
    fixed = np.fromiter((j.priority for j in jobs), dtype=np.int64, count=n)
    zeros = np.zeros(n, dtype=np.float64)
    if config.priority_type != MULTIFACTOR:
        weighted = np.floor(config.weight_age * age + config.weight_partition * part)
        prio = np.maximum(weighted.astype(np.int64) - nice, 1)
        prio = np.where(fixed > 0, fixed, prio)
        return Factors(age=age, partition=part, priority=prio, fairshare=zeros,
                       job_size=zeros, qos=zeros, assoc=zeros,
                       site=np.zeros(n, dtype=np.int64), nice=nice, tres={},
                       tres_weighted=zeros)

    fairshare = np.clip(_col((j.fairshare for j in jobs), n), 0.0, 1.0)
    qos = np.clip(_col((j.qos_factor for j in jobs), n), 0.0, 1.0)
    assoc = np.clip(_col((j.assoc_factor for j in jobs), n), 0.0, 1.0)
    site = np.fromiter((j.site_factor for j in jobs), dtype=np.int64, count=n)
    min_nodes = _col((max(j.nodes_min, 1) for j in jobs), n)
    cpus = _col((j.ntasks * j.cpus_per_task for j in jobs), n)
    size = job_size(min_nodes, cpus, jobs, partitions, config, nodes)
    tres, tres_weighted = _tres(jobs, partitions, config, nodes, min_nodes, cpus)
    total = (config.weight_age * age + config.weight_assoc * assoc
             + config.weight_fairshare * fairshare + config.weight_job_size * size
             + config.weight_partition * part + config.weight_qos * qos + tres_weighted)
    prio = np.maximum(site + np.floor(total).astype(np.int64) - nice, 1)
    prio = np.where(fixed > 0, fixed, prio)
    return Factors(age=age, partition=part, priority=prio, fairshare=fairshare, job_size=size,
                   qos=qos, assoc=assoc, site=site, nice=nice, tres=tres,
                   tres_weighted=tres_weighted)


def job_size(min_nodes: F64, cpus: F64, jobs: Sequence[PendingJob],
             partitions: Mapping[str, PartitionInfo], config: SchedConfig,
             nodes: Sequence[NodeInfo]) -> F64:
    """The job-size factor (see the module docstring), clamped to [0, 1]."""
    count = len(nodes)
    cluster_cpus = float(sum(nd.cpus for nd in nodes))
    if not count or cluster_cpus <= 0:
        return np.zeros(len(min_nodes), dtype=np.float64)
    if "SMALL_RELATIVE_TO_TIME" in config.priority_flags:
        limit_min = _col((_limit_min(j, partitions) for j in jobs), len(jobs))
        size = np.maximum(min_nodes * cluster_cpus / count, cpus) / limit_min / cluster_cpus
    else:
        size = (min_nodes / count + cpus / cluster_cpus) / 2.0
    size = np.clip(size, 0.0, 1.0)
    return 1.0 - size if config.favor_small else size


def _limit_min(job: PendingJob, partitions: Mapping[str, PartitionInfo]) -> float:
    limit = job.time_limit_s
    if limit is None:
        limits = [partitions[p].max_time_s for p in job.partitions if p in partitions]
        limit = max((x for x in limits if x is not None), default=None)
    return max(1.0, (limit or 60) / 60.0)


def _tres(jobs: Sequence[PendingJob], partitions: Mapping[str, PartitionInfo],
          config: SchedConfig, nodes: Sequence[NodeInfo], min_nodes: F64,
          cpus: F64) -> tuple[dict[str, F64], F64]:
    n = len(jobs)
    weights = {k: w for k, w in config.weight_tres.items() if w}
    if not weights or not nodes:
        return {}, np.zeros(n, dtype=np.float64)
    totals: dict[str, dict[str, float]] = {}
    for name in partitions:
        members = [nd for nd in nodes if name in nd.partitions]
        tot = {"cpu": float(sum(nd.cpus for nd in members)),
               "mem": float(sum(nd.mem_mb for nd in members)), "node": float(len(members))}
        for nd in members:
            for key, cnt in nd.gres.items():
                gname = "gres/" + key.split(":")[0]
                tot[gname] = tot.get(gname, 0.0) + cnt
        totals[name] = tot
    first = [j.partitions[0] if j.partitions else "" for j in jobs]
    factors: dict[str, F64] = {}
    for key in sorted(weights):
        if key == "cpu":
            req = cpus
        elif key == "node":
            req = min_nodes
        elif key == "mem":
            req = _col((_mem(j) for j in jobs), n)
        else:
            gname = key.removeprefix("gres/")
            req = _col((sum(c * _nodes(j) for g, c in j.gres.items()
                            if g.split(":")[0] == gname) for j in jobs), n)
        cap = _col((totals.get(p, {}).get(key, 0.0) for p in first), n)
        factors[key] = np.clip(np.divide(req, cap, out=np.zeros(n), where=cap > 0), 0.0, 1.0)
    weighted = np.stack([factors[k] * weights[k] for k in sorted(weights)])
    if "MAX_TRES" in config.priority_flags:
        return factors, np.asarray(weighted.max(axis=0), dtype=np.float64)
    return factors, np.asarray(weighted.sum(axis=0), dtype=np.float64)


def _nodes(job: PendingJob) -> int:
    return max(job.nodes_min, 1)


def _mem(job: PendingJob) -> float:
    if job.mem_per_node_mb:
        return float(job.mem_per_node_mb * _nodes(job))
    if job.mem_per_cpu_mb:
        return float(job.mem_per_cpu_mb * job.ntasks * job.cpus_per_task)
    return 0.0


def _per_partitions(jobs: Sequence[PendingJob], partitions: Mapping[str, PartitionInfo],
                    attr: str) -> list[int]:
    """Per job, the largest ``attr`` of its partitions (0: none known); computed once per
    list of partitions, which most jobs share."""
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for job in jobs:
        value = seen.get(job.partitions)
        if value is None:
            value = seen[job.partitions] = max(
                (getattr(partitions[p], attr) for p in job.partitions if p in partitions),
                default=0)
        out.append(value)
    return out


def weights(config: SchedConfig) -> dict[str, int]:
    """The weights as ``sprio -w`` prints them (site is always 1)."""
    return {"site": 1, "age": config.weight_age, "assoc": config.weight_assoc,
            "fairshare": config.weight_fairshare, "job_size": config.weight_job_size,
            "partition": config.weight_partition, "qos": config.weight_qos}


def rows(jobs: Sequence[PendingJob], factors: Factors,
         config: SchedConfig) -> list[dict[str, Any]]:
    """One plain record per job for ``sprio`` (``GET /api/priority/``): each factor
    unweighted (``norm``) and weighted (``weighted``, as sprio prints it)."""
    w = weights(config)
    multi = config.priority_type == MULTIFACTOR
    n = len(jobs)

    def arr(a: F64) -> list[float]:
        return a.tolist() if multi and len(a) == n else [0.0] * n

    cols = {"age": factors.age.tolist(), "assoc": arr(factors.assoc),
            "fairshare": arr(factors.fairshare), "job_size": arr(factors.job_size),
            "partition": factors.partition.tolist(), "qos": arr(factors.qos)}
    site = factors.site.tolist() if len(factors.site) == n else [0] * n
    tres_cols = {k: v.tolist() for k, v in factors.tres.items()}
    out: list[dict[str, Any]] = []
    for i, j in enumerate(jobs):
        norm = {k: v[i] for k, v in cols.items()}
        tres = {k: v[i] for k, v in tres_cols.items()}
        out.append({
            "job_id": j.id, "array_task_id": j.array_task_id, "user": j.user,
            "account": j.account, "qos": j.qos,
            "partition": j.partitions[0] if j.partitions else "",
            "priority": int(factors.priority[i]), "site": int(site[i]), "nice": j.nice,
            "norm": norm, "weighted": {k: w[k] * v for k, v in norm.items()},
            "tres_norm": tres,
            "tres": {k: v * config.weight_tres.get(k, 0) for k, v in tres.items()},
        })
    return out


def queue_order(jobs: Sequence[PendingJob], priority: npt.NDArray[np.int64],
                partitions: Mapping[str, PartitionInfo]) -> npt.NDArray[np.intp]:
    """Indices of ``jobs`` in scheduling order: (-tier, -priority, submit, id, task)."""
    n = len(jobs)
    tiers = np.asarray(_per_partitions(jobs, partitions, "priority_tier"), dtype=np.int64)
    submit = np.fromiter((j.submit_time for j in jobs), dtype=np.int64, count=n)
    ids = np.fromiter((j.id for j in jobs), dtype=np.int64, count=n)
    task = np.fromiter((-1 if j.array_task_id is None else j.array_task_id for j in jobs),
                       dtype=np.int64, count=n)
    # np.lexsort sorts by the last key first.
    return np.lexsort((task, ids, submit, -priority, -tiers))
