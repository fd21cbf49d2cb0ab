"""Tiny builders for core tests: ``node("n1", cpus=64)``, ``job(1, cpus=4)``."""

from __future__ import annotations

from scheduler.core.cycle import run_cycle
from scheduler.core.types import (
    Decision,
    NodeGrant,
    NodeInfo,
    PartitionInfo,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
)

NOW = 999_960  # on the 60 s grid of bf_resolution


def node(name: str, cpus: int = 4, mem: int = 4000, gres: dict[str, int] | None = None,
         features: str = "", weight: int = 1, up: bool = True, parts: str = "debug",
         used_cpus: int = 0, used_mem: int = 0, used_jobs: int | None = None,
         used_gres: dict[str, int] | None = None) -> NodeInfo:
    return NodeInfo(name=name, cpus=cpus, mem_mb=mem, gres=gres or {},
                    features=frozenset(filter(None, features.split(","))), weight=weight,
                    available=up, partitions=frozenset(parts.split(",")),
                    alloc_cpus=used_cpus, alloc_mem_mb=used_mem, alloc_gres=used_gres or {},
                    alloc_jobs=(1 if used_cpus else 0) if used_jobs is None else used_jobs)


def part(name: str = "debug", **kw: object) -> PartitionInfo:
    return PartitionInfo(name=name, **kw)  # type: ignore[arg-type]


def job(id: int, cpus: int = 1, ntasks: int = 1, nodes: int = 1, nodes_max: int | None = None,
        limit: int | None = 3600, submit: int | None = None, p: str = "debug",
        **kw: object) -> PendingJob:
    return PendingJob(id=id, submit_time=NOW - 1000 + id if submit is None else submit,
                      partitions=tuple(p.split(",")), cpus_per_task=cpus, ntasks=ntasks,
                      nodes_min=nodes, nodes_max=nodes_max, time_limit_s=limit,
                      **kw)  # type: ignore[arg-type]


def running(id: int, node_cpus: dict[str, int], ends_in: int | None = 600,
            mem: int = 0, exclusive: bool = False) -> RunningJob:
    grants = tuple(NodeGrant(n, c, mem) for n, c in node_cpus.items())
    return RunningJob(id, grants, None if ends_in is None else NOW + ends_in, exclusive)


def busy(n: NodeInfo, *jobs: RunningJob) -> NodeInfo:
    """``n`` with the running jobs' allocations on it."""
    from dataclasses import replace

    cpus = sum(g.cpus for j in jobs for g in j.grants if g.node == n.name)
    mem = sum(g.mem_mb for j in jobs for g in j.grants if g.node == n.name)
    count = sum(1 for j in jobs for g in j.grants if g.node == n.name)
    return replace(n, alloc_cpus=cpus, alloc_mem_mb=mem, alloc_jobs=count)


def cycle(nodes: list[NodeInfo], pending: list[PendingJob],
          running_jobs: list[RunningJob] | None = None,
          partitions: list[PartitionInfo] | None = None,
          config: SchedConfig | None = None, now: int = NOW) -> Decision:
    running_jobs = running_jobs or []
    nodes = [busy(n, *running_jobs) if any(g.node == n.name for j in running_jobs
                                           for g in j.grants) else n for n in nodes]
    snap = Snapshot(tuple(nodes), tuple(partitions or [part()]), tuple(running_jobs),
                    tuple(pending))
    return run_cycle(snap, config or SchedConfig(), now)


def started(d: Decision) -> dict[int, list[str]]:
    return {s.job_id: [g.node for g in s.grants] for s in d.starts}
