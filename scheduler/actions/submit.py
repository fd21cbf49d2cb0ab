"""``do_submit_job``: validate a job description and store the job PENDING.

Checks run in Slurm's order and fail with Slurm's words (slurm-golden err_*):
user, partition (default, existence, state, AllowGroups), account and QOS,
dependency and array syntax, sizes, time limit, memory/gres/features that no
node could ever satisfy, partition limits (EnforcePartLimits). Two failure
kinds, as in the scheduler: "never" is rejected here; "not now" (over a
partition limit with EnforcePartLimits=NO) is accepted PENDING with the reason
Slurm gives (PartitionTimeLimit, PartitionNodeLimit, PartitionConfig).

A memory request larger than every node's is special in Slurm: it is noticed
only once the job record exists, so it consumes a job id and leaves a FAILED
job (reason BadConstraints) before the submission fails. We copy that.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounting.models import Association, Qos
from scheduler import config, events
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.actions.limits import check_submit_limits
from scheduler.ids import allocate_job_ids
from scheduler.models import Job, JobState, Node, Partition, Reservation
from scheduler.records import compress_hosts, expand_hosts
from scheduler.validation import (
    check_dependency,
    compress_ids,
    constraint_features,
    constraint_satisfied,
    gres_fits,
    in_range,
    node_gres,
    parse_array,
    parse_gres,
)

STR_FIELDS = ("script", "cwd", "submit_dir", "command", "submit_host", "name", "partition",
              "account", "qos", "dependency", "array", "gres", "constraint", "nodelist",
              "exclude", "comment", "mail_type", "mail_user", "wckey", "reservation", "stdout",
              "stderr", "stdin", "open_mode", "signal")
INT_FIELDS = ("nodes_min", "nodes_max", "ntasks", "cpus_per_task", "ntasks_per_node",
              "mem_per_node_mb", "mem_per_cpu_mb", "time_limit_min", "time_min_min", "nice",
              "begin_time")
BOOL_FIELDS = ("hold", "exclusive", "test_only", "requeue", "allocation")
NICE_LIMIT = 2147483645


@dataclass
class SubmitResult:
    job_id: int
    test_only: dict[str, Any] | None = None
    job: Job | None = None


@dataclass
class _Checked:
    """What validation decided, ready to store."""

    fields: dict[str, Any]
    reason: str = "None"
    array_ids: list[int] = field(default_factory=list)
    bad_constraints: str = ""  # the detail line when the job must be stored FAILED


def do_submit_job(user: Any, desc: dict[str, Any]) -> SubmitResult:
    """Validate ``desc`` (the contract's job description) and store the job, or raise SlurmError.

    With ``test_only`` nothing is stored: the answer says when and where it would start.
    """
    d = normalize(desc)
    checked = _check(user, d)
    if d.get("test_only"):
        if checked.bad_constraints:
            raise SlurmError("REQUESTED_NODE_CONFIG_UNAVAILABLE", checked.bad_constraints)
        return SubmitResult(job_id=0, test_only=_plan(checked))
    with transaction.atomic():
        job_id = allocate_job_ids(1)[0]
        job = _store(job_id, checked)
        if checked.bad_constraints:
            events.broadcast_jobs([job_id])  # with the failed batch step _store made
        else:
            events.broadcast_new_job(job)
        if not checked.bad_constraints:
            events.request_cycle()
    if checked.bad_constraints:
        raise SlurmError("REQUESTED_NODE_CONFIG_UNAVAILABLE", checked.bad_constraints)
    return SubmitResult(job_id=job_id, job=job)


# ---- parsing -------------------------------------------------------------------------------


def normalize(desc: Any) -> dict[str, Any]:
    """A job description with its known keys type-checked; empty and null values left out."""
    if not isinstance(desc, dict):
        raise SlurmError("REST_INVALID_JOBS_DESC")
    out: dict[str, Any] = {}
    for key in STR_FIELDS:
        value = desc.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise SlurmError("REST_FAIL_PARSING", f"{key} must be a string")
        out[key] = value
    for key in INT_FIELDS:
        value = desc.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise SlurmError("REST_FAIL_PARSING", f"{key} must be an integer")
        if key != "nice" and value < 0:
            raise SlurmError("REST_FAIL_PARSING", f"{key} must not be negative")
        if not in_range(key, int(value)):
            raise SlurmError("REST_FAIL_PARSING", f"{key} is out of range")
        out[key] = int(value)
    for key in BOOL_FIELDS:
        value = desc.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise SlurmError("REST_FAIL_PARSING", f"{key} must be true or false")
        out[key] = value
    if "nodes_min" in out and "nodes_max" not in desc:
        out["nodes_max"] = out["nodes_min"]  # -N n means exactly n; "n-" sends nodes_max null
    argv = desc.get("argv") or []
    env = desc.get("environment") or {}
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise SlurmError("REST_FAIL_PARSING", "argv must be a list of strings")
    if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise SlurmError("REST_FAIL_PARSING", "environment must map strings to strings")
    out["argv"], out["environment"] = argv, env
    if out.get("open_mode", "truncate") not in ("truncate", "append"):
        raise SlurmError("REST_FAIL_PARSING", "open_mode must be truncate or append")
    return out


# ---- checks --------------------------------------------------------------------------------


def _check(user: Any, d: dict[str, Any]) -> _Checked:
    allocation = bool(d.get("allocation"))
    if allocation and (d.get("script") or d.get("array")):  # salloc sends neither
        raise SlurmError("REST_FAIL_PARSING", "an allocation has no script and no array")
    if not allocation and not d.get("script"):
        raise SlurmError("JOB_SCRIPT_MISSING")
    if not d.get("cwd"):
        raise SlurmError("MISSING_WORK_DIR")
    username = user.get_username()
    try:
        pw = pwd.getpwnam(username)
    except KeyError:
        raise SlurmError("USER_ID_MISSING", f"user {username} is not known here") from None
    try:
        group = grp.getgrgid(pw.pw_gid).gr_name
    except KeyError:
        group = str(pw.pw_gid)
    operator = is_operator(user)
    part, account, qos = placement(d, username, pw.pw_gid, pw.pw_uid)
    _check_reservation(d.get("reservation"), username, account)
    dependency = d.get("dependency", "")
    try:
        check_dependency(dependency)
    except ValueError:
        raise SlurmError("DEPENDENCY") from None
    array_ids: list[int] = []
    throttle: int | None = None
    if d.get("array"):
        try:
            array_ids, throttle = parse_array(d["array"], config.get_int("MaxArraySize"))
        except ValueError:
            raise SlurmError("INVALID_ARRAY") from None
    nice = d.get("nice", 0)
    if abs(nice) > NICE_LIMIT:
        raise SlurmError("INVALID_NICE")
    if nice < 0 and not operator:
        raise SlurmError("ACCESS_DENIED", "only operators may set a negative nice value")
    now = timezone.now()
    fields: dict[str, Any] = {
        "name": d.get("name") or ("interactive" if allocation else "sbatch"),
        "user": username, "uid": pw.pw_uid, "group": group, "gid": pw.pw_gid,
        "account": account, "partition": part.name, "qos": qos,
        "dependency": dependency, "nice": nice, "submit_time": now, "batch": not allocation,
        "script": d.get("script", ""), "argv": d["argv"], "environment": d["environment"],
        "work_dir": d["cwd"], "submit_dir": d.get("submit_dir") or d["cwd"],
        "command": d.get("command", ""), "stdout": d.get("stdout", ""),
        "stderr": d.get("stderr", ""),
        "stdin": d.get("stdin", ""), "open_mode": d.get("open_mode", "truncate"),
        "signal": d.get("signal", ""), "comment": d.get("comment", ""),
        "wckey": d.get("wckey", ""), "mail_type": d.get("mail_type", ""),
        "mail_user": d.get("mail_user", ""), "submit_host": d.get("submit_host", ""),
        "reservation": d.get("reservation", ""), "exclusive": bool(d.get("exclusive")),
        "requeue": d["requeue"] if d.get("requeue") is not None
        else config.get("JobRequeue") != "0",
        "array_max_tasks": throttle, "array_spec": d.get("array", ""),
        "ntasks_set": "ntasks" in d or "ntasks_per_node" in d,
        "cpus_per_task_set": "cpus_per_task" in d,
    }
    checked = _Checked(fields=fields, array_ids=array_ids)
    limit_reasons, checked.bad_constraints = check_request(username, d, part, fields,
                                                           len(array_ids) or 1)
    begin = d.get("begin_time")
    if begin is not None:
        fields["begin_time"] = datetime.fromtimestamp(begin, tz=UTC)
    if d.get("hold"):
        fields["hold"] = "user"
        checked.reason = "JobHeldUser"
    elif limit_reasons:
        checked.reason = limit_reasons[0]
    elif begin is not None and fields["begin_time"] > now:
        checked.reason = "BeginTime"
    elif dependency:
        checked.reason = "Dependency"
    return checked


def placement(d: dict[str, Any], username: str, gid: int,
              uid: int) -> tuple[Partition, str, str]:
    """The partition (one the user's groups may use), account and QOS a request names."""
    part = _partition(d.get("partition"))
    _check_groups(part, username, gid, uid)
    return part, _account(username, d.get("account"), part.name), _qos(d.get("qos"))


def check_request(username: str, d: dict[str, Any], part: Partition, fields: dict[str, Any],
                  count: int) -> tuple[list[str], str]:
    """What a request asks of its partition's nodes, into ``fields``: node lists, sizes,
    partition limits, QOS and association limits (``count`` new jobs; 0 for one already
    queued), and what no node could ever hold. Submit and ``scontrol update`` both check
    with this. Returns (the reasons to pend, the detail line of a memory request no node
    has, else "")."""
    nodes = _partition_nodes(part)
    _check_node_lists(d, part, nodes, fields)
    _check_size(d, fields)
    reasons = _check_limits(d, part, nodes, fields)
    check_submit_limits(username, fields, count, "time_limit_min" in d)
    return reasons, _check_never(d, nodes, fields)


def _partition(name: str | None) -> Partition:
    """The job's partition. As in Slurm, a DRAIN or INACTIVE one takes no new jobs (a DOWN
    one queues them)."""
    if not name:
        part = Partition.objects.filter(is_default=True).first()
        if part is None:
            raise SlurmError("DEFAULT_PARTITION_NOT_SET")
    else:
        names = [n.strip() for n in name.split(",") if n.strip()]
        found = {p.name: p for p in Partition.objects.filter(name__in=names)}
        for n in names:
            if n not in found:
                raise SlurmError("INVALID_PARTITION_NAME", f"invalid partition specified: {n}")
        part = found[names[0]]
    if part.state in ("INACTIVE", "DRAIN"):
        raise SlurmError("PARTITION_NOT_AVAIL")
    return part


def _check_groups(part: Partition, username: str, gid: int, uid: int) -> None:
    if not part.allow_groups or uid == 0:
        return
    allowed = {g.strip() for g in part.allow_groups.split(",") if g.strip()}
    if "ALL" in allowed:
        return
    mine = set()
    for g in os.getgrouplist(username, gid):
        try:
            mine.add(grp.getgrgid(g).gr_name)
        except KeyError:
            continue
    if not allowed & mine:
        raise SlurmError("JOB_MISSING_REQUIRED_PARTITION_GROUP")


def _account(username: str, account: str | None, partition: str) -> str:
    """With associations configured, the account must be one of the user's (default if none)."""
    if not Association.objects.exists():
        return account or ""
    mine = list(Association.objects.filter(user=username).select_related("account"))
    usable = [a for a in mine if not a.partition or a.partition == partition]
    if account is None:
        default = next((a for a in usable if a.is_default), None) or (usable[0] if usable
                                                                      else None)
        if default is None:
            raise SlurmError("INVALID_ACCOUNT")
        return str(default.account.name)
    if not any(a.account.name == account for a in usable):
        raise SlurmError("INVALID_ACCOUNT")
    return account


def _qos(qos: str | None) -> str:
    if not qos or qos == "normal":
        return "normal"
    if not Qos.objects.filter(name=qos).exists():
        raise SlurmError("INVALID_QOS")
    return qos


def _check_reservation(name: str | None, username: str, account: str) -> None:
    """``--reservation``: it must exist and admit the user (Slurm's messages)."""
    if not name:
        return
    from scheduler import reservations_load

    row = Reservation.objects.filter(name=name).first()
    if row is None:
        raise SlurmError("RESERVATION_INVALID")
    if not reservations_load.info(row, ()).admits(username, account):
        raise SlurmError("RESERVATION_ACCESS")


def _partition_nodes(part: Partition) -> list[Node]:
    return list(part.nodes.all().order_by("name"))


def _check_node_lists(d: dict[str, Any], part: Partition, nodes: list[Node],
                      fields: dict[str, Any]) -> None:
    in_part = {n.name for n in nodes}
    for key, target in (("nodelist", "req_nodes"), ("exclude", "exc_nodes")):
        if not d.get(key):
            continue
        try:
            names = expand_hosts(d[key])
        except Exception:
            raise SlurmError("INVALID_NODE_NAME", f"invalid node list {d[key]}") from None
        known = set(Node.objects.filter(name__in=names).values_list("name", flat=True))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SlurmError("INVALID_NODE_NAME", f"invalid node name specified: {unknown[0]}")
        if key == "nodelist" and any(n not in in_part for n in names):
            raise SlurmError("REQUESTED_NODES_NOT_IN_PARTITION")
        fields[target] = compress_hosts(names)


def _check_size(d: dict[str, Any], fields: dict[str, Any]) -> None:
    nodes_min = d.get("nodes_min") or 1
    nodes_max = d.get("nodes_max")
    if nodes_max is not None and nodes_max < nodes_min:
        raise SlurmError("INVALID_NODE_COUNT")
    ntasks = task_count(d)
    if ntasks < 1:
        raise SlurmError("BAD_TASK_COUNT")
    cpt = d.get("cpus_per_task") or 1
    mem_node, mem_cpu = d.get("mem_per_node_mb"), d.get("mem_per_cpu_mb")
    if mem_node is None and mem_cpu is None:
        if config.get_int("DefMemPerCPU"):
            mem_cpu = config.get_int("DefMemPerCPU")
        elif config.get_int("DefMemPerNode"):
            mem_node = config.get_int("DefMemPerNode")
    tl, tmin = d.get("time_limit_min"), d.get("time_min_min")
    fields.update(nodes_min=nodes_min, nodes_max=nodes_max, ntasks=ntasks, cpus_per_task=cpt,
                  ntasks_per_node=d.get("ntasks_per_node"), mem_per_node_mb=mem_node,
                  mem_per_cpu_mb=mem_cpu, time_limit_min=None if tl == 0 else tl,
                  time_min_min=tmin or None, gres=d.get("gres", ""),
                  constraint=d.get("constraint", ""))
    if tmin and tl and tmin > tl:
        raise SlurmError("INVALID_TIME_MIN_LIMIT")


def task_count(d: dict[str, Any]) -> int:
    """-n, else --ntasks-per-node times the nodes, else one task per node."""
    nodes_min = d.get("nodes_min") or 1
    per_node = d.get("ntasks_per_node")
    return int(d.get("ntasks") or (per_node * nodes_min if per_node else nodes_min))


def tasks_on_busiest_node(fields: dict[str, Any]) -> int:
    """The tasks on the node with the most of them (over nodes_min nodes)."""
    return int(fields["ntasks_per_node"] or -(-fields["ntasks"] // fields["nodes_min"]))


def _cpus_on_busiest_node(fields: dict[str, Any]) -> int:
    """CPUs the job needs on one node at least (its largest share over nodes_min nodes)."""
    cpt = fields["cpus_per_task"]
    return int(max(cpt, tasks_on_busiest_node(fields) * cpt))


LIMIT_ERRORS = {"PartitionTimeLimit": "INVALID_TIME_LIMIT",
                 "PartitionNodeLimit": "INVALID_NODE_COUNT",
                 "PartitionConfig": "TOO_MANY_REQUESTED_CPUS"}


def _check_limits(d: dict[str, Any], part: Partition, nodes: list[Node],
                  fields: dict[str, Any]) -> list[str]:
    """Partition limits: reasons to stay pending (EnforcePartLimits=NO) or a rejection."""
    if "time_limit_min" not in d:
        fields["time_limit_min"] = (part.default_time_min if part.default_time_min is not None
                                    else part.max_time_min)
    reasons = limit_reasons(part, nodes, fields)
    if reasons and config.get("EnforcePartLimits").strip().upper() in ("ALL", "ANY", "YES"):
        raise SlurmError(LIMIT_ERRORS[reasons[0]])
    return reasons


def limit_reasons(part: Partition, nodes: list[Node], fields: dict[str, Any]) -> list[str]:
    """The partition limits a request is over, in Slurm's order, as pending reasons."""
    reasons: list[str] = []
    tl = fields["time_limit_min"]
    if part.max_time_min is not None and (tl is None or tl > part.max_time_min):
        reasons.append("PartitionTimeLimit")
    nodes_min = fields["nodes_min"]
    if (part.max_nodes is not None and nodes_min > part.max_nodes) or (
            nodes_min < part.min_nodes and (fields["nodes_max"] or nodes_min) < part.min_nodes):
        reasons.append("PartitionNodeLimit")
    total_cpus = fields["ntasks"] * fields["cpus_per_task"]
    if (nodes_min > len(nodes)
            or _cpus_on_busiest_node(fields) > max((n.cpus for n in nodes), default=0)
            or total_cpus > sum(n.cpus for n in nodes)):
        reasons.append("PartitionConfig")
    return reasons


def job_partition(job: Job) -> Partition | None:
    """A stored job's partition (the first it names), if it still exists."""
    return Partition.objects.filter(name=job.partition.split(",")[0]).first()


def job_limit_reasons(job: Job) -> list[str]:
    """The partition limits a stored job is over now."""
    part = job_partition(job)
    if part is None:
        return []
    fields = {key: getattr(job, key) for key in (
        "time_limit_min", "nodes_min", "nodes_max", "ntasks", "cpus_per_task",
        "ntasks_per_node")}
    return limit_reasons(part, _partition_nodes(part), fields)


def _check_never(d: dict[str, Any], nodes: list[Node], fields: dict[str, Any]) -> str:
    """Gres and features nobody has are rejected; memory nobody has gives the FAILED job.

    Returns the detail line for the memory case ("" when some node could hold it).
    """
    if fields["gres"]:
        try:
            request = parse_gres(fields["gres"])
        except ValueError:
            raise SlurmError("INVALID_GRES") from None
        if not any(gres_fits(request, node_gres(n.gres)) for n in nodes):
            raise SlurmError("INVALID_GRES")
    if fields["constraint"]:
        try:
            names = constraint_features(fields["constraint"])
        except ValueError:
            raise SlurmError("INVALID_FEATURE") from None
        known = {f.strip() for n in nodes for f in n.features.split(",") if f.strip()}
        if any(name not in known for name in names) or not any(
                constraint_satisfied(fields["constraint"],
                                     {f.strip() for f in n.features.split(",")})
                for n in nodes):
            raise SlurmError("INVALID_FEATURE")
    max_mem = config.get_int("MaxMemPerNode") or None

    def fits(node: Node) -> bool:
        need = fields["mem_per_node_mb"]
        if need is None and fields["mem_per_cpu_mb"] is not None:
            # Per-CPU memory counts the CPUs the node could give (too many CPUs is
            # PartitionConfig, not a memory failure).
            need = fields["mem_per_cpu_mb"] * min(fields["cpus_per_task"], node.cpus)
        if not need:
            return True
        return bool(need <= node.real_memory_mb and (max_mem is None or need <= max_mem))

    if nodes and not any(fits(n) for n in nodes):
        return "Memory specification can not be satisfied"
    return ""


# ---- storing -------------------------------------------------------------------------------


def _store(job_id: int, checked: _Checked) -> Job:
    f = dict(checked.fields)
    job = Job(id=job_id, **f)
    if checked.array_ids:
        job.array_job_id = job_id
        job.array_pending = compress_ids(checked.array_ids)
    job.reason = checked.reason
    if job.hold:
        job.priority = 0
    if checked.bad_constraints:
        job.state = JobState.FAILED
        job.reason = "BadConstraints"
        job.exit_code = 1
        job.start_time = job.end_time = job.submit_time
    elif job.begin_time is None or job.begin_time <= job.submit_time:
        job.eligible_time = None if (job.hold or job.dependency) else job.submit_time
    job.save(force_insert=True)  # a job that never ran has no step (golden 115: job 19)
    return job


# ---- test-only ----------------------------------------------------------------------------


def _plan(checked: _Checked) -> dict[str, Any]:
    """Expected start for ``--test-only``: the core's plan if it offers one, else an estimate.

    The estimate: now when enough idle CPUs sit on usable nodes of the partition,
    else the moment enough running jobs will have reached their time limits.
    """
    from scheduler.cycle import plan_start  # the cycle imports the actions

    f = checked.fields
    result = plan_start(Job(id=0, **f))
    if result is not None:
        start, node_names = result
        return {"job_id": _next_job_id(), "start_time": int(start.timestamp()),
                "cpus": f["ntasks"] * f["cpus_per_task"],
                "nodes": compress_hosts(node_names), "partition": f["partition"]}
    return _estimate(f)


def _next_job_id() -> int:
    """The id the next job would get (shown by --test-only; nothing is consumed)."""
    from scheduler.models import JobIdCounter

    counter = JobIdCounter.objects.order_by("pk").first()
    first = max(config.get_int("FirstJobId"), 1)
    return int(max(counter.next_id, first)) if counter is not None else first


def _estimate(f: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    part = Partition.objects.get(name=f["partition"])
    usable = [n for n in part.nodes.all().order_by("-weight", "name")
              if n.state in ("IDLE", "MIXED") and not n.drain]
    usable.sort(key=lambda n: (n.weight, n.name))
    need_per_node = _cpus_on_busiest_node(f)
    picked = [n for n in usable if n.cpus - n.alloc_cpus >= need_per_node][: f["nodes_min"]]
    start = now
    if len(picked) < f["nodes_min"]:
        ends = []
        for job in Job.objects.filter(state=JobState.RUNNING, partition=f["partition"]):
            limit = job.time_limit_min
            if job.start_time is not None and limit is not None:
                ends.append(job.start_time.timestamp() + limit * 60)
        start = datetime.fromtimestamp(max(ends), tz=UTC) if ends else now
        picked = sorted(part.nodes.all(), key=lambda n: (n.weight, n.name))[: f["nodes_min"]]
    return {"job_id": _next_job_id(), "start_time": int(max(start, now).timestamp()),
            "cpus": f["ntasks"] * f["cpus_per_task"],
            "nodes": compress_hosts([n.name for n in picked]), "partition": f["partition"]}
