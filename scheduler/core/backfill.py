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
            choice = plan.now_flexible(option)
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
        cols = option.cols
        view = tl.window_min(0, tl.span(option.duration_s), cols) if whole_limit \
            else tl.now_view(cols)
        cap = np.zeros(table.size, dtype=np.int64)
        cap[cols] = task_capacity(req, view, table.cpus[cols], table.mem[cols])
        return choose(req, cap, table.rank)

    def now_flexible(self, option: Option) -> list[tuple[int, int]] | None:
        """:meth:`now` over the whole time limit for a flexible request; a failure is
        remembered for the cycle, since the plan only fills up."""
        shape = self._shape(option)
        if shape.no_start_now:
            return None
        req = option.request
        free_now = self.timeline.now_view(option.cols).cpus
        if int(free_now.sum()) < req.ntasks * req.cpus_per_task:
            choice = None
        else:
            choice = self.now(option, whole_limit=True)
        if choice is None:
            shape.no_start_now = True
        return choice

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
        free_gres = tl.window_min(slot, length, idx).gres
        granted, held = amounts(option.request, self.table, choice, free_gres)
        tl.take(held, slot, length)
        return to_grants(self.table, granted, choice)

    def earliest(self, option: Option) -> tuple[int, list[tuple[int, int]]] | None:
        """The first slot at which ``option`` fits for its whole duration, and its nodes."""
        return self._shape(option).earliest()

    def _shape(self, option: Option) -> _Shape:
        shape = self.shapes.get(option.key)
        if shape is None:
            shape = _Shape(self.table, self.timeline, option)
            self.shapes[option.key] = shape
        return shape


class _Shape:
    """Cached answers for one request shape (see the module docstring).

    A flexible (spread) request is planned as a uniform one: on one node when one
    node could hold it, else ``t`` tasks on each of ``ceil(ntasks / t)`` nodes with
    ``t`` the smallest task capacity among the candidate nodes. The main pass and
    the start-now test still place it flexibly.
    """

    def __init__(self, table: NodeTable, timeline: Timeline, option: Option) -> None:
        self.table, self.tl = table, timeline
        self.cols = option.cols
        self.length = timeline.span(option.duration_s)
        self.exhausted = False
        req = _as_uniform(table, option)
        if req is None:
            self.exhausted = True
            req = option.request
        self.req = req
        self.single = req.uniform and req.node_count == 1
        self.seen = np.full(self.cols.size, -1, dtype=np.int64)
        self.first = np.zeros(self.cols.size, dtype=np.int64)  # lower bounds until computed
        self.lo: I64 | None = None
        self.hi: I64 | None = None
        self.valid: npt.NDArray[np.bool_] | None = None
        self.no_start_now = False  # a flexible request found no room now (stays so)

    def earliest(self) -> tuple[int, list[tuple[int, int]]] | None:
        if self.exhausted:
            return None
        found = self._single() if self.single else self._multi()
        if found is None:
            self.exhausted = True  # the plan only fills up: no start later in this cycle
        return found

    def _windows(self, cols: npt.NDArray[np.intp]
                 ) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
        """Per node and change point: the range of start slots ``[lo, hi]`` that keep the
        request fitting for its whole duration, and whether that range is non-empty."""
        tl, req, table = self.tl, self.req, self.table
        assert req.tasks_per_node is not None
        t = tl.slots
        k = tl.width(cols)
        fit = task_capacity(req, tl.values(cols, k), table.cpus[cols][:, None],
                            table.mem[cols][:, None]) >= req.tasks_per_node
        p = tl.pts[cols, :k]
        bad_idx = np.where(fit, k, np.arange(k))
        next_bad = np.minimum.accumulate(bad_idx[:, ::-1], axis=1)[:, ::-1]
        padded = np.concatenate([p, np.full((p.shape[0], 1), t, dtype=np.int64)], axis=1)
        bad_slot = np.take_along_axis(padded, next_bad, axis=1)
        hi = np.minimum(tl.segment_ends(cols, k) - 1, t - 1)
        hi = np.where(bad_slot < t, np.minimum(hi, bad_slot - self.length), hi)
        return p, hi, fit & (p < t) & (hi >= p)

    def _single(self) -> tuple[int, list[tuple[int, int]]] | None:
        """Earliest start on one node. ``first`` holds each node's answer, exact for
        clean nodes and a lower bound for nodes changed since (answers only move later),
        so only changed nodes that could be the earliest are recomputed."""
        tl = self.tl
        dirty = tl.version[self.cols] != self.seen
        if dirty.any():
            # A changed node can only matter if its lower bound is no later than the best
            # exact answer; one batch settles them all (see the docstring).
            clean = self.first[~dirty]
            best = int(clean.min()) if clean.size else tl.slots
            redo = np.flatnonzero(dirty & (self.first <= best))
            if redo.size:
                cols = self.cols[redo]
                lo, _, valid = self._windows(cols)
                firsts = lo[np.arange(cols.size), valid.argmax(axis=1)]
                self.first[redo] = np.where(valid.any(axis=1), firsts, tl.slots)
                self.seen[redo] = tl.version[cols]
        slot = int(self.first.min()) if self.first.size else tl.slots
        if slot >= tl.slots:
            return None
        return slot, self._pick(self.cols[self.first == slot])

    def _multi(self) -> tuple[int, list[tuple[int, int]]] | None:
        tl = self.tl
        if self.lo is None or self.lo.shape[1] != tl.width(self.cols):
            self.lo, self.hi, self.valid = self._windows(self.cols)
            self.seen = tl.version[self.cols].copy()
        else:
            assert self.hi is not None and self.valid is not None
            redo = np.flatnonzero(tl.version[self.cols] != self.seen)
            if redo.size:
                cols = self.cols[redo]
                lo, hi, valid = self._windows(cols)
                w = lo.shape[1]  # the changed nodes' width; the rest is padding
                self.lo[redo, :w], self.hi[redo, :w], self.valid[redo, :w] = lo, hi, valid
                self.lo[redo, w:], self.valid[redo, w:] = tl.slots, False
                self.seen[redo] = tl.version[cols]
        lo, hi, valid = self.lo, self.hi, self.valid
        assert hi is not None and valid is not None
        starts, ends = lo[valid], hi[valid] + 1
        if starts.size == 0:
            return None
        at = np.concatenate([starts, ends])
        step = np.concatenate([np.ones(starts.size, np.int64), -np.ones(ends.size, np.int64)])
        order = np.argsort(at, kind="stable")
        at, step = at[order], step[order]
        slots, first = np.unique(at, return_index=True)
        count = np.cumsum(np.add.reduceat(step, first))
        hits = np.flatnonzero((count >= self.req.node_count) & (slots < tl.slots))
        if hits.size == 0:
            return None
        slot = int(slots[hits[0]])
        ok = (valid & (lo <= slot) & (hi >= slot)).any(axis=1)
        return slot, self._pick(self.cols[ok])

    def _pick(self, nodes: npt.NDArray[np.intp]) -> list[tuple[int, int]]:
        req, table = self.req, self.table
        assert req.tasks_per_node is not None
        cap = np.zeros(table.size, dtype=np.int64)
        cap[nodes] = req.tasks_per_node
        choice = choose(req, cap, table.rank)
        assert choice is not None
        return choice


def _as_uniform(table: NodeTable, option: Option) -> Request | None:
    """``option``'s request in uniform form for planning (None: it can never fit)."""
    from dataclasses import replace

    from scheduler.core.select import restrict, static_capacity

    req = option.request
    if req.uniform:
        return req
    static = restrict(static_capacity(req, table, only_available=True), option.cand)
    if req.nodes_min <= 1 and int(static.max(initial=0)) >= req.ntasks:
        return req.single_node()
    usable = static[static > 0]
    if usable.size == 0:
        return None
    per_node = int(usable.min())
    count = max(req.nodes_min, -(-req.ntasks // per_node))
    if count > req.nodes_max:
        per_node = -(-req.ntasks // req.nodes_max)
        count = req.nodes_max
    return replace(req, tasks_per_node=per_node, nodes_min=count, nodes_max=count)
