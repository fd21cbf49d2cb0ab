"""Job priority and the queue order.

Priority is a weighted sum of factors in [0, 1], as Slurm's priority/multifactor
writes it (``sprio`` shows the factors), so later factors (fairshare, job size,
QOS) slot in as more terms::

    priority = PriorityWeightAge * age + PriorityWeightPartition * partition - nice

priority/basic is the same formula with every weight at zero unless configured:
every job gets priority 1 and the queue is first come, first served. A job with
a fixed priority (``PendingJob.priority > 0``, set by an operator) keeps it.

The queue order is an explicit total order: higher partition PriorityTier
first (Slurm schedules tier by tier), then higher priority, then earlier
submit time, then lower job id, then lower array task id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler.core.types import PartitionInfo, PendingJob, SchedConfig


@dataclass(frozen=True, slots=True)
class Factors:
    """Per-job factors (arrays aligned with the pending list), kept for ``sprio``."""

    age: npt.NDArray[np.float64]
    partition: npt.NDArray[np.float64]
    priority: npt.NDArray[np.int64]


def compute(jobs: Sequence[PendingJob], partitions: Mapping[str, PartitionInfo],
            config: SchedConfig, now: int) -> Factors:
    """Factors and priorities for ``jobs``; unknown partitions count as factor 0."""
    n = len(jobs)
    since = np.fromiter(((j.eligible_time if j.eligible_time is not None else j.submit_time)
                         for j in jobs), dtype=np.int64, count=n)
    max_age = max(1, config.max_age_s)
    age = np.clip((now - since) / max_age, 0.0, 1.0)
    top = max((p.priority_job_factor for p in partitions.values()), default=1) or 1
    part = np.fromiter((_part_factor(j, partitions) / top for j in jobs),
                       dtype=np.float64, count=n)
    nice = np.fromiter((j.nice for j in jobs), dtype=np.int64, count=n)
    fixed = np.fromiter((j.priority for j in jobs), dtype=np.int64, count=n)
    weighted = np.floor(config.weight_age * age + config.weight_partition * part).astype(np.int64)
    prio = np.maximum(weighted - nice, 1)
    prio = np.where(fixed > 0, fixed, prio)
    return Factors(age=age, partition=part, priority=prio)


def _part_factor(job: PendingJob, partitions: Mapping[str, PartitionInfo]) -> int:
    return max((partitions[p].priority_job_factor for p in job.partitions if p in partitions),
               default=0)


def tier(job: PendingJob, partitions: Mapping[str, PartitionInfo]) -> int:
    return max((partitions[p].priority_tier for p in job.partitions if p in partitions),
               default=0)


def queue_order(jobs: Sequence[PendingJob], priority: npt.NDArray[np.int64],
                partitions: Mapping[str, PartitionInfo]) -> npt.NDArray[np.intp]:
    """Indices of ``jobs`` in scheduling order: (-tier, -priority, submit, id, task)."""
    n = len(jobs)
    tiers = np.fromiter((tier(j, partitions) for j in jobs), dtype=np.int64, count=n)
    submit = np.fromiter((j.submit_time for j in jobs), dtype=np.int64, count=n)
    ids = np.fromiter((j.id for j in jobs), dtype=np.int64, count=n)
    task = np.fromiter((-1 if j.array_task_id is None else j.array_task_id for j in jobs),
                       dtype=np.int64, count=n)
    # np.lexsort sorts by the last key first.
    return np.lexsort((task, ids, submit, -priority, -tiers))
