"""Job control after submit: cancel, signal, hold, release, requeue, update, and the end.

A running job is never finished here by the controller's word alone: cancel and
requeue put a ``terminate`` order in the outbox (``AgentOrder``) and the job stays
RUNNING until its agent reports "ended"; ``do_finish_job`` then writes the
terminal state once (an event applied twice changes nothing).

``release_resources`` gives a job's CPUs, memory and GPUs back to its nodes; it
is idempotent (the job's ``alloc`` is emptied once released) and the node
totals are recomputed from the jobs still holding them, so the health check
(NODE_FAIL) and the agent path may both call it.
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting.usage import record_job_usage
from scheduler import config, events, priority_load
from scheduler.actions import job_request
from scheduler.actions.access import actor_uid, check_job_access, is_operator
from scheduler.actions.errors import SlurmError
from scheduler.actions.steps import close_open_steps, step_end_state
from scheduler.actions.submit import LIMIT_ERRORS, job_limit_reasons
from scheduler.models import (
    ACTIVE_STATES,
    FINISHED_STATES,
    AgentOrder,
    Job,
    JobState,
    JobStep,
    Node,
)
from scheduler.validation import check_dependency, compress_ids, expand_ids, in_range

RUNNING_STATES = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
HOLDING_STATES = RUNNING_STATES  # states in which a job holds node resources
_JOB_SPEC = re.compile(r"^(\d+)(?:_(\d+))?$")
_TASKS_SPEC = re.compile(r"^(\d+)_\[([0-9,\-:]+)\]$")  # 12_[1-3,7]: some of an array's tasks


# ---- finding jobs -----------------------------------------------------------------------------


def parse_job_spec(spec: str) -> tuple[int, int | None]:
    """"12" -> (12, None); "12_3" -> (12, 3); anything else: INVALID_JOB_ID."""
    m = _JOB_SPEC.match(str(spec).strip())
    if not m:
        raise SlurmError("INVALID_JOB_ID", f"Invalid job id {spec}")
    return int(m.group(1)), (int(m.group(2)) if m.group(2) is not None else None)


def jobs_for_spec(spec: str) -> list[Job]:
    """The rows a job id names: an array's base id names every task and the pending rest.

    "12_3" names task 3 (its own row, or the meta row while 3 is still unsplit).
    Raises INVALID_JOB_ID when nothing matches.
    """
    base, task = parse_job_spec(spec)
    if task is None:
        rows = list(Job.objects.filter(id=base))
        if not rows or rows[0].array_job_id == base:
            rows = list(Job.objects.filter(array_job_id=base).order_by("id"))
    else:
        rows = list(Job.objects.filter(array_job_id=base, array_task_id=task))
        if not rows:
            meta = Job.objects.filter(id=base, array_job_id=base,
                                      array_task_id__isnull=True).first()
            if meta is not None and task in expand_ids(meta.array_pending):
                rows = [meta]
    if not rows:
        raise SlurmError("INVALID_JOB_ID", f"Unable to find JobId={spec}")
    return rows


def split_array_task(meta: Job, task_id: int, new_id: int | Iterator[int] | None = None) -> Job:
    """Take ``task_id`` out of a meta row's pending set as its own row (locked caller's txn).

    When it is the last pending task, the meta row itself becomes that task.
    ``new_id`` is the new row's id, or ids to take one from (the scheduling
    cycle allocates them in bulk); None allocates one. No id is used when the
    meta row becomes the task.
    """
    pending = expand_ids(meta.array_pending)
    if task_id not in pending:
        raise SlurmError("INVALID_JOB_ID", f"Unable to find JobId={meta.id}_{task_id}")
    rest = [t for t in pending if t != task_id]
    if not rest:
        meta.array_task_id = task_id
        meta.array_pending = ""
        meta.save(update_fields=["array_task_id", "array_pending"])
        return meta
    if new_id is None:
        from scheduler.ids import allocate_job_ids

        new_id = allocate_job_ids(1)[0]
    elif not isinstance(new_id, int):
        new_id = next(new_id)
    meta.array_pending = compress_ids(rest)
    meta.save(update_fields=["array_pending"])
    task = Job.objects.get(pk=meta.pk)
    task.pk = new_id
    task.id = new_id
    task.array_task_id = task_id
    task.array_pending = ""
    task.save(force_insert=True)
    return task


def _locked(job: Job) -> Job:
    return Job.objects.select_for_update().get(pk=job.pk)


# ---- cancel and signal ------------------------------------------------------------------------


def _signal_number(sig: str | int | None) -> int | None:
    if sig is None:
        return None
    if isinstance(sig, int) or str(sig).isdigit():
        num = int(sig)
        try:
            _signal.Signals(num)
        except ValueError:
            raise SlurmError("SLURM_ERROR", f"Invalid signal {sig}") from None
        return num
    name = str(sig).upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(_signal.Signals[name])
    except KeyError:
        raise SlurmError("SLURM_ERROR", f"Invalid signal {sig}") from None


def _order(job: Job, kind: str, payload: dict[str, Any]) -> None:
    host = job.batch_host or next(iter(job.alloc or {}), "")
    node = Node.objects.filter(name=host).first()
    if node is None:
        return
    AgentOrder.objects.create(node=node, kind=kind, job=job, payload=payload)
    events.wake_agent(node.name)


SIGNAL_SCOPES = ("steps", "batch", "full")


def _check_scope(scope: str) -> None:
    """Which processes a signal reaches, as scancel's flags say: "steps" (the default:
    the tasks srun started), "batch" (``-b``: the batch shell alone) or "full" (``-f``)."""
    if scope not in SIGNAL_SCOPES:
        raise SlurmError("SLURM_ERROR", f"Invalid signal scope {scope}")


def do_cancel_job(actor: Any, job: Job, signal: str | int | None = None,
                  scope: str = "steps") -> None:
    """scancel one row: pending -> CANCELLED now; running -> a terminate (or signal) order.

    A pending array meta row is cancelled whole (the unsplit remainder). Finished
    jobs raise ALREADY_DONE; others' jobs ACCESS_DENIED. A signal other than SIGKILL
    reaches ``scope``; SIGKILL reaches every process, as in Slurm.
    """
    check_job_access(actor, job)
    signum = _signal_number(signal)
    _check_scope(scope)
    with transaction.atomic():
        job = _locked(job)
        if job.state in FINISHED_STATES or job.state == JobState.COMPLETING:
            raise SlurmError("ALREADY_DONE")
        if job.state == JobState.PENDING:
            if signum not in (None, int(_signal.SIGKILL)):
                raise SlurmError("JOB_PENDING")
            now = timezone.now()
            job.state = JobState.CANCELLED
            job.cancelled_by = actor_uid(actor)
            job.end_time = now
            job.reason = "None"
            job.save(update_fields=["state", "cancelled_by", "end_time", "reason"])
            events.request_cycle()  # dependants may now be released or become never-runnable
        elif signum is not None:
            _order(job, "signal", {"signal": _signal.Signals(signum).name.removeprefix("SIG"),
                                   "scope": "full" if signum == _signal.SIGKILL else scope})
        elif not job.kill_requested:
            job.kill_requested = True
            job.cancelled_by = actor_uid(actor)
            job.save(update_fields=["kill_requested", "cancelled_by"])
            if job.batch and (job.batch_host or job.alloc):
                _order(job, "terminate", {"reason": "cancel"})
            else:  # never handed to an agent (or an allocation): nothing to wait for
                _finish_locked(job, JobState.CANCELLED, 0, int(_signal.SIGTERM), reason="None")
        events.broadcast_jobs([job.id])


def do_cancel_jobs(actor: Any, spec: str, signal: str | int | None = None,
                   scope: str = "steps") -> list[int]:
    """scancel by id ("12", "12_3", "12_[2-9]"; an array's base id cancels every task and
    the rest).

    Returns the ids acted on. Raises the first error only when no row could be acted on.
    """
    _check_scope(scope)  # before rows_to_act_on splits tasks out of an array
    return _apply_each(rows_to_act_on(actor, spec),
                       lambda job: do_cancel_job(actor, job, signal, scope))


def rows_to_act_on(actor: Any, spec: str) -> list[Job]:
    """The rows ``spec`` names, for an action on them (cancel, hold, release, requeue,
    update). Tasks of an array (``12_3``, ``12_[2-9]``) are their own rows, and those
    still in the array's pending rest are split out of it first, so that the action
    touches them alone, as in Slurm; when they name all of a rest of several tasks, the
    rest is acted on whole, as one record (``scancel -t PENDING`` leaves an array's
    running tasks alone and cancels its rest as Slurm does)."""
    base, named = _named_tasks(spec)
    if named is None:
        return jobs_for_spec(spec)
    rows = list(Job.objects.filter(array_job_id=base, array_task_id__in=named).order_by("id"))
    with transaction.atomic():
        meta = (Job.objects.select_for_update()
                .filter(id=base, array_job_id=base, array_task_id__isnull=True).first())
        pending = set(expand_ids(meta.array_pending)) if meta is not None else set()
        inside = pending & named
        if meta is not None and inside:
            check_job_access(actor, meta)
            if meta.state != JobState.PENDING:
                if not rows:
                    raise SlurmError("ALREADY_DONE")
            elif inside == pending and len(pending) > 1:
                rows.append(meta)
            else:
                rows += [split_array_task(meta, t) for t in sorted(inside)]
    if not rows:
        raise SlurmError("INVALID_JOB_ID", f"Unable to find JobId={spec}")
    return rows


def _named_tasks(spec: str) -> tuple[int, set[int] | None]:
    """``12`` -> (12, None); ``12_3`` -> (12, {3}); ``12_[1-3,7]`` -> (12, {1, 2, 3, 7})."""
    tasks = _TASKS_SPEC.match(str(spec).strip())
    if tasks is None:
        base, task = parse_job_spec(spec)
        return base, None if task is None else {task}
    try:
        return int(tasks.group(1)), set(expand_ids(tasks.group(2)))
    except ValueError:
        raise SlurmError("INVALID_JOB_ID", f"Invalid job id {spec}") from None


def active_on(pairs: list[tuple[str, str]]) -> list[str]:
    """The active jobs of (account, user) associations ("" user: any user), one line each
    as sacctmgr lists them when it refuses to remove such an association."""
    match = Q(pk__in=[])
    for account, user in pairs:
        match |= Q(account=account, user=user) if user else Q(account=account)
    cluster = config.get("ClusterName")
    return [f"JobID = {job.display_id:<10} C = {cluster:<10} A = {job.account:<10} "
            f"U = {job.user:<9}"
            for job in Job.objects.filter(match, state__in=ACTIVE_STATES).order_by("id")]


def _apply_each(rows: list[Job], act: Callable[[Job], None]) -> list[int]:
    """Act on every row; the ids acted on. Access is denied outright; other errors
    only matter when no row could be acted on (the first one is raised)."""
    done: list[int] = []
    first_error: SlurmError | None = None
    for job in rows:
        try:
            act(job)
            done.append(job.id)
        except SlurmError as err:
            if err.name == "ACCESS_DENIED":
                raise
            first_error = first_error or err
    if not done and first_error is not None:
        raise first_error
    return done


# ---- hold / release ---------------------------------------------------------------------------


def do_hold_job(actor: Any, job: Job) -> None:
    """Hold a pending job: by its owner JobHeldUser, by an operator JobHeldAdmin."""
    check_job_access(actor, job)
    with transaction.atomic():
        job = _locked(job)
        if job.state != JobState.PENDING:
            raise SlurmError("JOB_NOT_PENDING")
        admin = is_operator(actor)
        job.hold = "admin" if admin else "user"
        job.reason = "JobHeldAdmin" if admin else "JobHeldUser"
        job.priority = 0
        job.save(update_fields=["hold", "reason", "priority"])
        events.broadcast_jobs([job.id])


def do_release_job(actor: Any, job: Job) -> None:
    """Release a held job; only an operator releases an admin hold."""
    check_job_access(actor, job)
    with transaction.atomic():
        job = _locked(job)
        if job.state != JobState.PENDING:
            raise SlurmError("JOB_NOT_PENDING")
        if not job.hold:
            return
        if job.hold == "admin" and not is_operator(actor):
            raise SlurmError("ACCESS_DENIED")
        job.hold = ""
        job.reason = "None"
        if job.eligible_time is None and not job.dependency:
            job.eligible_time = timezone.now()
        job.save(update_fields=["hold", "reason", "eligible_time"])
        events.broadcast_jobs([job.id])
        events.request_cycle()


def do_for_spec(fn: Any, actor: Any, spec: str) -> list[int]:
    """Apply hold/release/requeue to every row a job id names (arrays: all pending rows;
    one task: that task alone)."""
    rows = rows_to_act_on(actor, spec)
    if len(rows) == 1:
        fn(actor, rows[0])
        return [rows[0].id]
    return _apply_each(rows, lambda job: fn(actor, job))


# ---- requeue ----------------------------------------------------------------------------------


def do_requeue_job(actor: Any, job: Job) -> None:
    """scontrol requeue: a running job is terminated then pending again; a finished one at once."""
    check_job_access(actor, job)
    with transaction.atomic():
        job = _locked(job)
        if job.state == JobState.PENDING:
            raise SlurmError("JOB_PENDING")
        if job.state in RUNNING_STATES:
            if job.kill_requested:
                raise SlurmError("TRANSITION_STATE_NO_UPDATE")
            job.kill_requested = True
            job.save(update_fields=["kill_requested"])
            _order(job, "terminate", {"reason": "requeue"})
        else:
            _requeue_locked(job)
        events.broadcast_jobs([job.id])


def _requeue_locked(job: Job) -> None:
    nodes = release_resources(job)
    job.state = JobState.PENDING
    job.reason = "None"
    job.restarts += 1
    job.start_time = job.end_time = None
    job.nodes = job.batch_host = job.sched_nodes = ""
    job.kill_requested = False
    job.cancelled_by = None
    job.eligible_time = timezone.now()
    job.save(update_fields=["state", "reason", "restarts", "start_time", "end_time", "nodes",
                            "batch_host", "sched_nodes", "kill_requested", "cancelled_by",
                            "eligible_time"])
    JobStep.objects.filter(job=job, step="batch").update(state=JobState.REQUEUED)
    close_open_steps(job, job.eligible_time)
    events.broadcast_nodes(nodes)
    events.request_cycle()


# ---- update -----------------------------------------------------------------------------------

UPDATABLE = frozenset({"time_limit_min", "nice", "name", "priority", "comment", "reservation",
                       "array_max_tasks", "dependency", "begin_time", *job_request.KEYS})


def do_update_job(actor: Any, job: Job, changes: dict[str, Any]) -> Job:
    """scontrol update job: owners may lower the time limit and edit pending jobs (their
    size, placement and files too: ``job_request``); operators all."""
    check_job_access(actor, job)
    unknown = [k for k in changes if k not in UPDATABLE]
    if unknown:
        raise SlurmError("REST_FAIL_PARSING", f"cannot update {unknown[0]}")
    operator = is_operator(actor)
    with transaction.atomic():
        job = _locked(job)
        if job.state in FINISHED_STATES:
            raise SlurmError("ALREADY_DONE")
        pending = job.state == JobState.PENDING
        dirty: list[str] = []
        changed = [job.id]
        if "array_max_tasks" in changes:
            changed = _update_throttle(job, changes["array_max_tasks"])
        if "time_limit_min" in changes:
            _update_time_limit(job, changes["time_limit_min"], operator)
            dirty.append("time_limit_min")
        if "name" in changes:
            job.name = _text(changes["name"], "name")
            dirty.append("name")
        if "comment" in changes:
            job.comment = _text(changes["comment"], "comment")
            dirty.append("comment")
        for key in ("nice", "priority", "reservation", "dependency", "begin_time"):
            if key not in changes:
                continue
            if not pending:
                raise SlurmError("JOB_NOT_PENDING")
            _update_pending_field(job, key, changes[key], operator)
            dirty += {"priority": [key, "admin_priority", "hold", "reason"],
                      "dependency": [key, "eligible_time", "reason"],
                      "begin_time": [key, "eligible_time", "reason"]}.get(key, [key])
        request = {k: v for k, v in changes.items() if k in job_request.REQUEST}
        if request:
            if not pending:
                raise SlurmError("JOB_NOT_PENDING")
            dirty += job_request.update_request(job, request, operator)
        dirty += job_request.update_plain(job, changes, pending)
        if pending and job.reason in (*LIMIT_ERRORS, "None"):
            job.reason = next(iter(job_limit_reasons(job)), "None")
            dirty.append("reason")
        job.save(update_fields=sorted(set(dirty)))
        if "time_limit_min" in changes and job.state == JobState.RUNNING:
            # The node enforces the limit: tell it (0 / None: no limit).
            limit = job.time_limit_min * 60 if job.time_limit_min else None
            _order(job, "limit", {"time_limit_s": limit})
        events.broadcast_jobs(changed)
        events.request_cycle()
    return job


def _update_throttle(job: Job, value: Any) -> list[int]:
    """ArrayTaskThrottle: the most tasks of ``job``'s array running at once (0: no
    limit), for the whole array whichever of its ids was named; the ids of its rows."""
    limit = _int(value, "array_max_tasks")
    if job.array_job_id is None or limit < 0:
        raise SlurmError("INVALID_ARRAY")
    rows = Job.objects.filter(Q(id=job.array_job_id) | Q(array_job_id=job.array_job_id))
    ids = list(rows.values_list("id", flat=True))
    rows.update(array_max_tasks=limit or None)
    job.array_max_tasks = limit or None
    return ids


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SlurmError("REST_FAIL_PARSING", f"{key} must be a non-empty string")
    return value


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SlurmError("REST_FAIL_PARSING", f"{key} must be an integer")
    if not in_range(key, value):
        raise SlurmError("REST_FAIL_PARSING", f"{key} is out of range")
    return value


def _update_time_limit(job: Job, value: Any, operator: bool) -> None:
    if value is not None:
        value = _int(value, "time_limit_min")
        if value < 0:
            raise SlurmError("INVALID_TIME_LIMIT")
        value = value or None  # 0 = UNLIMITED, as in Slurm
    if not operator:
        current = job.time_limit_min
        if value is None and current is not None or (
                value is not None and current is not None and value > current):
            raise SlurmError("ACCESS_DENIED", "only an operator may raise a time limit")
    job.time_limit_min = value


def _update_pending_field(job: Job, key: str, value: Any, operator: bool) -> None:
    if key == "nice":
        nice = _int(value, key)
        if abs(nice) > 2147483645:
            raise SlurmError("INVALID_NICE")
        if nice < 0 and not operator:
            raise SlurmError("ACCESS_DENIED", "only operators may set a negative nice value")
        job.nice = nice
    elif key == "reservation":
        from scheduler.actions.submit import _check_reservation

        if not isinstance(value, str):
            raise SlurmError("REST_FAIL_PARSING", "reservation must be a string")
        _check_reservation(value.strip(), job.user, job.account)
        job.reservation = value.strip()  # "" leaves the reservation
    elif key == "dependency":
        if not isinstance(value, str):
            raise SlurmError("REST_FAIL_PARSING", "dependency must be a string")
        try:
            check_dependency(value.strip())
        except ValueError:
            raise SlurmError("DEPENDENCY") from None
        job.dependency = value.strip()  # "" drops it; the next cycle re-derives the reason
        if job.dependency:
            job.eligible_time = None
            if not job.hold:
                job.reason = "Dependency"
    elif key == "begin_time":  # scontrol update StartTime=: epoch seconds, None for now
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0 or not in_range(key, value)):
            raise SlurmError("REST_FAIL_PARSING", "begin_time must be epoch seconds")
        job.begin_time = datetime.fromtimestamp(value, tz=UTC) if value else None
        if job.begin_time is not None and job.begin_time > timezone.now():
            job.eligible_time = None
            if not job.hold:
                job.reason = "BeginTime"
        elif job.reason == "BeginTime":
            job.reason = "None"  # the next cycle decides what it waits for now
    elif key == "priority":
        if not operator:
            raise SlurmError("ACCESS_DENIED", "only operators may set a priority")
        prio = _int(value, key)
        if prio < 0:
            raise SlurmError("REST_FAIL_PARSING", "priority must not be negative")
        # Kept by the cycle (snapshot passes it as the job's fixed priority); 0 holds
        # the job, as in Slurm.
        job.priority = job.admin_priority = prio
        if prio == 0:
            job.hold, job.reason = "admin", "JobHeldAdmin"


# ---- the end ----------------------------------------------------------------------------------


def release_resources(job: Job) -> list[str]:
    """Give ``job``'s allocation back to its nodes; returns the node names touched.

    Idempotent: the job's ``alloc`` is emptied, and each node's alloc_cpus,
    alloc_memory_mb and alloc_gres are recomputed from the jobs still holding
    it; the base state follows (IDLE / MIXED / ALLOCATED). Call inside a
    transaction; node rows are locked in primary-key order.
    """
    names = sorted((job.alloc or {}).keys())
    if not names:
        return []
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(alloc={})
        job.alloc = {}
        nodes = list(Node.objects.select_for_update().filter(name__in=names).order_by("pk"))
        for node in nodes:
            recompute_node(node, exclude_job=job.pk)
    events.broadcast_nodes(names)
    return names


def recompute_node(node: Node, exclude_job: int | None = None) -> None:
    """Node totals from the jobs holding it now (their ``alloc`` entries); saves the node."""
    holders = Job.objects.filter(state__in=HOLDING_STATES, alloc__has_key=node.name)
    if exclude_job is not None:
        holders = holders.exclude(pk=exclude_job)
    _set_totals(node, holders.values_list("alloc", flat=True))


def recompute_nodes(nodes: list[Node]) -> None:
    """``recompute_node`` for each of ``nodes`` (locked, in primary-key order, by the
    caller) from one read of the jobs holding any of them."""
    if not nodes:
        return
    holders = list(Job.objects.filter(state__in=HOLDING_STATES,
                                      alloc__has_any_keys=[n.name for n in nodes])
                   .values_list("alloc", flat=True))
    for node in nodes:
        _set_totals(node, holders)


def _set_totals(node: Node, allocs: Iterable[Any]) -> None:
    cpus = mem = 0
    gres: dict[str, list[int]] = {}
    for alloc in allocs:
        part = (alloc or {}).get(node.name) or {}
        cpus += int(part.get("cpus", 0))
        mem += int(part.get("mem_mb", 0))
        gpus = part.get("gpus") or []
        if gpus:
            key = str(part.get("gres_key") or _gpu_key(node))
            gres.setdefault(key, []).extend(int(g) for g in gpus)
    node.alloc_cpus, node.alloc_memory_mb = cpus, mem
    node.alloc_gres = {k: sorted(set(v)) for k, v in gres.items()}
    fields = ["alloc_cpus", "alloc_memory_mb", "alloc_gres"]
    if node.state in ("IDLE", "MIXED", "ALLOCATED"):
        new = "IDLE" if cpus == 0 else ("ALLOCATED" if cpus >= node.cpus else "MIXED")
        if new != node.state:
            node.state = new
            fields.append("state")
        if new == "IDLE":
            node.last_busy = timezone.now()
            fields.append("last_busy")
    node.save(update_fields=fields)


def _gpu_key(node: Node) -> str:
    from scheduler.validation import node_gres

    for name, typ in node_gres(node.gres):
        if name == "gpu":
            return f"gpu:{typ}" if typ else "gpu"
    return "gpu"


def end_state(exit_code: int, signal: int, *, timed_out: bool = False, oom: bool = False,
              terminated_for: str | None = None) -> tuple[str, str]:
    """(state, reason) for an agent's "ended" event, as Slurm records them."""
    if terminated_for == "requeue":
        return JobState.PENDING, "None"
    if terminated_for == "cancel":
        return JobState.CANCELLED, "None"
    if timed_out or terminated_for == "timeout":
        return JobState.TIMEOUT, "TimeLimit"
    if oom:
        return JobState.OUT_OF_MEMORY, "OutOfMemory"
    if exit_code == 0 and signal == 0:
        return JobState.COMPLETED, "None"
    if exit_code != 0:
        return JobState.FAILED, "NonZeroExitCode"
    try:
        text = _signal.strsignal(signal) or str(signal)
    except ValueError:
        text = str(signal)
    return JobState.FAILED, f"RaisedSignal:{signal}({text})"


def do_finish_job(job: Job, state: str, exit_code: int = 0, signal: int = 0, *,
                  end_time: datetime | None = None, reason: str | None = None,
                  cpu_time_s: float = 0.0, max_rss_kb: int = 0) -> bool:
    """Record a job's end (or a requeue, ``state`` PENDING) once; False if it had ended already.

    Frees the allocation, closes the ``batch`` step, announces the change and
    asks for a cycle.
    """
    with transaction.atomic():
        job = _locked(job)
        if job.state in FINISHED_STATES or job.state == JobState.PENDING:
            return False
        if state == JobState.PENDING:
            job.exit_code, job.exit_signal = exit_code, signal
            _requeue_locked(job)
        else:
            _finish_locked(job, state, exit_code, signal, end_time=end_time, reason=reason,
                           cpu_time_s=cpu_time_s, max_rss_kb=max_rss_kb)
        events.broadcast_jobs([job.id])
    return True


def _record_usage(job: Job, end: datetime) -> None:
    """Feed the job's usage to fairshare, decayed as PriorityDecayHalfLife says."""
    params = priority_load.config_fields(config.settings_map())
    record_job_usage(job, end, half_life_s=params["decay_half_life_s"],
                     reset_period=params["usage_reset_period"])


def batch_step_state(job_state: str, exit_code: int, signal: int) -> str:
    """The ``batch`` step's end state, as Slurm's accounting records it: from the
    script's own exit status (killed by a signal: CANCELLED), whatever ended the job
    (a TIMEOUT or PREEMPTED job's script, killed with SIGTERM, is CANCELLED 0:15)."""
    if job_state in (JobState.OUT_OF_MEMORY, JobState.NODE_FAIL):
        return job_state
    return step_end_state(exit_code, signal)


def mark_ended(job: Job, step: JobStep | None, state: str, reason: str, exit_code: int,
               signal: int, now: datetime, cpu_time_s: float, max_rss_kb: int) -> None:
    """A job's end and its ``batch`` step's (an allocation has none), on the rows in memory
    (the caller saves)."""
    job.state, job.reason = state, reason
    job.exit_code, job.exit_signal = exit_code, signal
    job.derived_exit_code = max(job.derived_exit_code, exit_code)
    job.end_time = now
    job.cpu_time_s, job.max_rss_kb = cpu_time_s, max_rss_kb
    job.kill_requested = False
    if step is None:
        return
    step.state = batch_step_state(state, exit_code, signal)
    step.exit_code, step.exit_signal = exit_code, signal
    step.end_time = now
    step.cpu_time_s, step.max_rss_kb = cpu_time_s, max_rss_kb


def _finish_locked(job: Job, state: str, exit_code: int, signal: int, *,
                   end_time: datetime | None = None, reason: str | None = None,
                   cpu_time_s: float = 0.0, max_rss_kb: int = 0) -> None:
    now = end_time or timezone.now()
    if job.start_time is None:
        job.start_time = now
    step = JobStep.objects.get_or_create(
        job=job, step="batch", defaults={"start_time": job.start_time,
                                         "nodes": job.batch_host})[0] if job.batch else None
    mark_ended(job, step, state,
               reason if reason is not None else end_state(exit_code, signal)[1],
               exit_code, signal, now, cpu_time_s, max_rss_kb)
    _record_usage(job, now)  # before the allocation (its CPU count) is released
    nodes = release_resources(job)
    job.save(update_fields=["state", "reason", "exit_code", "exit_signal", "derived_exit_code",
                            "start_time", "end_time", "cpu_time_s", "max_rss_kb",
                            "kill_requested"])
    if step is not None:
        step.save()
    close_open_steps(job, now)
    events.broadcast_nodes(nodes)
    events.request_cycle()
