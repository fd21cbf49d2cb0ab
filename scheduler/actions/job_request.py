"""``scontrol update`` of what a job asks for (Slurm 22.05's ``_update_job``).

Size (NumNodes, NumTasks, CPUsPerTask, NumCPUs, MinCPUsNode), memory (MinMemoryNode,
MinMemoryCPU), Gres, Features, ReqNodeList, ExcNodeList, Partition, Account, QOS,
TimeMin and OverSubscribe change only while the job is PENDING. The stored request with
the changes over it is checked by the submit path's own functions
(``submit.check_request``): an update is taken when sbatch of the changed job would be,
with the same errors and the same reasons to pend. The partition, account and QOS are
checked again, as at submit, when the update names one of them (Slurm checks the
association again when the account or the partition changes). A memory request no node
could hold is refused: at submit it leaves a FAILED job, here there is none to fail.

NumCPUs and MinCPUsNode have no column, since the core allocates tasks times CPUs per
task: the CPUs per task grow until the job's CPUs, or its busiest node's, reach them. A
CPUs per task the user gave (``-c``, CPUsPerTask) is their floor, as a minimum never
shrinks a request in Slurm. As in Slurm, the task count grows to the node count, a task
count given once stays given (SLURM_NTASKS), and only an operator changes OverSubscribe.

WorkDir, StdOut, StdErr and WCKey also change only while the job is PENDING; Requeue,
MailType and MailUser until it ends. They are stored as given, as at submit.
"""

from __future__ import annotations

from typing import Any

from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import (
    check_request,
    job_partition,
    normalize,
    placement,
    task_count,
    tasks_on_busiest_node,
)
from scheduler.models import Job, Partition
from scheduler.validation import in_range

REQUEST = frozenset({
    "partition", "account", "qos", "nodes_min", "nodes_max", "ntasks", "cpus_per_task",
    "min_cpus", "min_cpus_per_node", "mem_per_node_mb", "mem_per_cpu_mb", "gres",
    "constraint", "nodelist", "exclude", "time_min_min", "exclusive"})
# Key -> column of the values stored as given.
_PENDING_PLAIN = {"cwd": "work_dir", "stdout": "stdout", "stderr": "stderr", "wckey": "wckey"}
_ANYTIME_PLAIN = {"requeue": "requeue", "mail_type": "mail_type", "mail_user": "mail_user"}
KEYS = REQUEST | _PENDING_PLAIN.keys() | _ANYTIME_PLAIN.keys()

# The columns a checked request is written to.
_STORED = ("partition", "account", "qos", "exclusive", "req_nodes", "exc_nodes", "nodes_min",
           "nodes_max", "ntasks", "cpus_per_task", "mem_per_node_mb", "mem_per_cpu_mb",
           "gres", "constraint", "time_min_min", "ntasks_set", "cpus_per_task_set")
# Counts that must be at least 1, and Slurm's error when not.
_COUNTS = {"nodes_min": "INVALID_NODE_COUNT", "ntasks": "BAD_TASK_COUNT",
           "cpus_per_task": "REST_FAIL_PARSING", "min_cpus": "REST_FAIL_PARSING",
           "min_cpus_per_node": "REST_FAIL_PARSING"}
_MEMORY = ("mem_per_node_mb", "mem_per_cpu_mb")  # one or the other


def update_request(job: Job, changes: dict[str, Any], operator: bool) -> list[str]:
    """Check the REQUEST keys ``changes`` against pending ``job`` (locked by the caller)
    and apply them; the columns changed."""
    if "exclusive" in changes and not operator:
        raise SlurmError("ACCESS_DENIED", "only an operator may change OverSubscribe")
    _check_counts(changes)
    merged = {**_request_of(job), **changes}
    for mine, other in (_MEMORY, _MEMORY[::-1]):
        if mine in changes and other not in changes:
            merged[other] = None
    d = normalize(merged)
    if "ntasks" in d and d["ntasks"] < d.get("nodes_min", 1):
        d["ntasks"] = d["nodes_min"]  # Slurm raises the task count to the node count
    _apply_min_cpus(d, changes, job.cpus_per_task_set)
    part, fields = _placement(job, d, changes)
    fields.update(req_nodes="", exc_nodes="", exclusive=bool(d.get("exclusive")),
                  ntasks_set=job.ntasks_set or "ntasks" in changes,
                  cpus_per_task_set=job.cpus_per_task_set or "cpus_per_task" in changes)
    _, bad_memory = check_request(job.user, d, part, fields, 0)
    if bad_memory:
        raise SlurmError("REQUESTED_NODE_CONFIG_UNAVAILABLE", bad_memory)
    changed = [key for key in _STORED if getattr(job, key) != fields[key]]
    for key in changed:
        setattr(job, key, fields[key])
    return changed


def update_plain(job: Job, changes: dict[str, Any], pending: bool) -> list[str]:
    """WorkDir, StdOut, StdErr, WCKey (pending jobs), Requeue, MailType and MailUser;
    the columns changed."""
    changed = []
    for key, value in changes.items():
        column = _PENDING_PLAIN.get(key) or _ANYTIME_PLAIN.get(key)
        if column is None:
            continue
        if key in _PENDING_PLAIN and not pending:
            raise SlurmError("JOB_NOT_PENDING")
        if key == "requeue" and not isinstance(value, bool):
            raise SlurmError("REST_FAIL_PARSING", "requeue must be true or false")
        if key != "requeue" and not isinstance(value, str):
            raise SlurmError("REST_FAIL_PARSING", f"{key} must be a string")
        if key == "cwd" and not value.strip():
            raise SlurmError("MISSING_WORK_DIR")
        setattr(job, column, value)
        changed.append(column)
    return changed


def _check_counts(changes: dict[str, Any]) -> None:
    for key, error in _COUNTS.items():
        if key not in changes:
            continue
        value = changes[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SlurmError("REST_FAIL_PARSING", f"{key} must be an integer")
        if not in_range(key, value):
            raise SlurmError("REST_FAIL_PARSING", f"{key} is out of range")
        if value < 1:
            raise SlurmError(error, f"{key} must be at least 1")


def _request_of(job: Job) -> dict[str, Any]:
    """The stored job as the job description that sbatch sends (what the checks read)."""
    return {
        "partition": job.partition, "account": job.account, "qos": job.qos,
        "nodes_min": job.nodes_min, "nodes_max": job.nodes_max,
        "ntasks": job.ntasks if job.ntasks_set else None, "cpus_per_task": job.cpus_per_task,
        "ntasks_per_node": job.ntasks_per_node, "mem_per_node_mb": job.mem_per_node_mb,
        "mem_per_cpu_mb": job.mem_per_cpu_mb, "gres": job.gres, "constraint": job.constraint,
        "nodelist": job.req_nodes, "exclude": job.exc_nodes, "exclusive": job.exclusive,
        "time_limit_min": job.time_limit_min or 0, "time_min_min": job.time_min_min,
    }


def _apply_min_cpus(d: dict[str, Any], changes: dict[str, Any], given: bool) -> None:
    """NumCPUs (``min_cpus``) and MinCPUsNode (``min_cpus_per_node``) as CPUs per task."""
    if "min_cpus" not in changes and "min_cpus_per_node" not in changes:
        return
    cpt = d.get("cpus_per_task", 1) if given or "cpus_per_task" in changes else 1
    shape = {"ntasks": task_count(d), "nodes_min": d.get("nodes_min", 1),
             "ntasks_per_node": d.get("ntasks_per_node")}
    for key, tasks in (("min_cpus", shape["ntasks"]),
                       ("min_cpus_per_node", tasks_on_busiest_node(shape))):
        if key in changes:
            cpt = max(cpt, -(-changes[key] // tasks))
    d["cpus_per_task"] = cpt


def _placement(job: Job, d: dict[str, Any],
               changes: dict[str, Any]) -> tuple[Partition, dict[str, Any]]:
    """The partition, and the account and QOS fields: checked as at submit when the update
    names one of them, else as stored."""
    if changes.keys() & {"partition", "account", "qos"}:
        part, account, qos = placement(d, job.user, job.gid, job.uid)
    else:
        found = job_partition(job)
        if found is None:
            raise SlurmError("INVALID_PARTITION_NAME",
                             f"invalid partition specified: {job.partition}")
        part, account, qos = found, job.account, job.qos
    return part, {"partition": part.name, "account": account, "qos": qos}
