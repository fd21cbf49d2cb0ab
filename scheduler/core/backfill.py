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
start within it gets none), ``bf_resolution`` (slot length), ``bf_max_job_user``,
``bf_max_job_assoc`` and ``bf_max_job_part`` (jobs of one user, association or
partition examined per cycle; the rest wait with reason Priority),
``bf_max_job_test`` and ``bf_max_job_start`` (jobs examined, and started, in all:
the backfill stops there, as Slurm's does; by default every job is examined,
where Slurm stops at 500), ``bf_min_age_reserve`` and ``bf_min_prio_reserve``
(a job runnable for less than that many seconds, or of lower priority, starts now
if it fits but holds no reservation).

Speed. Answers are cached per request shape (:attr:`Option.key`); a shape keeps
its candidate nodes in preference order, so "the first fitting node" is the
preferred one. The fit test is reduced once per shape to thresholds per
candidate (free CPUs, memory and gres needed, running jobs allowed). Shapes that
differ only in duration (or, multi-node, in node count) form a family that
shares its answers: one scan of a node's change points serves every duration,
and every shape of the queue is made before the first question so each family
knows its durations. Per candidate a family remembers the node's version when
it last looked (the timeline bumps it on every take); the loops run compiled
(:mod:`scheduler.core.kernels`).

* One-node families keep, per duration, a segment tree of each candidate's
  earliest start. A stale leaf is a lower bound (answers only move later as the
  plan fills), so the leftmost minimum is the answer once it is fresh; a stale
  minimum is recomputed and the search repeats.
* Multi-node families keep per duration and candidate the disjoint ranges of
  good start slots and, over all candidates, how many nodes are good at each slot
  (a difference array). Stale ranges are only too wide, so the first slot with
  enough nodes is a lower bound; only stale rows claiming it are recomputed, and
  the search goes on from there.
* A shape that found no start in the window has none for the rest of the cycle,
  nor has any shape on the same candidates that needs at least as much (as many
  nodes, as long, no lower threshold anywhere): those jobs get no reservation
  without a search.
* The main pass asks the same caches (before any reservation, "fits now" is
  "earliest start is slot 0"); the start-now test of a spread request looks only
  at a prefix of the candidates in preference order.
* One-node families live in one flat store (:mod:`scheduler.core.single_node`),
  so the backfill hands runs of consecutive one-node jobs to one compiled loop
  (:class:`_Batch`) that searches and reserves for each in turn; only a job that
  starts now comes back to Python. Most of a queue is one-node jobs, and Python's
  cost per job was most of a cycle's.

The caches change speed, never answers: tests/core/test_backfill_cache.py checks
the decisions against a plan asked afresh every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from scheduler.core import kernels, types
from scheduler.core.filters import Option
from scheduler.core.limits import Ledger
from scheduler.core.nodes import I64, Mask, NodeTable
from scheduler.core.select import (
    Request,
    amounts,
    choose,
    task_capacity,
    to_grants,
    uniform_tasks,
)
from scheduler.core.single_node import SingleNodeFamilies
from scheduler.core.timeline import Timeline
from scheduler.core.types import PendingJob, Planned, SchedConfig, Start


@dataclass(slots=True)
class Outcome:
    starts: list[Start] = field(default_factory=list)
    planned: dict[int, Planned] = field(default_factory=dict)
    reasons: dict[tuple[int, int | None], str] = field(default_factory=dict)
    backfilled: int = 0  # the starts of the backfill pass (the last ones of ``starts``)
    backfill: bool = False  # the backfill pass ran


@dataclass(frozen=True, slots=True)
class Queued:
    job: PendingJob
    options: list[Option]
    priority: int = 0  # as the cycle computed it


def schedule(queue: Sequence[Queued], table: NodeTable, timeline: Timeline,
             config: SchedConfig, ledger: Ledger | None = None,
             fits: dict[tuple[object, ...], Fit] | None = None,
             backfill_if: Callable[[Sequence[Start]], bool] | None = None) -> Outcome:
    """Run the main pass, then backfill over the rest of ``queue`` (in queue order).

    ``ledger``: QOS and association usage; a job a limit holds back is skipped
    with its reason (it blocks nobody), and each job started is counted.
    ``fits``: fit tests by option key, kept by the caller from earlier cycles on the
    same configuration (filled as new ones are made). ``backfill_if``: asked with the
    main pass's starts whether the backfill pass runs this time (None: it does, as
    ``config.backfill`` says)."""
    out = Outcome()
    plan = _Plan(table, timeline, {} if fits is None else fits)
    plan.prepare(queue)
    rest = len(queue)
    for i, q in enumerate(queue):
        if _held(q, ledger, out):
            continue
        if not _main(q, plan, out, ledger):
            rest = i
            break
    main_starts = len(out.starts)
    if config.backfill and backfill_if is not None and not backfill_if(out.starts):
        config = replace(config, backfill=False)  # the rest as the main pass alone has it
    out.backfill = config.backfill
    blocked: set[str] = set()
    caps = _Caps(config)
    # Without caps the backfill examines every job as it comes: runs of one-node jobs
    # go to the compiled loop (same answers, see _Batch).
    batch = (_Batch(plan, queue, config, ledger, out, blocked)
             if config.backfill and not caps.limited else None)
    i = rest
    while i < len(queue):
        if batch is not None and (after := batch.run(i)) > i:
            i = after
            continue
        _examine(queue[i], plan, out, ledger, config, caps, blocked)
        i += 1
    out.backfilled = len(out.starts) - main_starts
    return out


def _examine(q: Queued, plan: _Plan, out: Outcome, ledger: Ledger | None,
             config: SchedConfig, caps: _Caps, blocked: set[str]) -> None:
    """The backfill's turn for ``q``: start it now if that delays no reservation, or
    reserve its earliest start; else its reason. ``blocked``: the partitions of jobs
    waiting for resources so far (a later job in one waits with reason Priority)."""
    if _held(q, ledger, out):
        return
    parts = {o.partition for o in q.options}
    reason = types.PRIORITY if parts & blocked else types.RESOURCES
    if not config.backfill or caps.done():
        out.reasons[q.job.key] = reason
        blocked |= parts
        return
    if not caps.examine(q.job, parts):
        out.reasons[q.job.key] = types.PRIORITY
        return
    if _backfill(q, plan, out, ledger, reserve=_may_reserve(q, config, plan.timeline.now)):
        caps.started += 1
        return
    out.reasons[q.job.key] = reason
    blocked |= parts


class _Caps:
    """The backfill's limits on the jobs it examines (``bf_max_job_test``, ``_user``,
    ``_assoc``, ``_part``) and starts (``bf_max_job_start``), 0 meaning none."""

    def __init__(self, config: SchedConfig) -> None:
        self.config = config
        self.tested = self.started = 0
        self.seen: dict[tuple[str, ...], int] = {}
        self.per_entity = bool(config.bf_max_job_user or config.bf_max_job_assoc
                               or config.bf_max_job_part)
        self.limited = bool(self.per_entity or config.bf_max_job_test
                            or config.bf_max_job_start)

    def done(self) -> bool:
        """Whether the cycle's backfill is over: Slurm stops at either total."""
        c = self.config
        return bool((c.bf_max_job_test and self.tested >= c.bf_max_job_test)
                    or (c.bf_max_job_start and self.started >= c.bf_max_job_start))

    def examine(self, job: PendingJob, parts: set[str]) -> bool:
        """Whether ``job`` may be examined; counts it if so."""
        if self.per_entity and not self._room_for(job, parts):
            return False
        self.tested += 1
        return True

    def _room_for(self, job: PendingJob, parts: set[str]) -> bool:
        """Whether the user, association and partitions of ``job`` are under their caps;
        counts the job against them if so."""
        c = self.config
        keys = [(cap, key) for cap, key in (
            (c.bf_max_job_user, ("user", job.user)),
            (c.bf_max_job_assoc, ("assoc", job.user, job.account)),
            *((c.bf_max_job_part, ("part", p)) for p in sorted(parts)))
            if cap]
        if any(self.seen.get(key, 0) >= cap for cap, key in keys):
            return False
        for _, key in keys:
            self.seen[key] = self.seen.get(key, 0) + 1
        return True


class _Batch:
    """Runs of one-node jobs handed to the compiled backfill loop
    (:func:`scheduler.core.kernels.family_batch`) at once, with the answers
    :func:`_examine` would give job by job: a job that starts now comes back to
    Python to be started (and counted by the ledger, after which the rest of the run
    is checked against the limits again); the kernel reserves the others' earliest
    starts. A job goes in a run when it has one option planned on one node, its shape
    is in the plan's store and, for a flexible request, its shape already found no
    spread start now (that stays so in the cycle)."""

    RUN = 128  # jobs per kernel call, at most

    def __init__(self, plan: _Plan, queue: Sequence[Queued], config: SchedConfig,
                 ledger: Ledger | None, out: Outcome, blocked: set[str]) -> None:
        self.plan, self.queue, self.config = plan, queue, config
        self.ledger, self.out, self.blocked = ledger, out, blocked
        n = self.RUN
        self.ints = np.zeros((7, n), dtype=np.int64)  # fam, which, span, cpus, mem, slot, c
        self.flags = np.zeros((3, n), dtype=np.bool_)  # whole, reserve, active
        self.table = plan.table

    def _entry(self, q: Queued) -> tuple[int, int, int, int, int, bool] | None:
        """The kernel's row for ``q`` (family, duration's position, slots, CPUs and memory
        held, whole node), or None if it cannot go in a run."""
        if len(q.options) != 1:
            return None
        shape = self.plan._shape(q.options[0])
        if shape.entry is not None:
            entry = shape.entry
        elif shape.fit.plannable and shape.fit.single and shape.singles is self.plan.singles:
            req = q.options[0].request
            cpus = shape.fit.tasks[0] * req.cpus_per_task
            entry = shape.entry = (shape.f, shape.which, shape.length, cpus,
                                   _mem_held(req, cpus), req.exclusive)
        else:
            return None
        return entry if q.options[0].request.uniform or shape.no_start_now else None

    def run(self, i: int) -> int:
        """Examine the run of one-node jobs starting at ``queue[i]``; returns the
        position after it (``i``: that job is not one)."""
        now, queue, ledger = self.plan.timeline.now, self.queue, self.ledger
        jobs: list[Queued] = []
        rows: list[tuple[int, int, int, int, int, bool]] = []
        k = i
        while k < len(queue) and len(jobs) < self.RUN:
            entry = self._entry(queue[k])
            if entry is None:
                break
            rows.append(entry)
            jobs.append(queue[k])
            k += 1
        if jobs:
            n = len(jobs)
            table = np.array(rows, dtype=np.int64).T
            self.ints[:5, :n] = table[:5]
            self.flags[0, :n] = table[5]
            self.flags[1, :n] = [_may_reserve(q, self.config, now) for q in jobs]
            self.flags[2, :n] = ([True] * n if ledger is None
                                 else [not _held(q, ledger, self.out) for q in jobs])
            self._record(jobs, self._search(jobs))
        return k

    def _search(self, jobs: list[Queued]) -> set[int]:
        """Run the kernel over ``jobs``, starting those that start now; their positions."""
        plan, table, tl = self.plan, self.table, self.plan.timeline
        started: set[int] = set()
        pos, n = 0, len(jobs)
        while pos < n:
            got = kernels.family_batch(pos, n, self.ints, self.flags, table.cpus, table.mem,
                                       table.gres, *plan.singles.store(), *tl.plan_arrays())
            if got == n:
                break
            if got < 0:  # a node's row needs room
                tl.grow()
                pos = -got - 1
                continue
            q = jobs[got]
            fit = plan._shape(q.options[0]).fit
            choice = [(int(fit.cols[self.ints[6, got]]), fit.tasks[0])]
            self.out.starts.append(plan.start(q.job, q.options[0], choice))
            started.add(got)
            if self.ledger is not None:
                self.ledger.started(q.job)
                for r in range(got + 1, n):  # a start may bring a limit to bear
                    if self.flags[2, r] and _held(jobs[r], self.ledger, self.out):
                        self.flags[2, r] = False
            pos = got + 1
        return started

    def _record(self, jobs: list[Queued], started: set[int]) -> None:
        """Reservations and reasons of the jobs that did not start, in queue order."""
        n, tl, store = len(jobs), self.plan.timeline, self.plan.singles.store()
        fam, slot, cand = self.ints[0, :n], self.ints[5, :n], self.ints[6, :n]
        found = (cand >= 0) & self.flags[2, :n]  # an inactive job's columns are stale
        node = (store.cols[np.where(found, store.cptr[fam] + cand, 0)] if store.cols.size
                else cand).tolist()  # no candidates anywhere: nothing found
        when = np.where(slot == 0, tl.now, tl.base + slot * tl.res).tolist()
        planned = (found & self.flags[1, :n]).tolist()
        active, names, out = self.flags[2, :n].tolist(), self.table.names, self.out
        for r, q in enumerate(jobs):
            if not active[r] or r in started:
                continue
            part = q.options[0].partition
            if planned[r]:
                out.planned[q.job.id] = Planned(when[r], (names[node[r]],))
            out.reasons[q.job.key] = types.PRIORITY if part in self.blocked \
                else types.RESOURCES
            self.blocked.add(part)


def _mem_held(req: Request, cpus: int) -> int:
    """The memory a node holds for ``cpus`` of a non-exclusive request, as
    :func:`scheduler.core.select.amounts` counts it; -1: the whole node's."""
    if req.mem_node == 0:
        return -1
    if req.mem_node is not None:
        return req.mem_node
    return cpus * req.mem_cpu if req.mem_cpu else 0


def _may_reserve(q: Queued, config: SchedConfig, now: int) -> bool:
    """``bf_min_prio_reserve`` and ``bf_min_age_reserve``: a job below either may start
    now where it fits, but holds no reservation (and so delays no later job)."""
    if config.bf_min_prio_reserve and q.priority < config.bf_min_prio_reserve:
        return False
    if not config.bf_min_age_reserve:
        return True
    runnable_since = q.job.eligible_time if q.job.eligible_time is not None \
        else q.job.submit_time
    return now - runnable_since >= config.bf_min_age_reserve


def _held(q: Queued, ledger: Ledger | None, out: Outcome) -> bool:
    """Whether a limit keeps ``q`` from starting now (its reason recorded)."""
    reason = ledger.held(q.job) if ledger is not None else None
    if reason is not None:
        out.reasons[q.job.key] = reason
    return reason is not None


def _main(q: Queued, plan: _Plan, out: Outcome, ledger: Ledger | None) -> bool:
    """Start ``q`` on what is free now, if it fits (the plan holds no reservation yet)."""
    for option in q.options:
        choice = plan.now(option)
        if choice is not None:
            out.starts.append(plan.start(q.job, option, choice))
            if ledger is not None:
                ledger.started(q.job)
            return True
    return False


def _backfill(q: Queued, plan: _Plan, out: Outcome, ledger: Ledger | None,
              reserve: bool = True) -> bool:
    """Start ``q`` now if that delays no reservation, else reserve its earliest start
    (with ``reserve``)."""
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
        if ledger is not None:
            ledger.started(q.job)
        return True
    if not reserve:
        return False
    nodes = plan.reserve(option, slot, choice)
    out.planned[q.job.id] = Planned(plan.timeline.time_of(slot), nodes)
    return False


class _Plan:
    def __init__(self, table: NodeTable, timeline: Timeline,
                 fits: dict[tuple[object, ...], Fit]) -> None:
        self.table = table
        self.fits = fits
        self.timeline = timeline
        #: By ``id(option)``: the filter hands out one Option per key, and a tuple key's
        #: hash is computed anew at every lookup.
        self.shapes: dict[int, _Shape] = {}
        #: Shapes that found no room, by candidate nodes (see _no_room_for).
        self.no_room: dict[bytes, list[_Shape]] = {}
        self.families: dict[tuple[object, ...], _Family] = {}
        self.singles = SingleNodeFamilies(timeline)

    def prepare(self, queue: Sequence[Queued]) -> None:
        """Make every shape of ``queue`` now, so each family knows all its durations
        before its first answer (a duration added later recomputes the family)."""
        for q in queue:
            for option in q.options:
                self._shape(option)

    def now(self, option: Option) -> list[tuple[int, int]] | None:
        """Nodes to start ``option`` on now, in the main pass (before any reservation:
        free resources only grow with time, so the present is what counts)."""
        tl, req, table = self.timeline, option.request, self.table
        shape = self.shapes.get(id(option))
        if shape is not None and shape.exhausted:
            return None
        if req.uniform:
            # Main-pass starts hold from now on, so "fits now" is "earliest start is
            # slot 0".
            found = self.earliest(option)
            return found[1] if found is not None and found[0] == 0 else None
        cols = option.cols
        view = tl.now_view(cols)
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
        free_now = self.timeline.cpus[option.cols, 0]
        if int(free_now.sum()) < req.ntasks * req.cpus_per_task:
            choice = None
        else:
            choice = self._spread_now(option, shape)
        if choice is None:
            shape.no_start_now = True
        return choice

    def _spread_now(self, option: Option, shape: _Shape) -> list[tuple[int, int]] | None:
        """What :func:`~scheduler.core.select.choose` picks for a spread request over the
        whole time limit, without looking at every node: one node holding it all is the
        single-node plan's start at slot 0; otherwise nodes are taken in preference
        order, so only a prefix of the candidates (in chunks) needs its capacity."""
        req, tl, table = option.request, self.timeline, self.table
        if shape.fit.single:
            found = shape.earliest()
            if found is not None and found[0] == 0:
                return [(found[1][0][0], req.ntasks)]
        cols = shape.fit.cols
        cols = cols[task_capacity(req, tl.now_view(cols), table.cpus[cols],
                                  table.mem[cols]) > 0]
        length = tl.span(option.duration_s)
        caps: list[I64] = []
        found_nodes, total, chunk = 0, 0, 64
        for lo in range(0, cols.size, chunk):
            part = cols[lo:lo + chunk]
            view = tl.window_min(0, length, part)
            cap = np.minimum(task_capacity(req, view, table.cpus[part], table.mem[part]),
                             req.ntasks)
            caps.append(np.where(cap > 0, cap, 0))
            found_nodes += int((cap > 0).sum())
            total += int(cap.sum())
            if total >= req.ntasks and found_nodes >= req.nodes_min:
                break
            chunk *= 2
        if not caps:
            return None
        cap = np.concatenate(caps)
        # No node holds the whole request (above), so choose() spreads; ranks: positions.
        picked = choose(req, cap, np.arange(cap.size, dtype=np.int64))
        return None if picked is None else [(int(cols[i]), t) for i, t in picked]

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
        tl, req, table = self.timeline, option.request, self.table
        length = tl.span(option.duration_s)
        if not req.gres and not req.exclusive:
            # The common case, without the arrays (same amounts as select.amounts).
            grants = []
            for i, tasks in sorted(choice):  # the batch host first, as to_grants
                cpus = tasks * req.cpus_per_task
                mem = _mem_held(req, cpus)
                if mem < 0:
                    mem = int(table.mem[i])
                tl.take_one(i, slot, length, cpus, mem, tl.no_gres)
                grants.append(types.NodeGrant(table.names[i], cpus, mem, {}, tasks))
            return tuple(grants)
        if option.request.gres:
            idx = np.fromiter((i for i, _ in choice), dtype=np.intp, count=len(choice))
            free_gres = tl.window_min(slot, length, idx).gres
        else:  # only read for gres requests
            free_gres = np.zeros((len(choice), len(self.table.gres_keys)), dtype=np.int64)
        granted, held = amounts(option.request, self.table, choice, free_gres)
        tl.take(held, slot, length)
        return to_grants(self.table, granted, choice)

    def earliest(self, option: Option) -> tuple[int, list[tuple[int, int]]] | None:
        """The first slot at which ``option`` fits for its whole duration, and its nodes."""
        shape = self._shape(option)
        full = shape.peers_without_room
        while shape.checked < len(full) and not shape.exhausted:
            if _no_room_for(full[shape.checked], shape):
                shape.exhausted = shape.no_room = True
            shape.checked += 1
        had_room = not shape.no_room
        found = shape.earliest()
        if had_room and shape.no_room:
            full.append(shape)
        return found

    def _shape(self, option: Option) -> _Shape:
        shape = self.shapes.get(id(option))
        if shape is None:
            fit = self.fits.get(option.key)
            if fit is None:
                fit = self.fits[option.key] = fit_of(self.table, option)
            shape = _Shape(self.table, self.timeline, option, self.families, self.singles,
                           fit)
            shape.peers_without_room = self.no_room.setdefault(fit.cols_key, [])
            self.shapes[id(option)] = shape
        return shape


@dataclass(frozen=True, slots=True)
class Fit:
    """An option's fit test, reduced to thresholds per candidate node (candidates in
    preference order). It depends only on the cluster's configuration, so a caller
    running many cycles may keep it (:class:`scheduler.core.cycle.Memo`).

    Per candidate: the free CPUs and memory needed, whether the node could ever
    hold one share (``ok``), and the most running jobs allowed (0: exclusive); the
    scalar form of :func:`scheduler.core.select.task_capacity` ``>= tasks_per_node``.
    ``gmask``/``gcount``: per gres request, its columns and the count they must sum to.
    """

    cols: I64
    plannable: bool  # False: a request that no candidate set can hold uniformly
    single: bool
    need: int  # nodes
    tasks: list[int]  # tasks per chosen node
    need_c: I64
    need_m: I64
    ok: Mask
    max_jobs: int
    gres: list[tuple[list[int], int]]
    gmask: Mask
    gcount: I64
    family: tuple[object, ...]  # equal for shapes that may share answers (_Family)
    cols_key: bytes  # ``cols`` as bytes (the plan groups shapes by it)
    #: Least and most of ``need_c`` and of ``need_m``: a quick "no" in _no_room_for.
    bounds: tuple[int, int, int, int] = (0, 0, 0, 0)


def fit_of(table: NodeTable, option: Option) -> Fit:
    """``option``'s fit test (see :class:`Fit`). A flexible (spread) request is planned
    as a uniform one (:func:`_as_uniform`)."""
    cols = option.cols
    cols = cols[np.argsort(table.rank[cols], kind="stable")].astype(np.int64)
    uniform = _as_uniform(table, option)
    plannable = uniform is not None and uniform.uniform
    req = uniform if uniform is not None and plannable else option.request
    single = req.uniform and req.node_count == 1
    need = req.node_count if req.uniform else 0
    tasks = uniform_tasks(req, need) if req.uniform else []
    c = cols.size
    low = -(1 << 60)
    if not plannable:
        empty = np.zeros(0, dtype=np.int64)
        return Fit(cols, False, single, need, tasks, empty, empty,
                   np.zeros(0, dtype=np.bool_), 0, [], np.zeros((0, 0), dtype=np.bool_),
                   empty, (), cols.tobytes())
    assert req.tasks_per_node is not None
    t, cpt = req.tasks_per_node, req.cpus_per_task
    cap_c, cap_m = table.cpus[cols], table.mem[cols]
    if req.exclusive:
        need_c = np.full(c, low, dtype=np.int64)
        ok = cap_c // cpt >= t
        max_jobs = 0
    else:
        need_c = np.full(c, t * cpt, dtype=np.int64)
        ok = np.ones(c, dtype=np.bool_)
        max_jobs = 1 << 62
    if req.mem_node == 0:
        need_m = cap_m.copy()
    elif req.mem_node is not None:
        need_m = np.full(c, req.mem_node, dtype=np.int64)
    elif req.mem_cpu and req.exclusive:
        need_m = cap_c * req.mem_cpu
    elif req.mem_cpu:
        need_m = np.full(c, t * cpt * req.mem_cpu, dtype=np.int64)
    else:
        need_m = np.full(c, low, dtype=np.int64)
    gres = [(list(gcols), count) for gcols, count in req.gres]
    gmask = np.zeros((len(gres), len(table.gres_keys)), dtype=np.bool_)
    gcount = np.zeros(len(gres), dtype=np.int64)
    for g, (gcols, count) in enumerate(gres):
        gmask[g, gcols] = True
        gcount[g] = count
        if not gcols:
            ok[:] = False
    ok = np.ascontiguousarray(ok)
    cols_key = cols.tobytes()
    family = (single, max_jobs == 0, cols_key, need_c.tobytes(), need_m.tobytes(),
              ok.tobytes(), gmask.shape, gmask.tobytes(), gcount.tobytes())
    bounds = ((int(need_c.min()), int(need_c.max()), int(need_m.min()), int(need_m.max()))
              if c else (0, 0, 0, 0))
    return Fit(cols, True, single, need, tasks, need_c, need_m, ok, max_jobs, gres,
               gmask, gcount, family, cols_key, bounds)


class _Shape:
    """Cached answers for one request shape (see the module docstring): its
    :class:`Fit`, its duration in slots and its place in a :class:`_Family`.

    A flexible (spread) request is planned as a uniform one; the main pass and the
    start-now test still place it flexibly.
    """

    # A cycle makes one per request shape of its queue (a simulated trace: one per job).
    __slots__ = ("tl", "fit", "length", "exhausted", "no_start_now", "entry", "no_room",
                 "peers_without_room", "checked", "singles", "f", "which", "family", "chosen")

    def __init__(self, table: NodeTable, timeline: Timeline, option: Option,
                 families: dict[tuple[object, ...], _Family] | None = None,
                 singles: SingleNodeFamilies | None = None, fit: Fit | None = None) -> None:
        """``families`` (multi-node) and ``singles`` (one-node): the plan's, to share
        answers with shapes that differ only in duration or node count (None: answers
        of its own); ``fit``: the option's fit test if already known (:func:`fit_of`)."""
        self.tl = timeline
        self.fit = fit = fit_of(table, option) if fit is None else fit
        self.length = timeline.span(option.duration_s)
        self.exhausted = not fit.plannable
        self.no_start_now = False  # a flexible request found no room now (stays so)
        #: Its row in a run of the compiled loop (_Batch), once made.
        self.entry: tuple[int, int, int, int, int, bool] | None = None
        self.no_room = False  # searched the whole window and found no start
        #: Shapes on the same candidates that found no room (the plan's list for them).
        self.peers_without_room: list[_Shape] = []
        self.checked = 0  # shapes without room on the same candidates compared so far
        if fit.plannable and fit.single:
            self.singles = SingleNodeFamilies(timeline) if singles is None else singles
            self.f = self.singles.family(fit)
            self.which = self.singles.index(self.f, self.length)  # position in the family
        elif fit.plannable:
            families = {} if families is None else families
            family = families.get(fit.family)
            if family is None:
                family = families[fit.family] = _Family(fit, timeline)
            self.family = family
            self.which = family.index(self.length)
            self.chosen: I64 = np.zeros(fit.need, dtype=np.int64)

    # ---- answers -----------------------------------------------------------------------

    def earliest(self) -> tuple[int, list[tuple[int, int]]] | None:
        if self.exhausted:
            return None
        found = self._single() if self.fit.single else self._multi()
        if found is None:
            # The plan only fills up: no start later in this cycle, for this shape or
            # any that needs at least as much (see _no_room_for).
            self.exhausted = self.no_room = True
        return found

    def _single(self) -> tuple[int, list[tuple[int, int]]] | None:
        """Earliest start on one node: the leftmost minimum of the candidates' earliest
        starts (see :mod:`scheduler.core.single_node`)."""
        fit = self.fit
        slot, c = self.singles.first(self.f, self.which)
        if c < 0:
            return None
        return slot, [(int(fit.cols[c]), fit.tasks[0])]

    def _multi(self) -> tuple[int, list[tuple[int, int]]] | None:
        """Earliest start on ``need`` nodes at once (see :class:`_Family`)."""
        fit = self.fit
        slot = self.family.first_many(self.which, fit.need, self.chosen)
        if slot >= self.tl.slots:
            return None
        return slot, [(int(fit.cols[r]), t)
                      for r, t in zip(self.chosen.tolist(), fit.tasks, strict=True)]


class _Family:
    """The answers of multi-node shapes that differ only in duration and node count:
    one scan of a node's change points serves every duration, and a node recomputed
    for one shape is fresh for all (see :mod:`scheduler.core.kernels`; one-node
    families live in :mod:`scheduler.core.single_node`).

    It keeps the good start ranges per duration, candidate and range, and a count of
    good nodes per slot (as differences). ``ver`` is each candidate's node version
    when last computed (-1: never).
    """

    def __init__(self, fit: Fit, timeline: Timeline) -> None:
        self.tl = timeline
        self.cols = fit.cols
        self.fit_args: tuple[I64, I64, I64, Mask, bool, Mask, I64] = (
            fit.cols, fit.need_c, fit.need_m, fit.ok, fit.max_jobs == 0, fit.gmask,
            fit.gcount)
        #: Each length -> its index in ``lengths`` (the array is made at the next fill).
        self.positions: dict[int, int] = {}
        self.lengths: I64 = np.zeros(0, dtype=np.int64)
        self.ver: I64 = np.full(self.cols.size, -1, dtype=np.int64)
        self.waits: I64 = np.zeros(self.cols.size, dtype=np.int64)  # see multi_query
        c, slots = self.cols.size, self.tl.slots
        self.lo: I64 = np.zeros((0, c, 4), dtype=np.int64)
        self.hi: I64 = np.zeros((0, c, 4), dtype=np.int64)
        self.nr: I64 = np.zeros((0, c), dtype=np.int64)
        self.diff: I64 = np.zeros((0, slots + 1), dtype=np.int64)
        self.filled = False

    def index(self, length: int) -> int:
        """The position of ``length`` in the family, adding it. Answers are computed at
        the next question, for every duration at once; a duration added after that
        recomputes the family (a new duration needs every candidate, and a stale
        candidate needs every duration), hence :meth:`_Plan.prepare`."""
        found = self.positions.get(length)
        if found is not None:
            return found
        self.positions[length] = len(self.positions)
        self.filled = False
        return len(self.positions) - 1

    def _fill(self) -> None:
        self.filled = True
        n = len(self.positions)
        self.lengths = np.fromiter(self.positions, dtype=np.int64, count=n)
        _, c, width = self.lo.shape
        self.lo = np.zeros((n, c, width), dtype=np.int64)
        self.hi = np.zeros((n, c, width), dtype=np.int64)
        self.nr = np.zeros((n, c), dtype=np.int64)
        self.diff = np.zeros((n, self.tl.slots + 1), dtype=np.int64)
        self.ver[:] = -1

    def _plan_args(self) -> tuple[int, I64, I64, I64, I64, Mask, bool, Mask, I64, I64, I64,
                                  I64, I64, I64, I64, I64, int]:
        return (self.lengths.size, self.lengths, *self.fit_args, *self.tl.plan_arrays())

    def first_many(self, which: int, need: int, chosen: I64) -> int:
        """The earliest start of ``need`` nodes for ``lengths[which]``, the candidates
        written to ``chosen`` (``slots``: none in the plan)."""
        if not self.filled:
            self._fill()
        while (slot := kernels.multi_query(self.lo, self.hi, self.nr, self.diff, self.ver,
                                           self.waits, which, need, chosen,
                                           *self._plan_args())) < 0:
            extra = -slot + 4 - self.lo.shape[2]  # a row has more ranges than fit
            pad = np.zeros((*self.lo.shape[:2], extra), dtype=np.int64)
            self.lo = np.concatenate([self.lo, pad], axis=2)
            self.hi = np.concatenate([self.hi, pad], axis=2)
        return slot


def _no_room_for(full: _Shape, shape: _Shape) -> bool:
    """Whether ``full`` finding no start means ``shape`` finds none either (early exit).

    True when both are planned on the same candidates and ``shape`` needs at least as
    much everywhere: as many nodes or more, for as long or longer, with no lower
    threshold of free CPUs, memory or gres on any node and no looser running-job
    limit; every node good for ``shape`` at some slot is then good for ``full``.
    """
    if not full.no_room or shape.exhausted or shape.length < full.length:
        return False
    a, b = full.fit, shape.fit
    if a.cols.size != b.cols.size or b.need < a.need or b.max_jobs > a.max_jobs:
        return False
    (ac_lo, ac_hi, am_lo, am_hi), (bc_lo, bc_hi, bm_lo, bm_hi) = a.bounds, b.bounds
    if bc_lo < ac_lo or bc_hi < ac_hi or bm_lo < am_lo or bm_hi < am_hi:
        return False  # somewhere b needs less than a
    for gcols, count in a.gres:
        if not any(g == gcols and c >= count for g, c in b.gres):
            return False
    return bool((b.need_c >= a.need_c).all() and (b.need_m >= a.need_m).all()
                and (a.ok | ~b.ok).all() and a.cols_key == b.cols_key)


def _as_uniform(table: NodeTable, option: Option) -> Request | None:
    """``option``'s request in uniform form for planning (None: it can never fit)."""
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
