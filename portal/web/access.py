"""Who may see what, and the queries the pages share.

The rule (DESIGN.md, non-negotiables): a user sees, and may cancel, only their
own jobs; operators (``is_staff``, as scheduler.actions.access defines them)
see and cancel everything. A job that is not
yours is a 404, never a 403, so its existence does not leak.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.web import backend
from scheduler.models import ACTIVE_STATES, ClusterSetting, Job

_JOB_ID = re.compile(r"^(\d+)(?:_(\d+))?$")
DEFAULT_MIN_JOB_AGE_S = 300


def is_operator(user: Any) -> bool:
    return backend.is_operator(user)


def may_see(user: Any, owner: str) -> bool:
    """May ``user`` see (and cancel) a job of ``owner``?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return owner == user.get_username() or is_operator(user)


def min_job_age_s() -> int:
    """How long a finished job stays in the queue view (slurm.conf MinJobAge)."""
    row = ClusterSetting.objects.filter(key="MinJobAge").first()
    try:
        return int(row.value) if row else DEFAULT_MIN_JOB_AGE_S
    except ValueError:
        return DEFAULT_MIN_JOB_AGE_S


def visible_jobs(user: Any, *, everyone: bool = False) -> QuerySet[Job]:
    """Jobs ``user`` may see: their own, or (operators asking for it) everyone's."""
    qs = Job.objects.all()
    if not (everyone and is_operator(user)):
        qs = qs.filter(user=user.get_username())
    return qs


def queue_jobs(user: Any, *, everyone: bool = False) -> QuerySet[Job]:
    """What squeue lists: active jobs, and finished ones younger than MinJobAge."""
    since = timezone.now() - dt.timedelta(seconds=min_job_age_s())
    return (visible_jobs(user, everyone=everyone)
            .filter(Q(state__in=ACTIVE_STATES) | Q(end_time__gte=since))
            .order_by("id"))


def get_job_for(user: Any, job_id: str) -> Job:
    """The job ``12`` or array task ``12_3``, if ``user`` may see it; else 404."""
    m = _JOB_ID.match(job_id)
    if not m:
        raise Http404("No such job")
    first, task = int(m.group(1)), m.group(2)
    try:
        if task is None:
            job = Job.objects.get(id=first)
        else:
            job = Job.objects.get(array_job_id=first, array_task_id=int(task))
    except Job.DoesNotExist:
        raise Http404("No such job") from None
    if not may_see(user, job.user):
        raise Http404("No such job")
    return job
