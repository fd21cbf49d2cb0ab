"""Preemption: which running jobs make room for a pending job that cannot start.

Runs after the cycle's decision. For each pending job in queue order that did
not start, is eligible, waits only for resources (``Resources`` or
``Priority``), and may preempt (``PreemptType=preempt/qos``: its QOS lists the
running job's QOS in ``Preempt=``; ``preempt/partition_prio``: the running
job's partition has a lower PriorityTier):

1. If the job would fit once the jobs already being preempted (or killed) are
   gone, nothing more is done: it starts when they have ended.
2. Otherwise candidates are taken lowest priority first (ties: the most
   recently started, then the highest id, as Slurm prefers to lose the least
   work), one at a time, until the job fits; then every chosen job whose
   release turns out not to be needed is put back (latest chosen first).
3. The victims are removed, and the job is counted as running on the nodes it
   would get, so a second preemptor in the same cycle does not count the same
   room twice.

"Fits" is asked of :func:`scheduler.core.cycle.run_cycle` itself on a snapshot
with only that job pending, so preemption agrees with the scheduler on every
rule (partitions, features, exclusivity, gres). Each victim carries its mode,
``REQUEUE`` or ``CANCEL`` (a job that may not be requeued is cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from scheduler.core import types
from scheduler.core.cycle import run_cycle
from scheduler.core.types import Decision, NodeInfo, RunningJob, SchedConfig, Snapshot

REQUEUE, CANCEL, OFF = "REQUEUE", "CANCEL", "OFF"
#: Pending jobs tried per cycle (each try runs the core a few times; the rest wait a cycle).
MAX_TRIES = 32
#: Reasons of jobs that wait only for room.
_WAITING_FOR_ROOM = frozenset({types.RESOURCES, types.PRIORITY})


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A running job as preemption sees it."""

    id: int
    qos: str
    priority: int
    start_time: int
    partition_tier: int = 1
    requeue: bool = True
    mode: str = REQUEUE  # the job's QOS PreemptMode (resolved against the cluster's)
    terminating: bool = False  # already being killed or preempted


@dataclass(frozen=True, slots=True)
class Rules:
    """``PreemptType`` and the QOS ``Preempt=`` lists."""

    type: str = "preempt/none"  # preempt/none, preempt/qos, preempt/partition_prio
    can_preempt: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, job_qos: str, job_tier: int, victim: RunInfo) -> bool:
        if victim.terminating or victim.mode == OFF:
            return False
        if self.type == "preempt/qos":
            return victim.qos in self.can_preempt.get(job_qos, frozenset())
        if self.type == "preempt/partition_prio":
            return victim.partition_tier < job_tier
        return False


@dataclass(frozen=True, slots=True)
class Preemption:
    victim: int
    mode: str  # REQUEUE or CANCEL
    for_job: int


@dataclass(frozen=True, slots=True)
class Waiting:
    """A pending job that may preempt: its QOS and partition tier."""

    qos: str
    tier: int = 1


def choose(snapshot: Snapshot, decision: Decision, config: SchedConfig, now: int,
           rules: Rules, running: Mapping[int, RunInfo],
           waiting: Mapping[int, Waiting], max_tries: int = MAX_TRIES) -> list[Preemption]:
    """The running jobs to preempt now, and for whom (see the module docstring).

    At most ``max_tries`` pending jobs are considered, highest priority first.
    """
    if rules.type == "preempt/none" or not waiting:
        return []
    started = {s.job_id for s in decision.starts}
    gone = {r.id for r in snapshot.running if r.id in running and running[r.id].terminating}
    base = _without(snapshot, gone)
    out: list[Preemption] = []
    order = sorted(decision.priorities, key=lambda j: (-decision.priorities[j], j))
    pending = {j.id: j for j in snapshot.pending if j.eligible}
    for jid in order:
        who = waiting.get(jid)
        job = pending.get(jid)
        if who is None or job is None or jid in started:
            continue
        if decision.reasons.get(jid) not in _WAITING_FOR_ROOM:
            continue
        max_tries -= 1
        if max_tries < 0:
            break
        probe = _probe(base, job, config, now)
        if probe is not None:
            base = _with_running(base, probe)  # room is coming: keep it for this job
            continue
        victims = _victims(base, job, config, now, rules, running, who)
        if victims is None:
            continue
        base = _without(base, set(victims))
        probe = _probe(base, job, config, now)
        if probe is not None:
            base = _with_running(base, probe)
        for v in victims:
            info = running[v]
            mode = REQUEUE if info.mode == REQUEUE and info.requeue else CANCEL
            out.append(Preemption(v, mode, jid))
    return out


def _victims(base: Snapshot, job: types.PendingJob, config: SchedConfig, now: int,
             rules: Rules, running: Mapping[int, RunInfo], who: Waiting) -> list[int] | None:
    cands = [running[r.id] for r in base.running
             if r.id in running and rules.allows(who.qos, who.tier, running[r.id])]
    cands.sort(key=lambda r: (r.priority, -r.start_time, -r.id))
    chosen: list[int] = []
    for c in cands:
        chosen.append(c.id)
        if _probe(_without(base, set(chosen)), job, config, now) is not None:
            break
    else:
        return None
    for v in reversed(chosen[:-1]):
        trial = [c for c in chosen if c != v]
        if _probe(_without(base, set(trial)), job, config, now) is not None:
            chosen = trial
    return chosen


def _probe(snap: Snapshot, job: types.PendingJob, config: SchedConfig,
           now: int) -> types.Start | None:
    """The job's start if it were alone in the queue on ``snap``, else None."""
    alone = Snapshot(snap.nodes, snap.partitions, snap.running, (job,))
    decision = run_cycle(alone, config, now)
    return next((s for s in decision.starts if s.job_id == job.id), None)


def _without(snap: Snapshot, ids: set[int]) -> Snapshot:
    """``snap`` as if the running jobs ``ids`` had ended (their allocations freed)."""
    if not ids:
        return snap
    freed = [r for r in snap.running if r.id in ids]
    nodes = tuple(_release(n, freed) for n in snap.nodes)
    keep = tuple(r for r in snap.running if r.id not in ids)
    return Snapshot(nodes, snap.partitions, keep, snap.pending)


def _release(node: NodeInfo, jobs: list[RunningJob]) -> NodeInfo:
    grants = [g for j in jobs for g in j.grants if g.node == node.name]
    if not grants:
        return node
    gres = dict(node.alloc_gres)
    for g in grants:
        for k, v in g.gres.items():
            gres[k] = max(0, gres.get(k, 0) - v)
    return replace(node, alloc_cpus=max(0, node.alloc_cpus - sum(g.cpus for g in grants)),
                   alloc_mem_mb=max(0, node.alloc_mem_mb - sum(g.mem_mb for g in grants)),
                   alloc_gres=gres, alloc_jobs=max(0, node.alloc_jobs - len(grants)))


def _with_running(snap: Snapshot, start: types.Start) -> Snapshot:
    """``snap`` with ``start`` counted as a running job."""
    by_node = {g.node: g for g in start.grants}
    nodes = []
    for n in snap.nodes:
        g = by_node.get(n.name)
        if g is None:
            nodes.append(n)
            continue
        gres = dict(n.alloc_gres)
        for k, v in g.gres.items():
            gres[k] = gres.get(k, 0) + v
        nodes.append(replace(n, alloc_cpus=n.alloc_cpus + g.cpus,
                             alloc_mem_mb=n.alloc_mem_mb + g.mem_mb, alloc_gres=gres,
                             alloc_jobs=n.alloc_jobs + 1))
    run = RunningJob(-start.job_id, start.grants, start.end_time)
    return Snapshot(tuple(nodes), snap.partitions, (*snap.running, run), snap.pending)
