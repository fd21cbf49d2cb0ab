"""srun's job steps: created, ended and signalled (Slurm's REQUEST_JOB_STEP_CREATE,
REQUEST_STEP_COMPLETE and REQUEST_CANCEL_JOB_STEP).

srun asks for a step of the running job it is inside; the step gets the job's
next number (0, 1, ...: one past the highest it has had, counted under the job's
row lock, so two sruns never share one and a requeued job's new run goes on
counting). srun runs the tasks itself, on the batch host, and reports their end
once (a second report changes nothing). A step still running when its job ends
ends with it, as slurmctld ends them: CANCELLED (the job's OUT_OF_MEMORY or
NODE_FAIL), by whoever cancelled the job. ``scancel N.S`` reaches step S's
processes alone, through a "signal" order naming the step (the node agent tells
a step's processes by their ``SLURM_STEP_ID``); a plain cancel is SIGKILL, as
scancel sends a step.
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import events
from scheduler.actions.access import actor_uid, check_job_access
from scheduler.actions.errors import SlurmError
from scheduler.bulk import update_rows
from scheduler.models import Job, JobState, JobStep

_STEP_SPEC = re.compile(r"^(\d+(?:_\d+)?)\.(\d+)$")
MAX_NAME = JobStep._meta.get_field("name").max_length
# Steps named by a word (the agent's batch step, Slurm's extern and interactive ones)
# come before srun's numbered steps, as sacct lists them.
SPECIAL_ORDER = {"batch": 0, "extern": 1, "interactive": 2}


def split_step_spec(spec: str) -> tuple[str, str | None]:
    """"12.0" -> ("12", "0"); "12_3.1" -> ("12_3", "1"); anything else -> (spec, None)."""
    m = _STEP_SPEC.match(str(spec).strip())
    return (m.group(1), m.group(2)) if m else (spec, None)


def step_order(name: str) -> tuple[int, int, str]:
    """Sort key of step names: batch, extern, interactive, then 0, 1, ... by number."""
    if name in SPECIAL_ORDER:
        return SPECIAL_ORDER[name], 0, name
    return (3, int(name), "") if name.isdigit() else (4, 0, name)


def step_end_state(exit_code: int, signal: int) -> str:
    """A step's state from its exit status, as Slurm's accounting records it: killed by
    a signal CANCELLED, a non-zero exit FAILED, else COMPLETED."""
    if signal:
        return JobState.CANCELLED
    return JobState.FAILED if exit_code else JobState.COMPLETED


def _job_of(spec: str) -> Job:
    """The job row ``spec`` ("12", "12_3") names: an array's base id is its own row."""
    from scheduler.actions.jobs import jobs_for_spec, parse_job_spec

    base, _task = parse_job_spec(spec)
    rows = jobs_for_spec(spec)
    return next((j for j in rows if j.id == base), rows[0])


def number(body: dict[str, Any], key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SlurmError("REST_FAIL_PARSING", f"{key} must be a non-negative integer")
    return value


def do_create_step(actor: Any, spec: str, body: dict[str, Any]) -> JobStep:
    """A new RUNNING step of the running job ``spec`` names, numbered next.

    ``body``: ``name`` (the command's basename), ``ntasks`` (>= 1) and optionally
    ``cpus_per_task``. The step's CPUs are ntasks x cpus_per_task, at most the
    job's on its batch host, where the tasks run (they cannot use more). Only the
    job's owner or an operator may add one; a pending job answers JOB_PENDING, a
    suspended one DISABLED, one ending or ended ALREADY_DONE, as slurmctld does.
    """
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise SlurmError("REST_FAIL_PARSING", "name must be a command name")
    ntasks = number(body, "ntasks", 1)
    cpus_per_task = number(body, "cpus_per_task", 1)
    if ntasks < 1 or cpus_per_task < 1:
        raise SlurmError("BAD_TASK_COUNT")
    job = _job_of(spec)
    check_job_access(actor, job)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state == JobState.PENDING:
            raise SlurmError("JOB_PENDING")
        if job.state == JobState.SUSPENDED:
            raise SlurmError("DISABLED")
        if job.state != JobState.RUNNING or job.kill_requested:
            raise SlurmError("ALREADY_DONE")
        numbers = [int(s) for s in JobStep.objects.filter(job=job)
                   .values_list("step", flat=True) if s.isdigit()]
        here = int((job.alloc or {}).get(job.batch_host, {}).get("cpus") or 0)
        step = JobStep.objects.create(
            job=job, step=str(max(numbers, default=-1) + 1), name=name.strip(),
            state=JobState.RUNNING, nodes=job.batch_host, start_time=timezone.now(),
            ntasks=ntasks, cpus=min(ntasks * cpus_per_task, here or ntasks * cpus_per_task))
        events.broadcast_jobs([job.id])
    return step


def _known_step(actor: Any, spec: str, step: str) -> tuple[Job, JobStep]:
    """The job and step ``spec``.``step`` name (INVALID_JOB_ID when there is no such
    step), if ``actor`` may act on them; the job's row is locked (call in a transaction)."""
    job = _job_of(spec)
    check_job_access(actor, job)
    job = Job.objects.select_for_update().get(pk=job.pk)
    row = JobStep.objects.filter(job=job, step=step).first()
    if row is None:
        raise SlurmError("INVALID_JOB_ID", f"Unable to find StepId={job.id}.{step}")
    return job, row


def do_end_step(actor: Any, spec: str, step: str, body: dict[str, Any]) -> JobStep:
    """srun's report of its step's end: ``exit_code`` and ``signal`` (the tasks' highest
    exit code; the signal that killed one, 0 for none), optionally ``end_time`` (epoch
    seconds), ``cpu_time_s`` and ``max_rss_kb``. Idempotent: a step that has ended
    already (reported before, or ended with its job) keeps its end; usage figures
    only grow (the agent's samples may have seen more)."""
    exit_code, signal = number(body, "exit_code", 0), number(body, "signal", 0)
    cpu = body.get("cpu_time_s", 0.0)
    if isinstance(cpu, bool) or not isinstance(cpu, int | float) or not 0 <= cpu < 1e12:
        raise SlurmError("REST_FAIL_PARSING", "cpu_time_s must be a non-negative number")
    max_rss = number(body, "max_rss_kb", 0)
    end = body.get("end_time")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int | float)
                            or not 0 < end < 253402300800):
        raise SlurmError("REST_FAIL_PARSING", "end_time must be epoch seconds")
    with transaction.atomic():
        job, row = _known_step(actor, spec, step)
        row.cpu_time_s = max(row.cpu_time_s, float(cpu))
        row.max_rss_kb = max(row.max_rss_kb, max_rss)
        if row.state == JobState.RUNNING:
            now = datetime.fromtimestamp(end, tz=UTC) if end is not None else timezone.now()
            row.end_time = max(now, row.start_time) if row.start_time else now
            row.state = step_end_state(exit_code, signal)
            row.exit_code, row.exit_signal = exit_code, signal
            if row.cancelled_by is None and job.kill_requested:
                row.cancelled_by = job.cancelled_by  # its job is being cancelled
        row.save()
        events.broadcast_jobs([job.id])
    return row


def do_signal_step(actor: Any, spec: str, step: str, signal: str | int | None) -> None:
    """scancel N.S: ``signal`` to step S's processes, or (None) cancel it: SIGKILL, and
    the step is recorded CANCELLED by ``actor`` when srun reports its end. A step
    that has ended (or whose job has) answers ALREADY_DONE."""
    from scheduler.actions.jobs import RUNNING_STATES, _order, _signal_number

    signum = _signal_number(signal)
    with transaction.atomic():
        job, row = _known_step(actor, spec, step)
        if row.state != JobState.RUNNING or job.state not in RUNNING_STATES:
            raise SlurmError("ALREADY_DONE")
        if signum is None:
            signum = int(_signal.SIGKILL)
            row.cancelled_by = actor_uid(actor)
            row.save(update_fields=["cancelled_by"])
        _order(job, "signal", {"signal": _signal.Signals(signum).name.removeprefix("SIG"),
                               "scope": "steps", "step": row.step})


def end_open_steps(job: Job, steps: Iterable[JobStep], now: datetime) -> list[JobStep]:
    """End, in memory, those of ``steps`` (``job``'s) that srun has not reported ended,
    now that ``job`` has ended (its end state already set); the steps changed, for the
    caller to save. As slurmctld ends them: CANCELLED (killed with SIGTERM: 0:15) by
    whoever cancelled the job, or the job's state when OUT_OF_MEMORY or NODE_FAIL."""
    state = job.state if job.state in (JobState.OUT_OF_MEMORY, JobState.NODE_FAIL) \
        else JobState.CANCELLED
    changed = []
    for step in steps:
        if step.state != JobState.RUNNING or step.step in SPECIAL_ORDER:
            continue
        step.state, step.end_time = state, now
        step.exit_code, step.exit_signal = 0, int(_signal.SIGTERM)
        if step.cancelled_by is None:
            step.cancelled_by = job.cancelled_by
        changed.append(step)
    return changed


def close_open_steps(job: Job, now: datetime) -> None:
    """``end_open_steps`` on ``job``'s steps as stored (the paths that end one job)."""
    running = JobStep.objects.filter(job=job, state=JobState.RUNNING) \
        .exclude(step__in=list(SPECIAL_ORDER)).order_by("id")
    update_rows(JobStep, end_open_steps(job, running, now),
                ["state", "end_time", "exit_code", "exit_signal", "cancelled_by"])
