"""The filter stage: which partitions could ever run a job, and why not.

For each eligible job and each of its partitions this checks, in Slurm's order,
the partition's state, AllowGroups, MaxTime, MaxNodes/MinNodes, and whether the
request fits the partition's nodes at all (PartitionConfig), their features
(BadConstraints) and the nodes that are up (ReqNodeNotAvail). What survives is
an :class:`Option`: a partition plus the resolved request and candidate nodes.
The answer is cached per request shape, since large queues repeat a few shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler.core import constraint, types
from scheduler.core.nodes import Mask, NodeTable
from scheduler.core.select import (
    Request,
    candidates,
    choose,
    make_request,
    restrict,
    static_capacity,
)
from scheduler.core.types import PartitionInfo, PendingJob


@dataclass(frozen=True, slots=True)
class Option:
    """One partition a job may run in, with its request resolved there."""

    partition: str
    request: Request
    cand: Mask  # candidate nodes
    cols: npt.NDArray[np.intp]  # their indices
    duration_s: int | None
    key: tuple[object, ...]  # equal keys: equal answers from the plan


class Filter:
    def __init__(self, table: NodeTable, partitions: Mapping[str, PartitionInfo]) -> None:
        self.table = table
        self.partitions = partitions
        self._features: dict[str, Mask | None] = {}
        self._shapes: dict[tuple[object, ...], Option | str] = {}
        self._jobs: dict[tuple[object, ...], tuple[list[Option], str]] = {}

    def options(self, job: PendingJob) -> tuple[list[Option], str]:
        """The job's usable partitions in preference order, or none and the reason
        (the same answer for every job with the same request; do not mutate it)."""
        gres = tuple(sorted(job.gres.items())) if job.gres else ()
        key = (job.partitions, job.groups, job.time_limit_s, job.nodes_min, job.nodes_max,
               job.ntasks, job.cpus_per_task, job.ntasks_per_node, job.mem_per_node_mb,
               job.mem_per_cpu_mb, gres, job.constraint, job.exclusive, job.req_nodes,
               job.exc_nodes)
        cached = self._jobs.get(key)
        if cached is None:
            cached = self._jobs[key] = self._options(job)
        return cached

    def _options(self, job: PendingJob) -> tuple[list[Option], str]:
        found: list[Option] = []
        first_reason = ""
        ordered = sorted(job.partitions, key=lambda p: -self._tier(p))
        for name in ordered:
            got = self._option(job, name)
            if isinstance(got, Option):
                found.append(got)
            elif not first_reason:
                first_reason = got
        return found, (first_reason or types.PARTITION_CONFIG)

    def _tier(self, name: str) -> int:
        part = self.partitions.get(name)
        return part.priority_tier if part else 0

    def _option(self, job: PendingJob, name: str) -> Option | str:
        part = self.partitions.get(name)
        if part is None:
            return types.PARTITION_CONFIG
        if part.state == "DOWN":
            return types.PARTITION_DOWN
        if part.state == "INACTIVE":
            return types.PARTITION_INACTIVE
        if part.allow_groups is not None and not (part.allow_groups & job.groups):
            return types.ACCESS_DENIED
        duration = job.time_limit_s
        if duration is None:
            duration = part.default_time_s if part.default_time_s is not None else part.max_time_s
        if part.max_time_s is not None and duration is not None and duration > part.max_time_s:
            return types.PARTITION_TIME_LIMIT
        nodes_min = max(job.nodes_min, len(job.req_nodes))
        if part.max_nodes is not None and nodes_min > part.max_nodes:
            return types.PARTITION_NODE_LIMIT
        if job.nodes_max is not None and job.nodes_max < part.min_nodes:
            return types.PARTITION_NODE_LIMIT
        exclusive = job.exclusive or part.oversubscribe.upper().startswith("EXCLUSIVE")
        key = (name, job.cpus_per_task, job.ntasks, nodes_min, job.nodes_max,
               job.ntasks_per_node, job.mem_per_node_mb, job.mem_per_cpu_mb,
               tuple(sorted(job.gres.items())), job.constraint, exclusive,
               tuple(sorted(job.req_nodes)), tuple(sorted(job.exc_nodes)), duration)
        cached = self._shapes.get(key)
        if cached is None:
            cached = self._resolve(job, name, exclusive, nodes_min, duration, key)
            self._shapes[key] = cached
        return cached

    def _resolve(self, job: PendingJob, name: str, exclusive: bool, nodes_min: int,
                 duration: int | None, key: tuple[object, ...]) -> Option | str:
        table = self.table
        if nodes_min != job.nodes_min:
            job = _with_nodes_min(job, nodes_min)
        req = make_request(job, table, exclusive)
        features = self._feature_mask(job.constraint)
        if features is None:
            return types.BAD_CONSTRAINTS
        req_mask = table.mask_of(job.req_nodes) if job.req_nodes else None
        exc_mask = table.mask_of(job.exc_nodes) if job.exc_nodes else None
        if req_mask is not None and int(req_mask.sum()) < len(job.req_nodes):
            return types.PARTITION_CONFIG  # a listed node does not exist
        in_part = candidates(table, name, np.ones(table.size, dtype=np.bool_), None, exc_mask)
        cand = candidates(table, name, features, req_mask, exc_mask)
        if req_mask is not None and bool((req_mask & ~in_part).any()):
            return types.PARTITION_CONFIG
        everything = static_capacity(req, table, only_available=False)
        if not _fits(req, restrict(everything, in_part), table):
            return types.PARTITION_CONFIG
        if not _fits(req, restrict(everything, cand), table):
            return types.BAD_CONSTRAINTS if job.constraint else types.PARTITION_CONFIG
        up = np.where(table.available, everything, 0)
        if not _fits(req, restrict(up, cand), table):
            return types.REQ_NODE_NOT_AVAIL
        return Option(name, req, cand, np.flatnonzero(cand), duration, key)

    def _feature_mask(self, expr: str) -> Mask | None:
        if expr not in self._features:
            table = self.table
            zero = np.zeros(table.size, dtype=np.bool_)
            try:
                self._features[expr] = constraint.evaluate(
                    expr, lambda f: table.features.get(f, zero), table.size)
            except constraint.ConstraintError:
                self._features[expr] = None
        return self._features[expr]


def _fits(req: Request, capacity: npt.NDArray[np.int64], table: NodeTable) -> bool:
    """Whether :func:`choose` finds nodes (counted directly for a uniform request)."""
    if req.uniform:
        assert req.tasks_per_node is not None
        return int(np.count_nonzero(capacity >= req.tasks_per_node)) >= req.node_count
    return choose(req, capacity, table.rank) is not None


def _with_nodes_min(job: PendingJob, nodes_min: int) -> PendingJob:
    from dataclasses import replace

    return replace(job, nodes_min=nodes_min)
