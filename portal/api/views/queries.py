"""Read-side filters shared by the job views (squeue, scontrol show, sacct)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scheduler import config
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.models import ACTIVE_STATES, FINISHED_STATES, Job, JobState
from scheduler.records import list_rows
from scheduler.validation import expand_ids

SHORT_STATES = {
    "PD": JobState.PENDING, "R": JobState.RUNNING, "S": JobState.SUSPENDED,
    "CG": JobState.COMPLETING, "CD": JobState.COMPLETED, "CA": JobState.CANCELLED,
    "F": JobState.FAILED, "TO": JobState.TIMEOUT, "NF": JobState.NODE_FAIL,
    "OOM": JobState.OUT_OF_MEMORY, "PR": JobState.PREEMPTED, "BF": JobState.BOOT_FAIL,
    "DL": JobState.DEADLINE, "RQ": JobState.REQUEUED,
}
_ID = re.compile(r"^(\d+)(?:_(\d+))?$")


def parse_states(text: str) -> list[str] | None:
    """"PD,R" / "pending,running" -> long names; "all" -> None (every state)."""
    out: list[str] = []
    for item in filter(None, (s.strip().upper() for s in text.split(","))):
        if item == "ALL":
            return None
        if item in SHORT_STATES:
            out.append(SHORT_STATES[item])
        elif item in JobState.values:
            out.append(item)
        elif item == "CANCELED":
            out.append(JobState.CANCELLED)
        else:
            raise SlurmError("REST_INVALID_QUERY", f"Invalid job state specified: {item}")
    return out


def parse_fields(text: str | None) -> list[str] | None:
    """``fields=job_id,state``: the compact answer's columns; None when not asked for."""
    if not text:
        return None
    return [f.strip() for f in text.split(",") if f.strip()]


def parse_ids(text: str) -> list[tuple[int, int | None]]:
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        m = _ID.match(item)
        if not m:
            raise SlurmError("INVALID_JOB_ID", f"Invalid job id {item}")
        out.append((int(m.group(1)), int(m.group(2)) if m.group(2) else None))
    return out


def _id_filter(ids: list[tuple[int, int | None]]) -> Q:
    q = Q(pk__in=[])
    for base, task in ids:
        if task is None:
            q |= Q(id=base) | Q(array_job_id=base)
        else:
            q |= Q(array_job_id=base, array_task_id=task)
            q |= Q(id=base, array_job_id=base, array_task_id__isnull=True)
    return q


def _keep_meta_match(jobs: list[Any], ids: list[tuple[int, int | None]]) -> list[Any]:
    """Drop meta rows that matched "12_3" although task 3 is no longer in their pending set."""
    wanted_tasks = {(b, t) for b, t in ids if t is not None}
    wanted_bases = {b for b, t in ids if t is None}
    out = []
    for job in jobs:
        if (job.array_task_id is None and job.array_job_id is not None
                and job.array_job_id not in wanted_bases and job.id not in wanted_bases):
            pending = set(expand_ids(job.array_pending))
            if not any(b == job.array_job_id and t in pending for b, t in wanted_tasks):
                continue
        out.append(job)
    return out


def visible(user: Any) -> QuerySet[Job]:
    qs = Job.objects.all()
    if not is_operator(user):
        qs = qs.filter(user=user.get_username())
    return qs


def recent_cutoff() -> datetime:
    return timezone.now() - timedelta(seconds=config.get_int("MinJobAge"))


def queue_jobs(user: Any, params: Any, fields: list[str] | None = None) -> list[Any]:
    """squeue: active jobs; finished ones only when asked for (``state``, ``all_states``)
    and only within MinJobAge of their end. ``state`` wins over ``all_states``.
    ``fields``: read only what these record keys need (``records.list_rows``)."""
    qs = visible(user)
    states: list[str] | None = list(ACTIVE_STATES)
    if params.get("state"):
        states = parse_states(params["state"])
    elif params.get("all_states") in ("1", "true", "yes"):
        states = None
    if states is not None:
        qs = qs.filter(state__in=states)
    recent = Q(end_time__gte=recent_cutoff()) | Q(end_time__isnull=True)
    qs = qs.filter(Q(state__in=ACTIVE_STATES) | (Q(state__in=FINISHED_STATES) & recent))
    return _common(qs, params, fields=fields)


def accounting_jobs(user: Any, params: Any) -> list[Any]:
    """sacct: every job ever, own only unless an operator asks for all users."""
    qs = Job.objects.all()
    me = user.get_username()
    operator = is_operator(user)
    if params.get("all_users") in ("1", "true", "yes") and operator:
        pass
    elif params.get("user") and operator:
        pass  # _common filters by the named users
    else:
        qs = qs.filter(user=me)
    if params.get("state"):
        states = parse_states(params["state"])
        if states is not None:
            qs = qs.filter(state__in=states)
    start, end = parse_time(params.get("start")), parse_time(params.get("end"))
    if start is not None:
        qs = qs.filter(Q(end_time__isnull=True) | Q(end_time__gte=start))
    if end is not None:
        qs = qs.filter(submit_time__lte=end)
    if not params.get("job"):
        qs = qs.exclude(_never_eligible())
    return _common(qs, params, restrict_user=operator)


def _never_eligible() -> Q:
    """Pending jobs a time window leaves out, as Slurm's does (golden 115): those that
    have not been eligible yet (an unmet dependency, a begin time to come) and the pending
    rest of an array. Named by id (``sacct -j``), they are shown."""
    # a requeued job waiting to start again is its last run (REQUEUED), always shown
    not_yet = Q(eligible_time__isnull=True, restarts=0) & (~Q(dependency="") |
                                                           Q(begin_time__gt=timezone.now()))
    return Q(state=JobState.PENDING) & (not_yet | ~Q(array_pending=""))


def _common(qs: QuerySet[Job], params: Any, restrict_user: bool = True,
            fields: list[str] | None = None) -> list[Any]:
    if params.get("user") and restrict_user:
        qs = qs.filter(user__in=[u.strip() for u in params["user"].split(",") if u.strip()])
    if params.get("partition"):
        qs = qs.filter(partition__in=[p.strip() for p in params["partition"].split(",")])
    if params.get("name"):
        qs = qs.filter(name__in=[n.strip() for n in params["name"].split(",")])
    ids = parse_ids(params["job"]) if params.get("job") else []
    if ids:
        qs = qs.filter(_id_filter(ids))
    # Steps come with the records (scheduler.records.job_records: one query for the list).
    jobs = list_rows(qs.order_by("id"), fields)
    return _keep_meta_match(jobs, ids) if ids else jobs


def parse_time(value: str | None) -> datetime | None:
    """Epoch seconds or an ISO-8601 time (naive = the server's time zone)."""
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        raise SlurmError("INVALID_TIME_VALUE", f"Invalid time {value}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
