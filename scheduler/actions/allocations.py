"""salloc's allocations: what salloc polls for (state, environment) and their end.

An allocation is a job submitted with ``allocation`` set: no script, no batch
step, no launch order. The cycle starts it like any job, and its nodes stay held
until salloc relinquishes it (Slurm's REQUEST_COMPLETE_JOB_ALLOCATION), it is
cancelled, or its time limit passes (scheduler/health.py ends it TIMEOUT).
Relinquishing a pending allocation cancels it (salloc interrupted while waiting);
a running one ends as its command did: COMPLETED, or FAILED with the command's
exit code or signal, as slurmctld records ``salloc false``. A preempted one ends
PREEMPTED at once, whatever the PreemptMode (:func:`end_preempted_allocation`).
"""

from __future__ import annotations

import signal as _signal
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import config, events
from scheduler.actions.access import actor_uid, check_job_access
from scheduler.actions.errors import SlurmError
from scheduler.actions.jobs import _finish_locked, _locked, end_state, jobs_for_spec
from scheduler.actions.steps import number
from scheduler.launch import allocation_env
from scheduler.models import FINISHED_STATES, Job, JobState


def allocation_of(actor: Any, spec: str) -> Job:
    """The allocation ``spec`` names, if ``actor`` owns it or is an operator."""
    rows = jobs_for_spec(spec) if spec.isdigit() else []
    if not rows:
        raise SlurmError("INVALID_JOB_ID", f"Unable to find JobId={spec}")
    job = rows[0]
    check_job_access(actor, job)
    if job.batch:
        raise SlurmError("SLURM_ERROR", f"Job {job.id} is a batch job, not an allocation")
    return job


def allocation_record(job: Job) -> dict[str, Any]:
    """What salloc waits on: the state, and once it runs, its command's environment."""
    record: dict[str, Any] = {"job_id": job.id, "state": job.state, "reason": job.reason,
                              "nodes": job.nodes, "kill_wait_s": config.get_int("KillWait")}
    if job.state == JobState.RUNNING:
        record["environment"] = allocation_env(
            job, config.get("ClusterName") or "drover", config.get_int("DefMemPerCPU"))
    return record


def do_relinquish_allocation(actor: Any, spec: str, body: dict[str, Any]) -> Job:
    """End the allocation ``spec`` names: pending -> CANCELLED by ``actor``; running ->
    the end ``exit_code``/``signal`` (salloc's command's) say. ALREADY_DONE once ended."""
    exit_code, signal = number(body, "exit_code", 0), number(body, "signal", 0)
    job = allocation_of(actor, spec)
    with transaction.atomic():
        job = _locked(job)
        if job.state in FINISHED_STATES:
            raise SlurmError("ALREADY_DONE")
        if job.state == JobState.PENDING:
            job.state, job.reason = JobState.CANCELLED, "None"
            job.cancelled_by = actor_uid(actor)
            job.end_time = timezone.now()
            job.save(update_fields=["state", "reason", "cancelled_by", "end_time"])
            events.request_cycle()
        else:
            state, reason = end_state(exit_code, signal)
            _finish_locked(job, state, exit_code, signal, reason=reason)
        events.broadcast_jobs([job.id])
    return job


def end_preempted_allocation(job: Job) -> None:
    """End a preempted allocation (row locked by the caller) PREEMPTED now.

    No agent runs anything for it, so there is no terminate order to wait on. With
    PreemptMode=REQUEUE too: slurmctld's job_requeue refuses a non-batch job
    (ESLURM_BATCH_ONLY) and slurm_job_preempt falls back to killing it as preempted.
    """
    _finish_locked(job, JobState.PREEMPTED, 0, int(_signal.SIGTERM), reason="None")
