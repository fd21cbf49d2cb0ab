"""One scheduling cycle as a pipeline of named stages.

``sort`` (priority and queue order) -> ``filter`` (eligibility, partition
limits, could-it-ever-fit) -> ``main`` (FCFS while jobs fit) -> ``backfill``
(every other job gets a reservation; those that delay none start now). Both
passes skip a job that a QOS or association limit holds back, counting what
they start (:mod:`scheduler.core.limits`). The stages after ``filter`` live in
:mod:`scheduler.core.backfill`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scheduler.core import limits, priority, types
from scheduler.core.backfill import Fit, Queued, schedule
from scheduler.core.filters import Filter
from scheduler.core.nodes import NodeTable
from scheduler.core.timeline import Timeline
from scheduler.core.types import Decision, PendingJob, SchedConfig, Snapshot, Start

#: Distinct request shapes a Memo keeps before starting afresh (a bound on its memory
#: in a controller that runs for months).
MEMO_SHAPES = 50_000


@dataclass(slots=True)
class Memo:
    """What a caller running many cycles (the simulator, the controller's loop) may
    carry from one to the next: the filter stage's answers and the fit tests, which
    depend only on the cluster's configuration and are reused while it stays the
    same. Never changes a Decision."""

    config: tuple[object, ...] | None = None
    filter: Filter | None = None
    fits: dict[tuple[object, ...], Fit] = field(default_factory=dict)

    def filter_for(self, snapshot: Snapshot, table: NodeTable,
                   partitions: dict[str, types.PartitionInfo]) -> Filter:
        config = (tuple((n.name, n.cpus, n.mem_mb, tuple(sorted(n.gres.items())), n.features,
                         n.weight, n.available, n.partitions) for n in snapshot.nodes),
                  snapshot.partitions)
        if self.filter is None or config != self.config or len(self.fits) > MEMO_SHAPES:
            self.config, self.filter = config, Filter(table, partitions)
            self.fits.clear()
        return self.filter


def run_cycle(snapshot: Snapshot, config: SchedConfig, now: int,
              memo: Memo | None = None,
              backfill_if: Callable[[Sequence[Start]], bool] | None = None) -> Decision:
    """Decide which pending jobs start now, and why the others wait.

    Pure and deterministic: the same arguments give the same Decision (``memo``
    only saves work; ``backfill_if``: see :func:`scheduler.core.backfill.schedule`).
    Reasons are keyed by job id; for array tasks sharing an id
    (the pending tasks of one meta row) the reason of the first task in queue
    order wins.
    """
    partitions = {p.name: p for p in snapshot.partitions}
    jobs = snapshot.pending
    factors = priority.compute(jobs, partitions, config, now, snapshot.nodes)
    order = priority.queue_order(jobs, factors.priority, partitions)
    positions, values = order.tolist(), factors.priority.tolist()
    ordered = [jobs[i] for i in positions]
    # Array tasks share an id: the first in queue order gives it (written last).
    prio = {jobs[i].id: values[i] for i in reversed(positions)}

    reasons: dict[tuple[int, int | None], str] = {}
    table = NodeTable.build(snapshot.nodes)
    filt = memo.filter_for(snapshot, table, partitions) if memo else Filter(table, partitions)
    queue = _filter(ordered, filt, reasons, prio)
    timeline = Timeline(table, snapshot.running, now, config.bf_window_s,
                        config.bf_resolution_s)
    outcome = schedule(queue, table, timeline, config,
                       limits.ledger(snapshot.running, snapshot.limits),
                       memo.fits if memo else None, backfill_if)
    reasons.update(outcome.reasons)

    started = {(s.job_id, s.array_task_id) for s in outcome.starts}
    by_id: dict[int, str] = {}
    for job in ordered:
        if job.key in started or job.id in by_id:
            continue
        by_id[job.id] = reasons.get(job.key, types.PRIORITY)
    return Decision(starts=tuple(outcome.starts), reasons=by_id, planned=outcome.planned,
                    priorities=prio, backfilled=outcome.backfilled,
                    backfill=outcome.backfill)


def _filter(ordered: list[PendingJob], filt: Filter,
            reasons: dict[tuple[int, int | None], str], prio: dict[int, int]) -> list[Queued]:
    queue: list[Queued] = []
    for job in ordered:
        if not job.eligible:
            reasons[job.key] = job.reason
            continue
        options, why = filt.options(job)
        if not options:
            reasons[job.key] = why
            continue
        queue.append(Queued(job, options, prio[job.id]))
    return queue


def warm_up() -> None:
    """Run a tiny cycle that reaches every compiled kernel, so numba compiles them
    (or loads them from its cache) now rather than in the first real cycle."""
    now = 10_000
    nodes = tuple(types.NodeInfo(f"w{i}", 2, 100, {"gpu": 1}, partitions=frozenset({"w"}),
                                 alloc_cpus=1 - i, alloc_jobs=1 - i) for i in range(2))
    running = (types.RunningJob(1, (types.NodeGrant("w0", 1, 0),), now + 600),)
    pending = (  # one node, waits for w0; two nodes; a GPU
        PendingJob(2, now - 3, ("w",), cpus_per_task=2, time_limit_s=600),
        PendingJob(3, now - 2, ("w",), nodes_min=2, nodes_max=2, ntasks=2, ntasks_per_node=1,
                   time_limit_s=600),
        PendingJob(4, now - 1, ("w",), gres={"gpu": 1}, time_limit_s=60))
    run_cycle(Snapshot(nodes, (types.PartitionInfo("w"),), running, pending), SchedConfig(), now)
