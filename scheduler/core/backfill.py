"""Main pass and backfill: conservative backfill on a time-sliced availability plan.

Algorithm (Slurm's sched/backfill, in the conservative form Slurm implements:
every examined job gets a reservation; source: Mu'alem & Feitelson, "Utilization,
predictability, workloads, and user runtime estimates in scheduling the IBM SP2
with backfilling", IEEE TPDS 2001, and Slurm's ``src/plugins/sched/backfill``):

1. Main pass (FCFS). Jobs in queue order start while they fit in what is free
   now; the first job that does not fit ends the pass. No reservation exists
   yet and running jobs only ever release resources, so "fits now" is "fits for
   its whole time limit".
2. Backfill. Every remaining job, in queue order, gets the earliest start in the
   plan (:mod:`scheduler.core.timeline`) at which enough nodes stay free for its
   whole time limit, and that slice of the plan is taken (its reservation). A job
   whose earliest start is now starts now.

Invariants: a job only ever takes resources still free in the plan after every
higher-priority reservation, so no backfilled job delays a higher-priority
job's reservation; and the same input gives the same plan (ties go to the
preferred node: lower Weight, then name).

Parameters: ``bf_window`` (how far ahead reservations go; a job that cannot
start within it gets none), ``bf_resolution`` (slot length), ``bf_max_job_user``
(jobs of one user examined per cycle; the rest wait with reason Priority).

Speed: answers are cached per request shape (:attr:`Option.key`). For a
single-node shape the cache keeps each node's earliest fitting slot and only
recomputes the nodes whose plan changed since (the timeline's column versions);
every answer only moves later as the plan fills, and a shape that found no
start in the window stays without one for the rest of the cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduler.core import types
from scheduler.core.filters import Option
from scheduler.core.nodes import I64, NodeTable
from scheduler.core.select import Request, amounts, choose, task_capacity, to_grants
from scheduler.core.timeline import Timeline
from scheduler.core.types import PendingJob, Planned, SchedConfig, Start


@dataclass(slots=True)
class Outcome:
    starts: list[Start] = field(default_factory=list)
    planned: dict[int, Planned] = field(default_factory=dict)
    reasons: dict[tuple[int, int | None], str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Queued:
    job: PendingJob
    options: list[Option]


def schedule(queue: Sequence[Queued], table: NodeTable, timeline: Timeline,
             config: SchedConfig) -> Outcome:
    """Run the main pass, then backfill over the rest of ``queue`` (in queue order)."""
    out = Outcome()
    plan = _Plan(table, timeline)
    rest = len(queue)
    for i, q in enumerate(queue):
        if not _main(q, plan, out):
            rest = i
            break
    blocked: set[str] = set()
    per_user: dict[str, int] = {}
    for q in queue[rest:]:
        parts = {o.partition for o in q.options}
        reason = types.PRIORITY if parts & blocked else types.RESOURCES
        if not config.backfill:
            out.reasons[q.job.key] = reason
            blocked |= parts
            continue
        seen = per_user.get(q.job.user, 0)
        if config.bf_max_job_user and seen >= config.bf_max_job_user:
            out.reasons[q.job.key] = types.PRIORITY
            continue
        per_user[q.job.user] = seen + 1
        if _backfill(q, plan, out):
            continue
        out.reasons[q.job.key] = reason
        blocked |= parts
    return out


def _main(q: Queued, plan: _Plan, out: Outcome) -> bool:
    """Start ``q`` on what is free now, if it fits (the plan holds no reservation yet)."""
    for option in q.options:
        choice = plan.now(option)
        if choice is not None:
            out.starts.append(plan.start(q.job, option, choice))
            return True
    return False


def _backfill(q: Queued, plan: _Plan, out: Outcome) -> bool:
    """Start ``q`` now if that delays no reservation, else reserve its earliest start."""
    best: tuple[int, list[tuple[int, int]], Option] | None = None
    for option in q.options:
        if not option.request.uniform:
            choice = plan.now(option, whole_limit=True)
            if choice is not None:
                best = (0, choice, option)
                break
        found = plan.earliest(option)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], found[1], option)
        if best is not None and best[0] == 0:
            break
    if best is None:
        return False
    slot, choice, option = best
    if slot == 0:
        out.starts.append(plan.start(q.job, option, choice))
        return True
    nodes = plan.reserve(option, slot, choice)
    out.planned[q.job.id] = Planned(plan.timeline.time_of(slot), nodes)
    return False


class _Plan:
    def __init__(self, table: NodeTable, timeline: Timeline) -> None:
        self.table = table
        self.timeline = timeline
        self.shapes: dict[tuple[object, ...], _Shape] = {}

    def now(self, option: Option, whole_limit: bool = False) -> list[tuple[int, int]] | None:
        """Nodes to start ``option`` on now; ``whole_limit`` checks its whole time limit
        against the plan (needed once reservations exist), else only the present."""
        tl, req, table = self.timeline, option.request, self.table
        shape = self.shapes.get(option.key)
        if shape is not None and shape.exhausted:
            return None
        cols = np.flatnonzero(option.cand)
        view = tl.window_min(0, tl.span(option.duration_s), cols) if whole_limit \
            else tl.view(0, cols)
        cap = np.zeros(table.size, dtype=np.int64)
        cap[cols] = task_capacity(req, view, table.cpus[cols], table.mem[cols])
        return choose(req, cap, table.rank)

    def start(self, job: PendingJob, option: Option, choice: list[tuple[int, int]]) -> Start:
        grants = self._take(option, 0, choice)
        now = self.timeline.now
        end = now + option.duration_s if option.duration_s is not None else None
        return Start(job.id, job.array_task_id, option.partition, grants, end)

    def reserve(self, option: Option, slot: int, choice: list[tuple[int, int]]
                ) -> tuple[str, ...]:
        return tuple(g.node for g in self._take(option, slot, choice))

    def _take(self, option: Option, slot: int, choice: list[tuple[int, int]]
              ) -> tuple[types.NodeGrant, ...]:
        tl = self.timeline
        length = tl.span(option.duration_s)
        idx = np.fromiter((i for i, _ in choice), dtype=np.intp, count=len(choice))
        free_gres = tl.gres[slot:slot + length, idx].min(axis=0)
        granted, held = amounts(option.request, self.table, choice, free_gres)
        tl.take(held, slot, length)
        return to_grants(self.table, granted, choice)

    def earliest(self, option: Option) -> tuple[int, list[tuple[int, int]]] | None:
        """The first slot at which ``option`` fits for its whole duration, and its nodes."""
        shape = self.shapes.get(option.key)
        if shape is None:
            shape = _Shape(self.table, self.timeline, option)
            self.shapes[option.key] = shape
        return shape.earliest()


class _Shape:
    """Cached answers for one request shape (see the module docstring)."""

    def __init__(self, table: NodeTable, timeline: Timeline, option: Option) -> None:
        self.table, self.tl, self.option = table, timeline, option
        req = option.request
        if not req.uniform and option.request.nodes_min <= 1:
            single = req.single_node()
            if choose(single, _static(table, single, option), table.rank) is not None:
                req = single
        self.req = req
        self.cols = np.flatnonzero(option.cand)
        self.length = timeline.span(option.duration_s)
        t, c = timeline.slots, self.cols.size
        self.seen = np.full(c, -1, dtype=np.int64)
        self.first = np.full(c, t, dtype=np.int64)
        self.single = req.uniform and req.node_count == 1
        self.ok: npt.NDArray[np.bool_] | None = None
        self.count: I64 | None = None
        if req.uniform and not self.single:
            self.ok = np.zeros((t, c), dtype=np.bool_)
            self.count = np.zeros(t, dtype=np.int64)
        self.exhausted = False

    def earliest(self) -> tuple[int, list[tuple[int, int]]] | None:
        if self.exhausted:
            return None
        found = self._uniform() if self.req.uniform else self._spread()
        if found is None:
            self.exhausted = True
        return found

    def _uniform(self) -> tuple[int, list[tuple[int, int]]] | None:
        self._refresh()
        t = self.tl.slots
        req, table = self.req, self.table
        if self.single:
            slot = int(self.first.min()) if self.first.size else t
            if slot >= t:
                return None
            at = self.cols[self.first == slot]
        else:
            assert self.ok is not None and self.count is not None
            hits = np.flatnonzero(self.count >= req.node_count)
            if hits.size == 0:
                return None
            slot = int(hits[0])
            at = self.cols[self.ok[slot]]
        assert req.tasks_per_node is not None
        cap = np.zeros(table.size, dtype=np.int64)
        cap[at] = req.tasks_per_node
        choice = choose(req, cap, table.rank)
        return None if choice is None else (slot, choice)

    def _refresh(self) -> None:
        """Recompute the per-node answers of the nodes whose plan changed."""
        tl, req = self.tl, self.req
        dirty = np.flatnonzero(tl.version[self.cols] != self.seen)
        if dirty.size == 0:
            return
        cols = self.cols[dirty]
        # Answers only move later as the plan fills: start from the earliest old answer.
        lo = int(self.first[dirty].min()) if self.single and (self.seen[dirty] >= 0).all() else 0
        lo = min(lo, tl.slots - 1)
        view = tl.view(slice(lo, None), cols)
        assert req.tasks_per_node is not None
        fit = task_capacity(req, view, self.table.cpus[cols], self.table.mem[cols]) \
            >= req.tasks_per_node
        ok = _whole_window(fit, self.length)
        if self.single:
            anyok = ok.any(axis=0)
            self.first[dirty] = np.where(anyok, ok.argmax(axis=0) + lo, tl.slots)
        else:
            assert self.ok is not None and self.count is not None
            self.count -= self.ok[:, dirty].sum(axis=1)
            self.ok[:, dirty] = ok
            self.count += ok.sum(axis=1)
        self.seen[dirty] = tl.version[cols]

    def _spread(self) -> tuple[int, list[tuple[int, int]]] | None:
        """Multi-node job with a flexible node count: window minimum of task capacity."""
        tl, req, table = self.tl, self.req, self.table
        cols = self.cols[np.argsort(table.rank[self.cols], kind="stable")]
        k = task_capacity(req, tl.view(slice(None), cols), table.cpus[cols], table.mem[cols])
        k = _sliding_min(k, self.length)
        k = np.minimum(k, req.ntasks)
        nz = np.cumsum(k >= 1, axis=1)
        total = np.cumsum(k, axis=1)
        enough = total >= req.ntasks
        reach = np.where(enough.any(axis=1), enough.argmax(axis=1), -1)
        rows = np.arange(tl.slots)
        used = np.where(reach >= 0, nz[rows, np.maximum(reach, 0)], 0)
        used = np.maximum(used, req.nodes_min)
        good = (reach >= 0) & (used <= req.nodes_max) & (nz[:, -1] >= req.nodes_min)
        hits = np.flatnonzero(good)
        if hits.size == 0:
            return None
        slot = int(hits[0])
        cap = np.zeros(table.size, dtype=np.int64)
        cap[cols] = k[slot]
        choice = choose(req, cap, table.rank)
        return None if choice is None else (slot, choice)


def _static(table: NodeTable, req: Request, option: Option) -> I64:
    from scheduler.core.select import restrict, static_capacity

    return restrict(static_capacity(req, table, only_available=True), option.cand)


def _whole_window(fit: npt.NDArray[np.bool_], length: int) -> npt.NDArray[np.bool_]:
    """``ok[s, n]``: ``fit[s:s+length, n]`` all true (windows cut at the end of the plan)."""
    t = fit.shape[0]
    bad = np.zeros((t + 1, fit.shape[1]), dtype=np.int32)
    np.cumsum(~fit, axis=0, out=bad[1:])
    starts = np.arange(t)
    ends = np.minimum(starts + length, t)
    return np.asarray((bad[ends] - bad[starts]) == 0)


def _sliding_min(a: I64, length: int) -> I64:
    """``out[s] = a[s:s+length].min(axis=0)`` (cut at the end), by doubling."""
    out = a.copy()
    span = 1
    while span < length:
        step = min(span, length - span)
        shifted = np.empty_like(out)
        shifted[:-step] = out[step:]
        shifted[-step:] = out[-step:]
        out = np.minimum(out, shifted)
        span += step
    return out
