"""One scheduling cycle: load a snapshot, let the core decide, commit it in one transaction.

One leader at a time: on PostgreSQL a transaction-level advisory lock (any
worker may run the cycle; a second one at the same moment returns at once), in
embedded mode (SQLite, one process) a module lock. The commit re-reads and
locks the rows it changes, in primary-key order (jobs, then nodes), and skips a
start whose job or node changed since the snapshot (cancelled, held, node
down); the next cycle sees the new state. After commit: a doorbell for every
node with a new order, and one broadcast of the changed jobs and nodes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from scheduler import config as conf
from scheduler import cycle_features as features
from scheduler import events, kick, passes, reservations_load, snapshot, stats
from scheduler.actions.jobs import split_array_task
from scheduler.bulk import update_rows
from scheduler.core import reservations
from scheduler.core import types as core
from scheduler.core.cycle import Memo, run_cycle
from scheduler.ids import allocate_job_ids
from scheduler.launch import launch_payload, working_cluster
from scheduler.models import AgentOrder, Job, JobState, Node
from scheduler.records import compress_hosts
from scheduler.validation import expand_ids, node_gres

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x44524F56  # "DROV"
_local_lock = threading.Lock()


@dataclass(slots=True)
class CycleResult:
    ran: bool
    started: list[int] = field(default_factory=list)
    updated: int = 0  # pending rows whose reason, priority or plan changed
    pending: int = 0
    seconds: float = 0.0
    decide_seconds: float = 0.0
    planned: bool = False  # the backfill pass ran (the pending rows' expected starts)


@contextmanager
def leader(wait_s: float = 0.0) -> Iterator[bool]:
    """True inside when this process runs the cycle; opens the cycle's transaction.

    With ``wait_s``, a cycle under way elsewhere is waited for (at most that long).
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            yield _advisory_lock(wait_s)
        return
    if not _local_lock.acquire(timeout=wait_s if wait_s > 0 else -1, blocking=wait_s > 0):
        yield False
        return
    try:
        with transaction.atomic():
            yield True
    finally:
        _local_lock.release()


def _advisory_lock(wait_s: float) -> bool:
    """Take the cycle's transaction-level advisory lock, waiting in the server (no polling)
    at most ``wait_s`` for the cycle that holds it."""
    with connection.cursor() as cur:
        if wait_s <= 0:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_KEY])
            return bool(cur.fetchone()[0])
        cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(wait_s * 1000)}ms"])
        try:
            with transaction.atomic():  # a timeout aborts this savepoint, not the cycle's
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_KEY])
            got = True
        except OperationalError:  # lock_not_available: the lock was held for wait_s
            got = False
        cur.execute("SET LOCAL lock_timeout TO DEFAULT")
        return got


#: The filter's answers and fit tests from one cycle to the next (one cycle runs at a
#: time: the leader lock); dropped whenever the nodes or partitions change.
_MEMO = Memo()


#: Requests (scheduler/kick.py) the last cycle of this process saw.
_seen_requests = -1


def run_cycle_once(now: datetime | None = None, wait_s: float = 0.0,
                   requested: bool = False) -> CycleResult:
    """Run one scheduling cycle; ``ran`` is False when another cycle held the lock (for
    longer than ``wait_s``). ``seconds`` counts from the lock taken.

    ``requested``: the cycle answers requests (not the clock), so it is skipped when the
    last cycle of this process saw every request made so far. What a cycle saw: every
    request counted before it began reading (its commit came first); with SQLite, where
    writers take turns, every request counted before it finished, as each of those
    committed before the cycle took the lock. What its own commit asks for counts later.
    """
    global _seen_requests
    with leader(wait_s) as got:
        if not got:
            return CycleResult(ran=False)
        began = time.perf_counter()
        kick.clear_pending()  # what is asked from now on, this cycle may not see: ask again
        asked = kick.requests_so_far()
        if requested and asked is not None and asked <= _seen_requests:
            return CycleResult(ran=True)
        now = now or timezone.now()
        with conf.cached():  # the parameters, read once (a dozen reads otherwise)
            loaded = snapshot.load(now)
            t0 = time.perf_counter()
            decision, planned = _decide(loaded, int(now.timestamp()))
            decision = reservations.explain(decision, loaded.restricted)
            decided = time.perf_counter() - t0
            result = _commit(loaded, decision, now, planned)
        seen = kick.requests_so_far() if connection.vendor == "sqlite" else asked
    _seen_requests = -1 if seen is None else seen  # committed
    result.seconds = time.perf_counter() - began
    result.decide_seconds = decided
    result.planned = planned
    _record_stats(loaded, decision, result)
    return result


def _decide(loaded: snapshot.Loaded, now: int) -> tuple[core.Decision, bool]:
    """The core's decision, and whether it ran the backfill pass (scheduler/passes.py:
    the main pass alone unless the backfill is due or could start a job now)."""
    due = passes.backfill_due(loaded.config)
    decision = run_cycle(loaded.snapshot, loaded.config, now, _MEMO,
                         None if due else partial(passes.room_left, loaded.snapshot))
    if decision.backfill:
        passes.backfilled()
    return decision, decision.backfill


def _record_stats(loaded: snapshot.Loaded, decision: core.Decision, result: CycleResult) -> None:
    pending = loaded.snapshot.pending
    stats.record(stats.Cycle(
        seconds=result.seconds, depth=len(pending), depth_try=sum(j.eligible for j in pending),
        queue=len(loaded.rows), planned=len(decision.planned),
        backfilled=decision.backfilled, backfill=result.planned))


def plan_start(job: Job) -> tuple[datetime, list[str]] | None:
    """Expected start and nodes of an unsaved job (``sbatch --test-only``), or None."""
    now = timezone.now()
    loaded = snapshot.load(now)
    probe = snapshot._pending(_job_row(job), int(now.timestamp()), (0, 0))
    probe = replace(probe, id=-1, submit_time=int(now.timestamp()) + 10**9)
    snap = loaded.snapshot
    probe = reservations_load.restrict_one(snap, probe, job, now)
    snap = core.Snapshot(snap.nodes, snap.partitions, snap.running, (*snap.pending, probe))
    decision = run_cycle(snap, loaded.config, int(now.timestamp()))
    for s in decision.starts:
        if s.job_id == -1:
            return now, [g.node for g in s.grants]
    planned = decision.planned.get(-1)
    if planned is None:
        return None
    return datetime.fromtimestamp(planned.start_time, tz=UTC), list(planned.nodes)


def _job_row(job: Job) -> dict[str, Any]:
    return {f: getattr(job, f) for f in snapshot.PENDING_FIELDS}


# ---- commit ---------------------------------------------------------------------------------


def _commit(loaded: snapshot.Loaded, decision: core.Decision, now: datetime,
            planned: bool) -> CycleResult:
    result = CycleResult(ran=True, pending=len(loaded.rows))
    started, woken, nodes_touched, metas = _apply_starts(decision, now)
    result.started = started
    changed, shown = _write_pending(loaded, decision, now, set(started), metas, planned)
    result.updated = len(changed)
    features.after_cycle(loaded, decision, now)
    for name in sorted(woken):
        events.wake_agent(name)
    events.broadcast_jobs([*started, *shown])
    events.broadcast_nodes(nodes_touched)
    return result


def _apply_starts(decision: core.Decision, now: datetime
                  ) -> tuple[list[int], set[str], list[str], dict[int, int]]:
    """Start the decided jobs; (started ids, nodes to wake, nodes touched, task id -> meta id)."""
    if not decision.starts:
        return [], set(), [], {}
    job_ids = sorted({s.job_id for s in decision.starts})
    jobs = {j.pk: j for j in Job.objects.select_for_update().filter(pk__in=job_ids)
            .order_by("pk")}
    node_names = sorted({g.node for s in decision.starts for g in s.grants})
    nodes = {n.name: n for n in Node.objects.select_for_update().filter(name__in=node_names)
             .order_by("pk")}
    new_ids = iter(allocate_job_ids(_ids_needed(decision, jobs)))
    cluster = conf.get("ClusterName") or "drover"
    kill_wait = conf.get_int("KillWait")
    def_mem_cpu = conf.get_int("DefMemPerCPU")
    working = working_cluster(conf.settings_map())
    gpu_used: dict[str, set[int]] = {}
    started: list[int] = []
    metas: dict[int, int] = {}
    woken: set[str] = set()
    array_tasks: dict[int, list[int]] = {}
    for start in decision.starts:
        row = jobs.get(start.job_id)
        if row is None or not _still_startable(row, start, nodes):
            continue
        if start.array_task_id is not None:
            tasks = array_tasks.get(row.pk)
            if tasks is None:
                tasks = _array_tasks(row)
                array_tasks[row.pk] = tasks
            row = split_array_task(row, start.array_task_id, new_ids)
            metas[row.pk] = start.job_id
        _allocate(row, start, nodes, gpu_used, now)
        started.append(row.pk)
        if not row.batch:  # an allocation: salloc polls for it; no agent runs anything
            continue
        host = nodes[row.batch_host]
        payload = launch_payload(row, cluster=cluster, kill_wait_s=kill_wait,
                                 array_tasks=array_tasks.get(start.job_id, ()),
                                 default_mem_per_cpu=def_mem_cpu, working=working)
        AgentOrder.objects.create(node=host, kind="launch", job=row, payload=payload)
        woken.add(host.name)
    for node in nodes.values():
        _node_state(node, now)
        node.save(update_fields=["alloc_cpus", "alloc_memory_mb", "alloc_gres", "state",
                                 "last_busy"])
    return started, woken, node_names, metas


def _ids_needed(decision: core.Decision, jobs: dict[int, Job]) -> int:
    """New rows for array tasks split off their meta row (the last task keeps the meta id)."""
    per_meta: dict[int, int] = defaultdict(int)
    for s in decision.starts:
        if s.array_task_id is not None:
            per_meta[s.job_id] += 1
    need = 0
    for meta_id, n in per_meta.items():
        row = jobs.get(meta_id)
        left = len(expand_ids(row.array_pending)) if row is not None else 0
        need += n - 1 if n >= left else n
    return max(need, 0)


def _still_startable(row: Job, start: core.Start, nodes: dict[str, Node]) -> bool:
    if row.state != JobState.PENDING or row.hold:
        return False
    if start.array_task_id is not None and start.array_task_id not in expand_ids(
            row.array_pending):
        return False
    for g in start.grants:
        node = nodes.get(g.node)
        if node is None or node.drain or node.state not in snapshot.USABLE_NODE_STATES:
            return False
        if node.alloc_cpus + g.cpus > node.cpus:
            return False
    return True


def _array_tasks(meta: Job) -> list[int]:
    """Every task id of ``meta``'s array: the split rows' and the pending rest."""
    ids = set(Job.objects.filter(array_job_id=meta.array_job_id or meta.pk,
                                 array_task_id__isnull=False)
              .values_list("array_task_id", flat=True))
    return sorted(ids | set(expand_ids(meta.array_pending)))


def _gpu_indices(node: Node) -> dict[str, list[int]]:
    """Device indices per gres key, numbered across the node's GPUs in Gres= order."""
    out: dict[str, list[int]] = {}
    nxt = 0
    for (name, typ), count in node_gres(node.gres).items():
        if name != "gpu":
            continue
        key = f"{name}:{typ}" if typ else name
        out[key] = list(range(nxt, nxt + count))
        nxt += count
    return out


def _allocate(row: Job, start: core.Start, nodes: dict[str, Node],
              gpu_used: dict[str, set[int]], now: datetime) -> None:
    alloc: dict[str, dict[str, Any]] = {}
    for g in start.grants:
        node = nodes[g.node]
        used = gpu_used.setdefault(node.name, {
            int(i) for v in (node.alloc_gres or {}).values() for i in v})
        entry: dict[str, Any] = {"cpus": g.cpus, "mem_mb": g.mem_mb, "ntasks": g.ntasks}
        per_key = _gpu_indices(node)
        gpus: list[int] = []
        keys = []
        for key, count in sorted(g.gres.items()):
            free = [i for i in per_key.get(key, []) if i not in used][:count]
            gpus += free
            used.update(free)
            if free:
                keys.append(key)
                node.alloc_gres = {**(node.alloc_gres or {}),
                                   key: sorted({*(node.alloc_gres or {}).get(key, []), *free})}
        if gpus:
            entry["gpus"] = sorted(gpus)
            entry["gres_key"] = keys[0]
        alloc[g.node] = entry
        node.alloc_cpus += g.cpus
        node.alloc_memory_mb += g.mem_mb
    row.alloc = alloc
    row.batch_host = start.grants[0].node
    row.nodes = compress_hosts(sorted(alloc))
    row.state = JobState.RUNNING
    row.partition = start.partition
    row.start_time = now
    row.reason = "None"
    row.sched_start_time = None
    row.sched_nodes = ""
    if row.eligible_time is None:
        row.eligible_time = now
    row.save(update_fields=["alloc", "batch_host", "nodes", "state", "partition", "start_time",
                            "reason", "sched_start_time", "sched_nodes", "eligible_time"])


def _node_state(node: Node, now: datetime) -> None:
    if node.state in snapshot.USABLE_NODE_STATES:
        node.state = ("IDLE" if node.alloc_cpus == 0 else
                      "ALLOCATED" if node.alloc_cpus >= node.cpus else "MIXED")
    if node.alloc_cpus:
        node.last_busy = now


def _write_pending(loaded: snapshot.Loaded, decision: core.Decision, now: datetime,
                   started: set[int], started_meta: dict[int, int], planned: bool
                   ) -> tuple[list[int], list[int]]:
    """Write reasons, priorities and planned starts of rows that changed (the planned
    starts only when the backfill pass ran: ``planned``). Returns their ids, and those
    of the rows where more than the plan changed: the ones to announce (no page shows a
    planned start, which moves for most of the queue whenever a job ends before its
    limit; squeue --start reads it from the row)."""
    changed: list[Job] = []
    shown: set[int] = set()
    now_running = dict(loaded.array_running)
    for jid in started:
        meta = started_meta.get(jid)
        if meta is not None:
            now_running[meta] = now_running.get(meta, 0) + 1
    for jid, old in loaded.rows.items():
        reason = decision.reasons.get(jid, loaded.reasons.get(jid, "None"))
        limit = loaded.array_limits.get(jid)
        if limit and now_running.get(jid, 0) >= limit:
            reason = "JobArrayTaskLimit"
        prio = 0 if reason in ("JobHeldUser", "JobHeldAdmin") else \
            decision.priorities.get(jid, old.priority)
        if planned:
            plan = decision.planned.get(jid)
            sched_time = datetime.fromtimestamp(plan.start_time, tz=UTC) if plan else None
            sched_nodes = compress_hosts(plan.nodes) if plan else ""
        else:
            sched_time, sched_nodes = old.sched_start_time, old.sched_nodes
        eligible = old.eligible_time
        if eligible is None and jid not in loaded.reasons:
            eligible = now
        if (reason, prio, sched_time, sched_nodes, eligible) == (
                old.reason, old.priority, old.sched_start_time, old.sched_nodes,
                old.eligible_time):
            continue
        changed.append(_PendingWrite(jid, reason, prio, sched_time, sched_nodes, eligible))
        if (reason, prio, eligible) != (old.reason, old.priority, old.eligible_time):
            shown.add(jid)
    if changed:  # only rows still pending: one may have started, or been cancelled meanwhile
        still = set(Job.objects.filter(pk__in=[j.pk for j in changed], state=JobState.PENDING)
                    .values_list("pk", flat=True))
        changed = [j for j in changed if j.pk in still]
    update_rows(Job, changed, ["reason", "priority", "sched_start_time", "sched_nodes",
                               "eligible_time"])
    return [j.pk for j in changed], [j.pk for j in changed if j.pk in shown]


@dataclass(slots=True)
class _PendingWrite:
    """The columns of a pending row that a cycle writes (for ``update_rows``: a Job
    instance would cost more to build than the write itself)."""

    pk: int
    reason: str
    priority: int
    sched_start_time: datetime | None
    sched_nodes: str
    eligible_time: datetime | None
