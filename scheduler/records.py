"""Model rows -> the JSON records of the REST contract (docs/architecture.md).

``job_record``, ``node_record`` and ``partition_record`` return plain dicts with
exactly the contract's keys; times are epoch seconds (int) or None. Callers
pass ``now`` so a page of records shares one clock; the ``*_records`` helpers
fetch related rows in a fixed number of queries.
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from scheduler.jsonsql import JsonKeyCount
from scheduler.models import Job, JobState, Node, Partition

# %a of an array's meta record, as Slurm prints it (NO_VAL - 1).
META_TASK_ID = 4294967294
_PATTERN = re.compile(r"%(\d*)([%AaJjNnstux])")


def compress_hosts(names: Iterable[str]) -> str:
    names = [n for n in names if n]
    if not names:
        return ""
    try:
        from drover import hostlist as dh

        return str(dh.compress(names))
    except ImportError:
        import hostlist

        return str(hostlist.collect_hostlist(names))


def expand_hosts(expr: str) -> list[str]:
    if not expr.strip():
        return []
    try:
        from drover import hostlist as dh

        return [str(n) for n in dh.expand(expr)]
    except ImportError:
        import hostlist

        return [str(n) for n in hostlist.expand_hostlist(expr)]


def epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def signal_name(num: int) -> str:
    try:
        return _signal.Signals(num).name.removeprefix("SIG")
    except ValueError:
        return str(num)


def expand_path(pattern: str, job: Job, default: str) -> str:
    """A stdout/stderr/stdin pattern with %j %A %a %x %u %N %% expanded, made absolute."""
    text = pattern or default
    first_node = (expand_hosts(job.nodes) or [""])[0] if job.nodes else ""
    array_id = job.array_job_id or job.id
    task = job.array_task_id
    if task is None and job.array_pending:
        task = META_TASK_ID

    def sub(m: re.Match[str]) -> str:
        width, code = m.group(1), m.group(2)
        values: dict[str, Any] = {
            "%": "%", "A": array_id, "a": task if task is not None else META_TASK_ID,
            "J": job.id, "j": job.id, "N": first_node, "n": 0, "s": "batch",
            "t": 0, "u": job.user, "x": job.name,
        }
        value = values[code]
        if isinstance(value, int) and width:
            return str(value).zfill(int(width))
        return str(value)

    text = _PATTERN.sub(sub, text)
    if not text.startswith("/") and job.work_dir:
        text = job.work_dir.rstrip("/") + "/" + text
    return text


def default_stdout(job: Job) -> str:
    return "slurm-%A_%a.out" if job.array_job_id is not None else "slurm-%j.out"


def array_task_str(job: Job) -> str | None:
    if job.array_task_id is not None or not job.array_pending:
        return None
    throttle = f"%{job.array_max_tasks}" if job.array_max_tasks else ""
    return f"[{job.array_pending}{throttle}]"


def _num_cpus(job: Job) -> int:
    if job.alloc:
        return sum(int(a.get("cpus", 0)) for a in job.alloc.values())
    return int(job.ntasks * job.cpus_per_task)


def _num_nodes(job: Job) -> int:
    # A compact list reads how many nodes ``alloc`` names, counted by the database
    # (``ANNOTATIONS``); a whole record or a model reads ``alloc`` itself.
    allocated = job.alloc_nodes if hasattr(job, "alloc_nodes") else len(job.alloc or ())
    if allocated:
        return int(allocated)
    if job.nodes:
        return len(expand_hosts(job.nodes))
    return int(job.nodes_min)


def run_time_s(job: Job, now: datetime) -> int:
    if job.start_time is None:
        return 0
    if job.state in (JobState.PENDING,):
        return 0
    end = job.end_time if job.end_time is not None else now
    return max(0, int((end - job.start_time).total_seconds()))


def accounted(record: dict[str, Any]) -> dict[str, Any]:
    """A job's record as accounting keeps it (sacct): a job requeued and not started
    again is its last run, ``REQUEUED``, whose batch step was killed for the requeue
    (``CANCELLED 0:15``, golden 115); squeue's record shows it PENDING."""
    steps = record.get("steps") or []
    if record.get("state") != JobState.PENDING or not any(
            s["state"] == JobState.REQUEUED for s in steps):
        return record

    def killed(step: dict[str, Any]) -> dict[str, Any]:
        code, sig = step["exit_code"]
        return {**step, "state": JobState.CANCELLED,
                "exit_code": [code, sig or (0 if code else 15)]}

    return {**record, "state": JobState.REQUEUED,
            "steps": [killed(s) if s["state"] == JobState.REQUEUED else s for s in steps]}


def step_record(step: Any) -> dict[str, Any]:
    """A step as the contract has it; ``name`` is srun's command ("" for the batch step),
    ``num_cpus`` only where the step has its own count (srun's), else the job's counts."""
    record = {
        "step": step.step, "name": step.name, "state": step.state,
        "cancelled_by": step.cancelled_by,
        "exit_code": [step.exit_code, step.exit_signal],
        "start_time": epoch(step.start_time), "end_time": epoch(step.end_time),
        "nodes": step.nodes, "cpu_time_s": step.cpu_time_s, "max_rss_kb": step.max_rss_kb,
        "ntasks": step.ntasks, "rss_kb": step.rss_kb, "vmsize_kb": step.vmsize_kb,
        "max_vmsize_kb": step.max_vmsize_kb, "read_bytes": step.read_bytes,
        "write_bytes": step.write_bytes,
    }
    if step.cpus:
        record["num_cpus"] = step.cpus
    return record


def ordered_steps(steps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Step records in sacct's order: batch, extern, then srun's 0, 1, ..."""
    from scheduler.actions.steps import step_order

    return sorted(steps, key=lambda s: step_order(str(s["step"])))


def step_usage_record(step: Any) -> dict[str, Any]:
    """A running step's latest usage sample (``sstat``): the step record and its pids."""
    return {**step_record(step), "pids": list(step.pids or []),
            "usage_time": epoch(step.usage_time)}


_DEPEND_ITEM = re.compile(r"^([a-z]+)((?::[^:]+)*)$")


def dependency_text(job: Any) -> str:
    """The dependency as Slurm shows it: each unmet target with ``(unfulfilled)``
    (``(failed)`` once it can never be met), and nothing once it has been met
    (the cycle sets ``eligible_time`` then; Slurm drops satisfied items)."""
    spec = job.dependency or ""
    if not spec or job.state != JobState.PENDING or job.eligible_time is not None:
        return ""
    mark = "(failed)" if job.reason == "DependencyNeverSatisfied" else "(unfulfilled)"
    sep = "?" if "?" in spec else ","
    out = []
    for item in spec.split(sep):
        m = _DEPEND_ITEM.match(item.strip())
        if m is None or "(" in item:
            out.append(item)  # already annotated, or not ours to rewrite
        elif not m.group(2):
            out.append(f"{m.group(1)}{mark}")  # singleton
        else:
            out.extend(f"{m.group(1)}:{t}{mark}" for t in m.group(2)[1:].split(":"))
    return sep.join(out)


def _stdout(job: Job) -> str:
    return expand_path(job.stdout, job, default_stdout(job))


def _stderr(job: Job) -> str:
    return expand_path(job.stderr, job, job.stdout or default_stdout(job))


# Each key of the job record (but "steps") and how to compute it from a job row and
# the shared clock. ``job_record`` builds the whole record from this table, and
# ``job_rows`` only the keys a client asked for (squeue asks for what it prints).
JOB_FIELDS: dict[str, Callable[[Any, datetime], Any]] = {
    "job_id": lambda j, now: j.id,
    "array_job_id": lambda j, now: j.array_job_id,
    "array_task_id": lambda j, now: j.array_task_id,
    "array_task_str": lambda j, now: array_task_str(j),
    "name": lambda j, now: j.name,
    "user": lambda j, now: j.user,
    "uid": lambda j, now: j.uid,
    "group": lambda j, now: j.group,
    "gid": lambda j, now: j.gid,
    "account": lambda j, now: j.account,
    "partition": lambda j, now: j.partition,
    "qos": lambda j, now: j.qos,
    "state": lambda j, now: j.state,
    "reason": lambda j, now: j.reason,
    "priority": lambda j, now: j.priority,
    "nice": lambda j, now: j.nice,
    "dependency": lambda j, now: dependency_text(j),
    "hold": lambda j, now: bool(j.hold),
    "submit_time": lambda j, now: epoch(j.submit_time),
    "eligible_time": lambda j, now: epoch(j.eligible_time),
    "start_time": lambda j, now: epoch(j.start_time),
    "end_time": lambda j, now: epoch(j.end_time),
    "time_limit_min": lambda j, now: j.time_limit_min,
    "time_min_min": lambda j, now: j.time_min_min,
    "run_time_s": run_time_s,
    "nodes": lambda j, now: j.nodes,
    "num_nodes": lambda j, now: _num_nodes(j),
    "num_cpus": lambda j, now: _num_cpus(j),
    "num_tasks": lambda j, now: j.ntasks,
    "cpus_per_task": lambda j, now: j.cpus_per_task,
    "ntasks_per_node": lambda j, now: j.ntasks_per_node,
    "mem_per_node_mb": lambda j, now: j.mem_per_node_mb,
    "mem_per_cpu_mb": lambda j, now: j.mem_per_cpu_mb,
    "gres": lambda j, now: j.gres,
    "constraint": lambda j, now: j.constraint,
    "exclusive": lambda j, now: j.exclusive,
    "requeue": lambda j, now: j.requeue,
    "restarts": lambda j, now: j.restarts,
    "batch_host": lambda j, now: j.batch_host,
    "batch_flag": lambda j, now: j.batch,
    "work_dir": lambda j, now: j.work_dir,
    "command": lambda j, now: j.command,
    "stdout": lambda j, now: _stdout(j),
    "stderr": lambda j, now: _stderr(j),
    "stdin": lambda j, now: expand_path(j.stdin, j, "/dev/null"),
    "exit_code": lambda j, now: [j.exit_code, j.exit_signal],
    "derived_exit_code": lambda j, now: [j.derived_exit_code, 0],
    "comment": lambda j, now: j.comment,
    "submit_host": lambda j, now: j.submit_host,
    "reservation": lambda j, now: j.reservation,
    "req_nodes": lambda j, now: j.req_nodes,
    "exc_nodes": lambda j, now: j.exc_nodes,
    "cancelled_by": lambda j, now: j.cancelled_by,
    "sched_nodes": lambda j, now: j.sched_nodes or None,
    "sched_start_time": lambda j, now: epoch(j.sched_start_time),
    "nodes_max": lambda j, now: j.nodes_max,
    "mail_type": lambda j, now: j.mail_type,
    "mail_user": lambda j, now: j.mail_user,
    "wckey": lambda j, now: j.wckey,
}


# The columns a key's getter reads, where that is not just the column of its own name
# (``list_rows(qs, fields)`` reads only these; tests check every key against it).
_PATH_COLUMNS = ("id", "array_job_id", "array_task_id", "array_pending", "nodes", "user",
                 "name", "work_dir")
_COLUMNS: dict[str, tuple[str, ...]] = {
    "job_id": ("id",),
    "array_task_str": ("array_task_id", "array_pending", "array_max_tasks"),
    "run_time_s": ("start_time", "end_time", "state"),
    "num_nodes": ("alloc_nodes", "nodes", "nodes_min"),
    "num_cpus": ("alloc", "ntasks", "cpus_per_task"),
    "num_tasks": ("ntasks",),
    "batch_flag": ("batch",),
    "stdout": ("stdout", *_PATH_COLUMNS),
    "stderr": ("stderr", "stdout", *_PATH_COLUMNS),
    "stdin": ("stdin", *_PATH_COLUMNS),
    "exit_code": ("exit_code", "exit_signal"),
    "dependency": ("dependency", "state", "eligible_time", "reason"),
}
# Values the database computes for a compact list, read as if they were columns.
ANNOTATIONS: dict[str, Callable[[], Any]] = {"alloc_nodes": lambda: JsonKeyCount("alloc")}
# What the list filters read after the query (queries._keep_meta_match).
_LIST_COLUMNS = ("id", "array_job_id", "array_task_id", "array_pending")


def columns_for(fields: Iterable[str]) -> list[str]:
    """The job columns needed to answer the record keys ``fields`` (unknown keys: none)."""
    cols = set(_LIST_COLUMNS)
    for f in fields:
        if f in JOB_FIELDS:
            cols.update(_COLUMNS.get(f, (f,)))
    return sorted(cols)


def _none(job: Any, now: datetime) -> None:
    return None


def job_record(job: Job, now: datetime | None = None,
               steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The contract's job record. ``steps``: the step records when the caller
    fetched them (``job_records`` does, in one query); else ``job.steps.all()``."""
    now = now or timezone.now()
    if steps is None:
        steps = [step_record(s) for s in job.steps.all()]  # type: ignore[attr-defined]
    record = {key: get(job, now) for key, get in JOB_FIELDS.items()}
    record["steps"] = ordered_steps(steps)
    return record


# The keys whose value is the column of the same name, as read: ``job_rows`` copies
# them from a ``JobRow`` without calling their getter (tests check the two agree).
PLAIN_KEYS = frozenset({
    "array_job_id", "array_task_id", "name", "user", "uid", "group", "gid", "account",
    "partition", "qos", "state", "reason", "priority", "nice",
    "time_limit_min", "nodes", "cpus_per_task", "ntasks_per_node", "mem_per_node_mb",
    "mem_per_cpu_mb", "gres", "constraint", "exclusive", "requeue", "restarts",
    "batch_host", "work_dir", "command", "comment", "submit_host", "reservation",
    "req_nodes", "exc_nodes", "cancelled_by", "nodes_max", "mail_type", "mail_user", "wckey",
})


def job_rows(jobs: Iterable[Any], fields: list[str],
             now: datetime | None = None) -> list[list[Any]]:
    """Only ``fields`` of each job's record, as one list per job (the compact answer).

    A name the record does not have answers None, as a record without that key
    reads to the commands (a newer client may ask an older server). A plain key of
    a ``JobRow`` is read from its values, without a call (a fifth less time).
    """
    now = now or timezone.now()
    jobs = list(jobs)
    copied = PLAIN_KEYS if all(type(j) is JobRow for j in jobs) else frozenset()
    spec = [(f, f in copied, JOB_FIELDS.get(f, _none)) for f in fields]
    rows = []
    for job in jobs:
        values = job.__dict__
        rows.append([values[f] if plain else get(job, now) for f, plain, get in spec])
    return rows


# The columns a job record needs: everything but the script and its environment,
# which can be large and which no record shows.
LIST_DEFER = ("script", "environment", "argv", "row_version")
_STEP_FIELDS = ("job_id", "step", "name", "cpus", "cancelled_by", "state", "exit_code",
                "exit_signal", "start_time", "end_time", "nodes", "cpu_time_s", "max_rss_kb",
                "ntasks", "rss_kb", "vmsize_kb", "max_vmsize_kb", "read_bytes", "write_bytes")


class JobRow:
    """A job row read with ``values()`` (``list_rows``): the attributes a record needs,
    without building a model instance (a tenth of the cost for long lists)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values  # owned: values() builds a dict per row
        self.pk = values["id"]


def list_fields() -> list[str]:
    return [f.attname for f in Job._meta.concrete_fields if f.attname not in LIST_DEFER]


def list_rows(qs: Any, fields: Iterable[str] | None = None) -> list[Any]:
    """The jobs of ``qs`` as ``JobRow`` objects, for ``job_records`` (no script, environment),
    or with ``fields`` only the columns ``job_rows(..., fields)`` needs (a third of the time
    for 1,000 jobs: fewer values to convert, no JSON column unless asked for)."""
    columns = list_fields() if fields is None else columns_for(fields)
    computed = {c: ANNOTATIONS[c]() for c in columns if c in ANNOTATIONS}
    plain = [c for c in columns if c not in computed]
    return [JobRow(v) for v in qs.values(*plain, **computed)]


def steps_by_job(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The step records of the jobs ``ids``, in a query per 900 ids (plain values, no models)."""
    from types import SimpleNamespace

    from scheduler.models import JobStep

    out: dict[int, list[dict[str, Any]]] = {}
    for i in range(0, len(ids), 900):
        rows = (JobStep.objects.filter(job_id__in=ids[i:i + 900])
                .order_by("id").values(*_STEP_FIELDS))
        for row in rows:
            out.setdefault(row["job_id"], []).append(step_record(SimpleNamespace(**row)))
    return out


def job_records(jobs: Iterable[Job], now: datetime | None = None) -> list[dict[str, Any]]:
    """Records sharing one clock. Steps come prefetched (``prefetch_related("steps")``)
    or, when not, from one extra query for the whole list."""
    now = now or timezone.now()
    jobs = list(jobs)
    if jobs and "steps" not in getattr(jobs[0], "_prefetched_objects_cache", {}):
        steps = steps_by_job([j.id for j in jobs])
        return [job_record(j, now, steps.get(j.id, [])) for j in jobs]
    return [job_record(j, now) for j in jobs]


def node_state(node: Node) -> tuple[str, list[str]]:
    """(state as sinfo/scontrol name it, flags): DRAIN makes DRAINED (idle) or DRAINING."""
    base = node.state or "UNKNOWN"
    flags: list[str] = []
    if node.drain:
        flags.append("DRAIN")
        if base not in ("DOWN",):
            return ("DRAINING" if node.alloc_cpus > 0 else "DRAINED"), flags
    if base == "DOWN" and node.reason == "Not responding":
        flags.append("NOT_RESPONDING")
    return base, flags


def gres_used(node: Node) -> str:
    """"gpu:a100:1(IDX:0)" per configured gres; "" for a node without gres."""
    from scheduler.validation import compress_ids, node_gres

    parts = []
    used: dict[str, list[int]] = node.alloc_gres or {}
    for (name, typ) in node_gres(node.gres):
        key = f"{name}:{typ}" if typ else name
        idx = sorted({int(i) for k, v in used.items() if k == key for i in v})
        parts.append(f"{key}:{len(idx)}(IDX:{compress_ids(idx) or 'N/A'})")
    return ",".join(parts)


def node_record(node: Node, partitions: list[str] | None = None,
                resv_flags: dict[str, list[str]] | None = None) -> dict[str, Any]:
    state, flags = node_state(node)
    if resv_flags is None:
        from scheduler.reservations_load import node_flags

        resv_flags = node_flags()
    flags += resv_flags.get(node.name, [])
    if partitions is None:
        partitions = [p.name for p in node.partitions.all()]  # type: ignore[attr-defined]
    return {
        "name": node.name, "state": state, "state_flags": flags, "base_state": node.state,
        "reason": node.reason, "reason_user": node.reason_user,
        "reason_time": epoch(node.reason_time),
        "cpus": node.cpus, "alloc_cpus": node.alloc_cpus, "cpu_load": node.cpu_load,
        "boards": node.boards, "sockets": node.sockets,
        "cores_per_socket": node.cores_per_socket, "threads_per_core": node.threads_per_core,
        "real_memory_mb": node.real_memory_mb, "alloc_memory_mb": node.alloc_memory_mb,
        "free_memory_mb": node.free_memory_mb,
        "gres": node.gres, "gres_used": gres_used(node),
        "features": node.features, "weight": node.weight,
        "partitions": partitions,
        "boot_time": epoch(node.boot_time), "last_busy": epoch(node.last_busy),
        "slurmd_start_time": epoch(node.agent_start_time),
        "version": node.version, "arch": "", "os": "",
    }


def node_records(nodes: Iterable[Node]) -> list[dict[str, Any]]:
    from scheduler.reservations_load import node_flags

    resv = node_flags()
    return [node_record(n, resv_flags=resv) for n in nodes]


def partition_record(part: Partition) -> dict[str, Any]:
    nodes = list(part.nodes.all())
    names = [n.name for n in nodes]
    allow: str | list[str] = ("ALL" if not part.allow_groups
                              else [g for g in part.allow_groups.split(",") if g])
    return {
        "name": part.name, "nodes": compress_hosts(names), "node_names": names,
        "default": part.is_default, "state": part.state,
        "max_time_min": part.max_time_min, "default_time_min": part.default_time_min,
        "max_nodes": part.max_nodes, "min_nodes": part.min_nodes,
        "allow_groups": allow, "priority_tier": part.priority_tier,
        "priority_job_factor": part.priority_job_factor,
        "oversubscribe": part.oversubscribe,
        "total_cpus": sum(n.cpus for n in nodes), "total_nodes": len(nodes),
    }
