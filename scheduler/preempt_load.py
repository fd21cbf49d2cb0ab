"""Preemption glue: ORM -> :mod:`scheduler.core.preempt` inputs, and the orders it leads to.

``PreemptType`` (``preempt/none`` by default, ``preempt/qos``,
``preempt/partition_prio``) and ``PreemptMode`` (the cluster's: ``OFF``,
``CANCEL``, ``REQUEUE``) come from the settings; a QOS's own ``PreemptMode``
wins unless it is ``cluster``. A preempted job gets a ``terminate`` order with
reason ``requeue`` (it comes back PENDING, its restart count raised, not
eligible before 121 s, as in Slurm) or
``cancel``; for the latter its reason is set to ``Preempted`` while it stops, so
that its end is recorded as PREEMPTED rather than CANCELLED. An allocation (salloc's:
nothing runs on an agent) ends PREEMPTED at once in either mode.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from accounting.models import Qos
from scheduler import config as conf
from scheduler import events
from scheduler.actions.allocations import end_preempted_allocation
from scheduler.core import preempt as core
from scheduler.core import types
from scheduler.models import AgentOrder, Job, JobState, Node, Partition

log = logging.getLogger(__name__)
PREEMPTED_REASON = "Preempted"
REQUEUE_DELAY_S = 121
_HOLDING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)


def _mode(text: str) -> str:
    first = (text or "").split(",")[0].strip().upper()
    return {"REQUEUE": core.REQUEUE, "CANCEL": core.CANCEL}.get(first, core.OFF)


def rules() -> tuple[core.Rules, dict[str, str]]:
    """The preemption rules and every QOS's resolved PreemptMode."""
    ptype = (conf.get("PreemptType") or "preempt/none").strip().lower()
    cluster_mode = _mode(conf.get("PreemptMode") or "OFF")
    if ptype == "preempt/none":
        return core.Rules(), {}
    can: dict[str, frozenset[str]] = {}
    modes: dict[str, str] = {}
    for q in Qos.objects.prefetch_related("preempt"):
        can[q.name] = frozenset(p.name for p in q.preempt.all())
        own = (q.preempt_mode or "cluster").lower()
        modes[q.name] = cluster_mode if own == "cluster" else _mode(own)
    if cluster_mode == core.OFF and ptype == "preempt/partition_prio":
        return core.Rules(), {}
    return core.Rules(type=ptype, can_preempt=can), modes


def decide(snapshot: types.Snapshot, decision: types.Decision, config: types.SchedConfig,
           now: datetime) -> list[core.Preemption]:
    """The preemptions this cycle calls for (queries: settings, QOS, running jobs, pending)."""
    rule, modes = rules()
    if rule.type == "preempt/none":
        return []
    if rule.type == "preempt/qos" and not any(rule.can_preempt.values()):
        return []
    tiers = dict(Partition.objects.values_list("name", "priority_tier"))
    cluster_mode = _mode(conf.get("PreemptMode") or "OFF")
    running: dict[int, core.RunInfo] = {}
    for r in Job.objects.filter(state__in=_HOLDING).values(
            "id", "qos", "priority", "start_time", "partition", "requeue", "kill_requested"):
        running[r["id"]] = core.RunInfo(
            id=r["id"], qos=r["qos"], priority=r["priority"],
            start_time=int(r["start_time"].timestamp()) if r["start_time"] else 0,
            partition_tier=tiers.get(r["partition"], 1), requeue=bool(r["requeue"]),
            mode=modes.get(r["qos"], cluster_mode), terminating=bool(r["kill_requested"]))
    waiting: dict[int, core.Waiting] = {}
    wanted = {j.id for j in snapshot.pending if j.eligible}
    for jid, qos, part in Job.objects.filter(pk__in=wanted).values_list("id", "qos", "partition"):
        tier = max((tiers.get(p.strip(), 1) for p in part.split(",") if p.strip()), default=1)
        if rule.type == "preempt/qos" and not rule.can_preempt.get(qos):
            continue
        waiting[jid] = core.Waiting(qos=qos, tier=tier)
    return core.choose(snapshot, decision, config, int(now.timestamp()), rule, running, waiting)


def apply(preemptions: list[core.Preemption]) -> list[int]:
    """Send the terminate orders, end allocations (inside the cycle's transaction); the
    preempted job ids."""
    done: list[int] = []
    for p in sorted(preemptions, key=lambda p: p.victim):
        job = Job.objects.select_for_update().filter(pk=p.victim).first()
        if job is None or job.state not in _HOLDING or job.kill_requested:
            continue
        if not job.batch:
            end_preempted_allocation(job)
            log.info("allocation %s preempted for job %s", job.pk, p.for_job)
            done.append(job.pk)
            continue
        job.kill_requested = True
        fields = ["kill_requested"]
        reason = "requeue" if p.mode == core.REQUEUE else "cancel"
        if reason == "cancel":
            job.reason = PREEMPTED_REASON
            fields.append("reason")
        else:
            # As slurmctld does (begin = now + cred_expire + 1): the requeued job waits
            # (BeginTime) so that it does not take back the room it was preempted for.
            job.begin_time = timezone.now() + timedelta(seconds=REQUEUE_DELAY_S)
            fields.append("begin_time")
        job.save(update_fields=fields)
        node = Node.objects.filter(name=job.batch_host).first()
        if node is None:
            continue
        AgentOrder.objects.create(node=node, kind="terminate", job=job,
                                  payload={"reason": reason})
        events.wake_agent(node.name)
        log.info("job %s preempted (%s) for job %s", job.pk, reason, p.for_job)
        done.append(job.pk)
    return done
