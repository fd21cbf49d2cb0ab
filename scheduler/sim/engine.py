"""Event-driven replay of a workload through the scheduling core.

The cluster is ``nodes`` nodes of ``cpus_per_node`` CPUs; a trace job asking
for N processors is N one-CPU tasks placed anywhere (``ntasks=N``, no node
count), its requested time is its time limit, and it runs
``min(run, limit)`` seconds. Each partition (SWF queue) spans every node.

Event loop: the next event is the earliest of the next submit, the next job end
and (periodic backfill) the next backfill tick. At an event time every end and
every submit at that time is applied first (one batch per timestamp), then one
scheduling cycle runs: :func:`scheduler.core.cycle.run_cycle` on a snapshot of
the simulated cluster, whose starts are applied at once.

Which cycle, per ``policy`` (Slurm's split between the main scheduler, run on
every event, and the backfill scheduler, run every ``bf_interval``):

* ``fcfs``: the main pass only (``SchedConfig.backfill = False``): strict queue
  order, the first job that does not fit stops the pass;
* ``backfill`` (Slurm-style, every examined job holds a reservation) and
  ``easy`` (only the first blocked job holds one): the main pass at every event,
  plus the backfill cycle at every multiple of ``bf_interval_s`` seconds;
  ``bf_interval_s = 0`` runs the backfill cycle at every event instead.

Shortcuts (the same starts as calling the core every time; tests/sim compares
both ways). The two that skip a backfill cycle rest on "with no end and no
start, the plan does not change": exactly true with ``bf_resolution`` 1 s; with
coarser slots the core's rounding can differ from one tick to the next (a
``now`` on the slot grid covers a job in one slot fewer), so a skipped tick
might have started a job: on the first 2,000 Lublin jobs at 60 s, 28 starts
differ and the average wait moves by 0.1 %.

* no cycle when no pending job asks for at most the free CPUs (every start
  needs that many free CPUs now);
* a backfill tick is skipped when nothing changed since the last backfill cycle
  (no end, submit or start): running jobs end no later than their limits, so a
  cycle that started nothing would start nothing again;
* the core sees only the part of the queue that can matter: for the main pass
  the jobs up to the first one that cannot fit in what is free; for backfill the
  jobs up to the last one small enough to start now (a job's start depends only
  on the jobs ahead of it);
* a backfill cycle is skipped when the last one started nothing, nothing but
  submits came since (age priority: at the tail of the queue) and none of them
  fits in the free CPUs;
* a main-pass-only cycle gets no running jobs in its snapshot: it reads only
  what is free now (the node rows), so the core need not plan their releases.

With ``priority="age"`` the queue order is the submit order (what the core's
priority/basic, or an age-only multifactor, gives); with ``"multifactor"`` the
simulator asks :mod:`scheduler.core.priority` for the order, after filling in
each job's fairshare factor (:mod:`scheduler.sim.usage`).

``bf_max_job_test`` (Slurm's cap on the jobs one backfill cycle examines,
default 500 there) is applied here, before the core: the backfill cycle sees the
first N jobs in queue order; 0 (the default here, as DESIGN.md aims) means all.

EASY is not a core mode: it is built from the core by asking, for each job
behind the first blocked one, a two-job cycle (blocked head and candidate) on
the current cluster; the candidate starts when that cycle starts it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from scheduler.core import priority as core_priority
from scheduler.core.cycle import Memo, run_cycle
from scheduler.core.types import (
    NodeInfo,
    PartitionInfo,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
    Start,
)
from scheduler.sim.metrics import JobResult
from scheduler.sim.swf import SwfJob
from scheduler.sim.usage import Usage, account_of

POLICIES = ("fcfs", "easy", "backfill")
INF = 1 << 62


class SimError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class SimConfig:
    nodes: int
    cpus_per_node: int = 1
    policy: str = "backfill"
    bf_interval_s: int = 30  # 0: the backfill cycle at every event
    bf_max_job_test: int = 0  # jobs the backfill cycle examines, in queue order (0: all)
    #: age: queue order = submit order (priority/basic or age weight only);
    #: multifactor: the core's priority/multifactor with fairshare from the replay's usage
    priority: str = "age"
    sched: SchedConfig = field(default_factory=SchedConfig)
    node_mem_mb: int = 1024
    #: False: call the core at every event on the whole queue (to check the shortcuts)
    shortcuts: bool = True


@dataclass(slots=True)
class Stats:
    events: int = 0
    cycles_main: int = 0
    cycles_backfill: int = 0
    cycles_easy_probe: int = 0
    skipped: int = 0
    max_pending: int = 0


def partition_name(job: SwfJob) -> str:
    return f"q{job.queue}" if job.queue >= 0 else "batch"


class Simulator:
    def __init__(self, jobs: Sequence[SwfJob], config: SimConfig) -> None:
        if config.policy not in POLICIES:
            raise SimError(f"unknown policy {config.policy!r} (one of {', '.join(POLICIES)})")
        self.config = config
        self.total = config.nodes * config.cpus_per_node
        self.jobs = sorted((j for j in jobs if j.procs <= self.total),
                           key=lambda j: (j.submit, j.id))
        self.too_big = len(jobs) - len(self.jobs)
        self.by_id = {j.id: j for j in self.jobs}
        if len(self.by_id) != len(self.jobs):
            raise SimError("job ids repeat in the trace")
        width = len(str(config.nodes))
        self.names = [f"n{i:0{width}d}" for i in range(1, config.nodes + 1)]
        self.index = {n: i for i, n in enumerate(self.names)}
        parts = sorted({partition_name(j) for j in self.jobs}) or ["batch"]
        self.partitions = tuple(PartitionInfo(name=p) for p in parts)
        self.node_parts = frozenset(parts)
        self.alloc = [0] * config.nodes
        self.free = self.total
        self._node_cache: dict[tuple[int, int], NodeInfo] = {}
        self.pending: dict[int, PendingJob] = {}
        self.pending_procs: dict[int, int] = {}  # procs -> pending jobs asking that many
        self.running: dict[int, RunningJob] = {}
        self.ends: list[tuple[int, int]] = []
        self.results: list[JobResult] = []
        self.stats = Stats()
        self.usage: Usage | None = None
        if config.priority == "multifactor":
            self.usage = Usage(((j.group, j.user) for j in self.jobs), config.sched)
        self._fs_cache: dict[int, PendingJob] = {}
        self._fs_version = -1
        # One node is a pool of CPUs: say so, and the core takes its uniform (cheaper) path.
        self.nodes_max = 1 if config.nodes == 1 else None
        # Since the last backfill cycle: only submits (no end, no start), and the
        # smallest of them (see _cycle).
        self.only_arrivals, self.new_procs = False, INF
        self.main_config = replace(config.sched, backfill=False)
        self.bf_config = replace(config.sched, backfill=True)
        self.memo = Memo()  # the filter's answers, from one cycle to the next

    # ---- the loop ------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> list[JobResult]:
        cfg = self.config
        periodic = cfg.policy != "fcfs" and cfg.bf_interval_s > 0
        every_event = cfg.policy != "fcfs" and cfg.bf_interval_s <= 0
        jobs, ai, n = self.jobs, 0, len(self.jobs)
        dirty_since: int | None = None  # first change since the last backfill cycle
        while ai < n or self.ends or self.pending:
            t_sub = jobs[ai].submit if ai < n else INF
            t_end = self.ends[0][0] if self.ends else INF
            t_tick = INF
            if periodic and dirty_since is not None and self.pending:
                t_tick = -(-dirty_since // cfg.bf_interval_s) * cfg.bf_interval_s
            now = min(t_sub, t_end, t_tick)
            if now >= INF:
                raise SimError(f"{len(self.pending)} jobs can never start")
            self.stats.events += 1
            changed = False
            while self.ends and self.ends[0][0] <= now:
                self._end(heapq.heappop(self.ends)[1], now)
                changed, self.only_arrivals = True, False
            while ai < n and jobs[ai].submit <= now:
                self._submit(jobs[ai])
                self.new_procs = min(self.new_procs, jobs[ai].procs)
                ai += 1
                changed = True
            if changed and dirty_since is None:
                dirty_since = now
            full = every_event or (periodic and now == t_tick)
            started = self._cycle(now, full)
            if full:
                dirty_since = None
                self.only_arrivals, self.new_procs = True, INF
            if started:
                self.only_arrivals = False
                if dirty_since is None:
                    dirty_since = now + 1 if full else now
                if progress is not None:
                    progress(started)
        return self.results

    # ---- state changes -------------------------------------------------------------------

    def _submit(self, job: SwfJob) -> None:
        self.pending[job.id] = PendingJob(
            id=job.id, submit_time=job.submit, partitions=(partition_name(job),),
            user=str(job.user), groups=frozenset({str(job.group)}), ntasks=job.procs,
            cpus_per_task=1, nodes_min=1, nodes_max=self.nodes_max, time_limit_s=job.limit)
        self.pending_procs[job.procs] = self.pending_procs.get(job.procs, 0) + 1
        self.stats.max_pending = max(self.stats.max_pending, len(self.pending))

    def _start(self, s: Start, now: int) -> None:
        job = self.by_id[s.job_id]
        del self.pending[s.job_id]
        left = self.pending_procs[job.procs] - 1
        if left:
            self.pending_procs[job.procs] = left
        else:
            del self.pending_procs[job.procs]
        cpus = 0
        for g in s.grants:
            self.alloc[self.index[g.node]] += g.cpus
            cpus += g.cpus
        if cpus != job.procs:
            raise SimError(f"job {job.id} got {cpus} CPUs, asked for {job.procs}")
        self.free -= cpus
        self.running[job.id] = RunningJob(job.id, s.grants, s.end_time)
        heapq.heappush(self.ends, (now + job.run, job.id))
        self.results.append(JobResult(job.id, job.user, job.submit, now, job.run, job.procs))

    def _end(self, job_id: int, now: int) -> None:
        rj = self.running.pop(job_id)
        if self.usage is not None:
            job = self.by_id[job_id]
            self.usage.add(job.group, job.user, job.procs * job.run, now)
        for g in rj.grants:
            self.alloc[self.index[g.node]] -= g.cpus
            self.free += g.cpus

    # ---- one cycle -----------------------------------------------------------------------

    def _cycle(self, now: int, full: bool) -> int:
        """Run the cycle due at ``now``; the number of jobs started."""
        if not self.pending:
            return 0
        cut = self.config.shortcuts
        if cut and min(self.pending_procs) > self.free:
            self.stats.skipped += 1
            return 0
        if cut and not full and self.config.priority == "age":
            # The main pass reads the queue only up to its first blocked job.
            head = self._fitting_prefix(iter(self.pending.values()))
            return self._run(head, self.main_config, now) if head else self._skip()
        if full and cut and self.only_arrivals and self.new_procs > self.free \
                and self.config.priority == "age":
            # Only jobs at the queue's tail came since the last backfill cycle, which
            # started nothing, and none fits now: the same cycle again.
            return self._skip()
        queue = self._queue(now)
        if self.config.policy == "easy" and full:
            if self.config.bf_max_job_test > 0:
                queue = queue[:self.config.bf_max_job_test]
            return self._easy(queue, now)
        if full:
            if self.config.bf_max_job_test > 0:
                queue = queue[:self.config.bf_max_job_test]
            if cut:
                last = max((i for i, j in enumerate(queue) if j.ntasks <= self.free),
                           default=-1)
                queue = queue[:last + 1]
                if not queue:
                    self.stats.skipped += 1
                    return 0
            self.stats.cycles_backfill += 1
        else:
            if cut:
                queue = self._fitting_prefix(queue)
            return self._run(queue, self.main_config, now) if queue else self._skip()
        decision = run_cycle(self._snapshot(queue), self.bf_config, now, self.memo)
        for s in decision.starts:
            self._start(s, now)
        return len(decision.starts)

    def _fitting_prefix(self, queue: Iterable[PendingJob]) -> list[PendingJob]:
        """The jobs the main pass can reach: all that fit together, and the first that
        does not (empty when the head itself cannot fit)."""
        left, out = self.free, []
        for j in queue:
            out.append(j)
            if j.ntasks > left:
                return out if len(out) > 1 else []
            left -= j.ntasks
        return out

    def _skip(self) -> int:
        self.stats.skipped += 1
        return 0

    def _easy(self, queue: list[PendingJob], now: int) -> int:
        """EASY from the core: the main pass, then each later job against the head only."""
        started = self._run(self._fitting_prefix(queue), self.main_config, now)
        rest = [j for j in queue if j.id in self.pending]
        if not rest:
            return started
        head, others = rest[0], rest[1:]
        self.stats.cycles_backfill += 1
        for job in others:
            if job.ntasks > self.free:
                continue
            self.stats.cycles_easy_probe += 1
            decision = run_cycle(self._snapshot([head, job]), self.bf_config, now,
                                 self.memo)
            for s in decision.starts:
                if s.job_id == job.id:
                    self._start(s, now)
                    started += 1
        return started

    def _run(self, queue: list[PendingJob], config: SchedConfig, now: int) -> int:
        """The main pass alone over ``queue``. It reads only what is free now (the node
        rows), never the running jobs' ends, so the snapshot leaves them out: the core
        then builds no release plan for them."""
        if not queue:
            return 0
        self.stats.cycles_main += 1
        decision = run_cycle(self._snapshot(queue, self.config.shortcuts), config, now,
                             self.memo)
        for s in decision.starts:
            self._start(s, now)
        return len(decision.starts)

    def _queue(self, now: int) -> list[PendingJob]:
        """Pending jobs in the core's queue order."""
        jobs = list(self.pending.values())  # submit order: arrivals come sorted
        if self.config.priority == "age":
            # Age-only priority decreases with submit time; ties go to submit, then id.
            return jobs
        if self.usage is not None:
            jobs = self._with_fairshare(jobs, now)
        parts = {p.name: p for p in self.partitions}
        factors = core_priority.compute(jobs, parts, self.config.sched, now,
                                        self._snapshot(()).nodes)
        order = core_priority.queue_order(jobs, factors.priority, parts)
        return [jobs[int(i)] for i in order]

    def _with_fairshare(self, jobs: list[PendingJob], now: int) -> list[PendingJob]:
        """``jobs`` carrying their account and fairshare factor (cached until usage changes)."""
        assert self.usage is not None
        factors = self.usage.factors(now)
        if self._fs_version != self.usage.version:
            self._fs_cache.clear()
            self._fs_version = self.usage.version
        out = []
        for j in jobs:
            done = self._fs_cache.get(j.id)
            if done is None:
                group = self.by_id[j.id].group
                account = account_of(group)
                done = self._fs_cache[j.id] = replace(
                    j, account=account, fairshare=factors.get((account, j.user), 0.0))
            out.append(done)
        return out

    def _snapshot(self, queue: Sequence[PendingJob], main_only: bool = False) -> Snapshot:
        cache, cpus, mem = self._node_cache, self.config.cpus_per_node, self.config.node_mem_mb
        nodes = []
        for i, used in enumerate(self.alloc):
            info = cache.get((i, used))
            if info is None:
                info = cache[(i, used)] = NodeInfo(
                    name=self.names[i], cpus=cpus, mem_mb=mem, partitions=self.node_parts,
                    alloc_cpus=used, alloc_jobs=1 if used else 0)
            nodes.append(info)
        running = () if main_only else tuple(self.running.values())
        return Snapshot(tuple(nodes), self.partitions, running, tuple(queue))
