"""Node health and the controller's time-limit backstop, run every few seconds.

* A node whose agent has not been heard from for SlurmdTimeout seconds goes
  DOWN with reason "Not responding" (the agent brings it back when it syncs
  again, as ReturnToService says). Its jobs end NODE_FAIL, or go back to PENDING
  (restarts + 1) when the job may be requeued and JobRequeue=1. Either way a
  terminate order waits in the outbox, so a node that comes back kills what is left.
* A RUNNING job past start + time limit + KillWait + 60 s whose agent has not
  reported its end gets a terminate order (reason timeout), once.
* An allocation (salloc's job: no agent runs it) past start + time limit ends
  TIMEOUT here; salloc, polling its job, then stops its command.

Job ends go through ``scheduler.actions.jobs.do_finish_job``, which frees the
resources the same way as an agent's "ended" event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from scheduler import config, events
from scheduler.actions.jobs import do_finish_job
from scheduler.actions.node_history import note_node_state
from scheduler.models import AgentOrder, Job, JobState, Node

log = logging.getLogger(__name__)
NOT_RESPONDING = "Not responding"
HOLDING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
USABLE = ("IDLE", "MIXED", "ALLOCATED")
BACKSTOP_GRACE_S = 60


@dataclass(slots=True)
class HealthReport:
    down: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    timeouts: list[int] = field(default_factory=list)


def check_nodes(now: datetime | None = None) -> HealthReport:
    now = now or timezone.now()
    report = HealthReport()
    timeout = config.get_int("SlurmdTimeout")
    if timeout > 0:
        for node in Node.objects.filter(state__in=USABLE, last_heartbeat__isnull=False,
                                        last_heartbeat__lt=now - timedelta(seconds=timeout)
                                        ).order_by("pk"):
            _node_down(node, now, report)
    _time_limit_backstop(now, report)
    _allocation_time_limits(now, report)
    return report


def _node_down(node: Node, now: datetime, report: HealthReport) -> None:
    requeue_allowed = config.get_int("JobRequeue") == 1
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node.pk)
        if node.state not in USABLE:
            return
        node.state = "DOWN"
        node.reason, node.reason_user, node.reason_time = NOT_RESPONDING, "slurm", now
        note_node_state(node, now)
        node.save(update_fields=["state", "reason", "reason_user", "reason_time"])
        report.down.append(node.name)
        jobs = list(Job.objects.filter(state__in=HOLDING, alloc__has_key=node.name)
                    .order_by("pk"))
        for job in jobs:
            requeue = requeue_allowed and job.requeue
            if job.batch_host:
                host = Node.objects.filter(name=job.batch_host).first()
                if host is not None:
                    AgentOrder.objects.create(
                        node=host, kind="terminate", job=job,
                        payload={"reason": "requeue" if requeue else "cancel"})
                    events.wake_agent(host.name)
            if requeue:
                if do_finish_job(job, JobState.PENDING):
                    report.requeued.append(job.id)
            elif do_finish_job(job, JobState.NODE_FAIL, 0, 0, end_time=now, reason="None"):
                report.failed.append(job.id)
        events.broadcast_nodes([node.name])
    log.warning("node %s not responding: DOWN; %d jobs failed, %d requeued", node.name,
                len(report.failed), len(report.requeued))


def _time_limit_backstop(now: datetime, report: HealthReport) -> None:
    kill_wait = config.get_int("KillWait")
    candidates = Job.objects.filter(state=JobState.RUNNING, kill_requested=False, batch=True,
                                    time_limit_min__isnull=False, start_time__isnull=False)
    # start + limit + KillWait + grace < now, computed per row in Python over a narrow query
    rows = candidates.values_list("pk", "start_time", "time_limit_min")
    overdue = [pk for pk, start, limit in rows
               if start + timedelta(seconds=limit * 60 + kill_wait + BACKSTOP_GRACE_S) < now]
    for pk in overdue:
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=pk, state=JobState.RUNNING,
                                                         kill_requested=False).first()
            if job is None:
                continue
            host = Node.objects.filter(name=job.batch_host).first()
            Job.objects.filter(pk=pk).update(kill_requested=True)
            if host is not None:
                AgentOrder.objects.create(node=host, kind="terminate", job=job,
                                          payload={"reason": "timeout"})
                events.wake_agent(host.name)
            events.broadcast_jobs([pk])
        report.timeouts.append(pk)



def _allocation_time_limits(now: datetime, report: HealthReport) -> None:
    rows = Job.objects.filter(state=JobState.RUNNING, batch=False, time_limit_min__isnull=False,
                              start_time__isnull=False).values_list("pk", "start_time",
                                                                    "time_limit_min")
    for pk, start, limit in rows:
        if start + timedelta(minutes=limit) <= now and do_finish_job(
                Job(pk=pk), JobState.TIMEOUT, 0, 0, end_time=now, reason="TimeLimit"):
            report.timeouts.append(pk)
