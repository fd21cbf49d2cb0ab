"""Applying the "started"/"ended" events of one agent sync: one transaction, bulk reads
and writes, one broadcast.

A sync carries every event the agent has not seen acknowledged; with short jobs
that is a "started" and an "ended" for each of dozens of jobs. Applied one by
one (``do_finish_job`` per event) each cost ~30 queries and two reads back for
its broadcasts; here a whole batch costs a fixed number:

1. lock the events' jobs (primary-key order) and read their steps;
2. apply the events in ``seq`` order to those rows in memory, with the rules
   of ``apply_event`` and ``do_finish_job`` (an event for a job that is not
   running, or from a node that is no longer its batch host, changes nothing);
3. write: usage (``record_jobs_usage``, before the allocations are emptied),
   the jobs, the steps (inserted or updated), then the nodes they free, locked
   in primary-key order and recomputed from one read of the jobs still holding
   them;
4. requeues (a "terminated for requeue" end) go through ``do_finish_job``, after
   those writes;
5. one after-commit send of the job records and node records built from the rows
   just written (as ``do_submit_job`` does), and one cycle request.

Preconditions: the caller acknowledges the events only when this returns; if it
raises, nothing was written (one transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounting.usage import record_jobs_usage
from scheduler import config, events, priority_load
from scheduler.bulk import update_rows
from scheduler.models import Job, JobState, JobStep, Node, Partition

_JOB_FIELDS = ["state", "reason", "exit_code", "exit_signal", "derived_exit_code",
               "start_time", "end_time", "cpu_time_s", "max_rss_kb", "kill_requested",
               "alloc"]
_STEP_FIELDS = ["state", "start_time", "end_time", "exit_code", "exit_signal", "cpu_time_s",
                "max_rss_kb", "nodes", "cancelled_by"]


def event_time(event: dict[str, Any]) -> datetime:
    value = event.get("time")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return timezone.now()


class _Batch:
    """The locked rows of one sync and what the events did to them."""

    def __init__(self, node: str, ids: list[int]) -> None:
        from scheduler.records import LIST_DEFER

        self.node = node
        self.jobs = {j.id: j for j in Job.objects.select_for_update().filter(pk__in=ids)
                     .defer(*LIST_DEFER).order_by("pk")}
        self.steps: dict[int, list[JobStep]] = {}
        for step in JobStep.objects.filter(job_id__in=list(self.jobs)).order_by("id"):
            self.steps.setdefault(step.job_id, []).append(step)  # type: ignore[attr-defined]
        self.new_steps: list[JobStep] = []
        self.dirty_steps: dict[int, JobStep] = {}
        self.changed: set[int] = set()  # jobs to announce
        self.finished: list[tuple[Job, datetime]] = []
        self.requeues: list[tuple[Job, int, int]] = []

    def batch_step(self, job: Job) -> JobStep | None:
        return next((s for s in self.steps.get(job.id, []) if s.step == "batch"), None)

    def add_step(self, job: Job, **values: Any) -> JobStep:
        step = JobStep(job=job, step="batch", **values)
        self.steps.setdefault(job.id, []).append(step)
        self.new_steps.append(step)
        return step

    def touch(self, step: JobStep) -> None:
        if step.pk is not None:
            self.dirty_steps[step.pk] = step


def apply_events(node: str, batch: list[dict[str, Any]]) -> list[bool]:
    """Apply ``batch`` (sorted by ``seq``) from the node named ``node``; for each event,
    whether it changed anything (False: a duplicate, a job that has moved on, an
    unknown kind)."""
    from scheduler.actions.jobs import RUNNING_STATES

    ids = sorted({int(e["job_id"]) for e in batch if isinstance(e.get("job_id"), int)
                  and not isinstance(e.get("job_id"), bool)})
    with transaction.atomic():
        rows = _Batch(node, ids)
        requeued: set[int] = set()
        changed: list[bool] = []
        for event in batch:
            job = rows.jobs.get(event.get("job_id"))  # type: ignore[arg-type,unused-ignore]
            if (job is None or job.state not in RUNNING_STATES or job.id in requeued
                    or (job.batch_host and job.batch_host != node)):
                changed.append(False)  # a former run elsewhere (requeued since), or done
                continue
            kind = event.get("kind")
            if kind == "started":
                changed.append(_started(rows, job, event))
            elif kind == "ended":
                if _ended(rows, job, event):
                    requeued.add(job.id)
                changed.append(True)
            else:
                changed.append(False)
        _write(rows)
    return changed


def _started(rows: _Batch, job: Job, event: dict[str, Any]) -> bool:
    step = rows.batch_step(job)
    rows.changed.add(job.id)
    if step is None:
        rows.add_step(job, state=JobState.RUNNING, start_time=event_time(event),
                      nodes=job.batch_host or rows.node)
        return True
    if step.state == JobState.REQUEUED:  # the job's next run after a requeue
        step.state, step.start_time, step.end_time = JobState.RUNNING, event_time(event), None
        step.exit_code = step.exit_signal = 0
        rows.touch(step)
    return False


def _ended(rows: _Batch, job: Job, event: dict[str, Any]) -> bool:
    """Finish ``job`` in memory as ``do_finish_job`` would; True for a requeue (done later)."""
    from scheduler.actions.jobs import end_state, mark_ended
    from scheduler.actions.steps import end_open_steps

    exit_code = int(event.get("exit_code") or 0)
    sig = int(event.get("signal") or 0)
    reason_for = event.get("terminated_for")
    if reason_for is None and job.kill_requested and job.cancelled_by is not None:
        reason_for = "cancel"
    state, reason = end_state(exit_code, sig, timed_out=bool(event.get("timed_out")),
                              oom=bool(event.get("oom")), terminated_for=reason_for)
    if reason_for == "cancel" and job.reason == "Preempted":
        state = JobState.PREEMPTED  # scheduler/preempt_load.py marks the job
    if state == JobState.PENDING:
        rows.requeues.append((job, exit_code, sig))
        return True
    now = event_time(event)
    if job.start_time is None:
        job.start_time = now
    rows.finished.append((job, now))
    step = rows.batch_step(job) or rows.add_step(job, start_time=job.start_time,
                                                 nodes=job.batch_host)
    mark_ended(job, step, state, reason, exit_code, sig, now,
               float(event.get("cpu_time_s") or 0.0), int(event.get("max_rss_kb") or 0))
    for changed in (step, *end_open_steps(job, rows.steps.get(job.id, []), now)):
        rows.touch(changed)
    rows.changed.add(job.id)
    return False


def _write(rows: _Batch) -> None:
    from scheduler.actions.jobs import do_finish_job, recompute_nodes

    freed: set[str] = set()
    if rows.finished:
        params = priority_load.config_fields(config.settings_map())
        # before the allocations are emptied: usage counts the CPUs held
        record_jobs_usage(rows.finished, half_life_s=params["decay_half_life_s"],
                          reset_period=params["usage_reset_period"])
        for job, _ in rows.finished:
            if job.alloc:
                freed.update(job.alloc)
                job.alloc = {}
        update_rows(Job, [job for job, _ in rows.finished], _JOB_FIELDS)
    if rows.new_steps:
        JobStep.objects.bulk_create(rows.new_steps)
    if rows.dirty_steps:
        update_rows(JobStep, list(rows.dirty_steps.values()), _STEP_FIELDS)
    nodes = list(Node.objects.select_for_update().filter(name__in=sorted(freed))
                 .order_by("pk")) if freed else []
    recompute_nodes(nodes)
    for job, exit_code, sig in rows.requeues:
        do_finish_job(job, JobState.PENDING, exit_code, sig)  # announces the job itself
        rows.changed.discard(job.id)
    _announce(rows, nodes)
    if rows.finished:
        events.request_cycle()


def _announce(rows: _Batch, nodes: list[Node]) -> None:
    """Records of the jobs and nodes changed, from the rows as written (no read-back)."""
    from scheduler.records import job_record, node_record, step_record
    from scheduler.reservations_load import node_flags

    if not events.heard_by(events.JOB_GROUPS + events.NODE_GROUPS):
        return
    now = timezone.now()
    job_recs = [job_record(j, now, [step_record(s) for s in rows.steps.get(j.id, [])])
                for j in (rows.jobs[i] for i in sorted(rows.changed))]
    node_recs: list[dict[str, Any]] = []
    if nodes:
        parts: dict[int, list[str]] = {}
        # a node's partitions in the order of ``node.partitions.all()`` (Partition's "id")
        for node_id, name in (Partition.objects.filter(nodes__in=nodes).order_by("id")
                              .values_list("nodes", "name")):
            parts.setdefault(node_id, []).append(name)
        resv = node_flags(now)
        node_recs = [node_record(n, parts.get(n.pk, []), resv)
                     for n in sorted(nodes, key=lambda n: n.name)]
    events.broadcast_records(job_recs, node_recs)
