"""What a cycle does besides starting jobs: preemption and cancelling never-runnable jobs.

Called by :func:`scheduler.cycle._commit` inside the cycle's transaction, after
the starts and reasons are written.

* Preemption (:mod:`scheduler.preempt_load`): terminate orders for the running
  jobs the core chose.
* ``SchedulerParameters=kill_invalid_depend``: a pending job whose dependency
  can never be satisfied is cancelled, as Slurm does (state CANCELLED, reason
  DependencyNeverSatisfied, start and end time now); without it the job stays
  pending with that reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler import config as conf
from scheduler import events, preempt_load
from scheduler.core import types as core
from scheduler.models import Job, JobState

NEVER = "DependencyNeverSatisfied"


def after_cycle(loaded: Any, decision: core.Decision, now: datetime) -> list[int]:
    """Preempt and cancel as the cycle calls for; the ids of the jobs changed."""
    changed = preempt_load.apply(preempt_load.decide(loaded.snapshot, decision,
                                                     loaded.config, now))
    if loaded.never_deps and "kill_invalid_depend" in conf.scheduler_parameters():
        changed += kill_invalid_dependants(loaded.never_deps, now)
    if changed:
        events.broadcast_jobs(changed)
        events.request_cycle()
    return changed


def kill_invalid_dependants(ids: list[int], now: datetime) -> list[int]:
    done: list[int] = []
    for job in Job.objects.select_for_update().filter(pk__in=ids, state=JobState.PENDING,
                                                      hold="").order_by("pk"):
        job.state = JobState.CANCELLED
        job.reason = NEVER
        job.start_time = job.start_time or now
        job.end_time = now
        job.save(update_fields=["state", "reason", "start_time", "end_time"])
        done.append(job.pk)
    return done
