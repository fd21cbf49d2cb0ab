"""ORM -> core types: everything one scheduling cycle needs, in a fixed number of queries.

Also decides each pending job's eligibility, which the pure core takes as given:
holds (JobHeldUser / JobHeldAdmin), begin times (BeginTime), dependencies
(Dependency / DependencyNeverSatisfied) and array throttles (JobArrayTaskLimit).

Dependencies follow Slurm: items joined by ``,`` must all hold, by ``?`` any one;
``after`` needs the target started, ``afterany`` ended, ``afterok`` completed,
``afternotok`` ended otherwise; ``aftercorr`` is read as ``afterok``; ``after:id+M``
waits M minutes more from the start (or, for a job cancelled before it started, the
end); a target id that does not exist (never did, or purged) counts as satisfied,
as Slurm 22.05 clears such dependencies; ``singleton`` waits for every earlier
active job of the same user and name. An array's base id stands for all its
tasks, ``id_task`` for that task alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import Q

from drover.slurmconf import SCHEDULER_NUMBERS
from scheduler import config as conf
from scheduler import limits_load, priority_load, reservations_load, row_versions
from scheduler.core import types as core
from scheduler.models import Job, JobState, Node, Partition
from scheduler.records import expand_hosts
from scheduler.validation import expand_ids, node_gres, parse_gres

HOLDING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
ACTIVE = (JobState.PENDING, *HOLDING)
USABLE_NODE_STATES = ("IDLE", "MIXED", "ALLOCATED")
#: Array tasks of one meta row handed to the core per cycle (the rest wait their turn).
MAX_TASKS_PER_CYCLE = 1000

SATISFIED, WAITING, NEVER = "satisfied", "waiting", "never"

PENDING_FIELDS = (
    "id", "array_job_id", "array_task_id", "array_pending", "array_max_tasks", "name", "user",
    "group", "partition", "state", "reason", "priority", "nice", "hold", "dependency",
    "begin_time", "submit_time", "eligible_time", "time_limit_min", "nodes_min", "nodes_max",
    "ntasks", "cpus_per_task", "ntasks_per_node", "mem_per_node_mb", "mem_per_cpu_mb", "gres",
    "constraint", "exclusive", "req_nodes", "exc_nodes", "sched_start_time", "sched_nodes",
    "reservation", "account", "qos", "admin_priority",
)


#: The core's PendingJob for each pending row as last read, by the memory defaults, the
#: row's id and its version: from one cycle to the next most rows are the same, and
#: converting them again was a third of a cycle over 1,000 pending jobs. Each load
#: keeps only the rows it read, so this holds no more than the queue.
_converted: dict[tuple[int, int, int, Any], core.PendingJob] = {}


#: Each pending row's values as last read, with the row version (scheduler/row_versions.py)
#: they were read at. A cycle reads every pending row's version and re-reads only the
#: rows written since: most of a queue is unchanged from one cycle to the next, and
#: reading 1,000 rows of 37 columns was most of the load.
_read: dict[int, tuple[Any, dict[str, Any]]] = {}


def _pending_rows() -> list[tuple[Any, dict[str, Any]]]:
    """The pending rows' versions and ``PENDING_FIELDS``, by id."""
    global _read, _converted
    if not row_versions.ensure():
        _read, _converted = {}, {}
    pending = Job.objects.filter(state=JobState.PENDING).order_by("id")
    version = row_versions.version_expression()
    versions = list(pending.annotate(version=version).values_list("id", "version"))
    previous = _read
    stale = {pk for pk, v in versions if pk not in previous or previous[pk][0] != v}
    fresh: dict[int, tuple[Any, dict[str, Any]]] = {}
    if stale:
        for row in pending.filter(id__in=stale).annotate(version=version).values(
                "version", *PENDING_FIELDS):
            fresh[row["id"]] = (row.pop("version"), row)
    read: dict[int, tuple[Any, dict[str, Any]]] = {}
    for pk, _ in versions:
        entry = fresh.get(pk) if pk in stale else previous[pk]
        if entry is not None:  # else no longer pending when the changed rows were read
            read[pk] = entry
    _read = read
    return list(read.values())


@dataclass(frozen=True, slots=True)
class PendingRow:
    """What the cycle needs to write back only what changed."""

    id: int
    reason: str
    priority: int
    sched_start_time: datetime | None
    sched_nodes: str
    array_pending: str
    eligible_time: datetime | None


@dataclass(slots=True)
class Loaded:
    snapshot: core.Snapshot
    config: core.SchedConfig
    rows: dict[int, PendingRow] = field(default_factory=dict)
    #: Reasons decided here (not eligible), by job id.
    reasons: dict[int, str] = field(default_factory=dict)
    #: Running tasks of each throttled array (meta row id -> count).
    array_running: dict[int, int] = field(default_factory=dict)
    #: The % throttle of each pending meta row.
    array_limits: dict[int, int] = field(default_factory=dict)
    #: The reservations' restriction (its reasons are applied after the cycle).
    restricted: Any = None
    #: Jobs whose dependency can never be satisfied (cancelled with kill_invalid_depend).
    never_deps: list[int] = field(default_factory=list)


#: The numeric SchedulerParameters that are SchedConfig fields of the same name (the
#: backfill's caps; bf_window and bf_resolution are converted below).
_SAME_NAME = tuple(f.name for f in fields(core.SchedConfig) if f.name in SCHEDULER_NUMBERS)


def sched_config() -> core.SchedConfig:
    params = conf.scheduler_parameters()
    settings = conf.settings_map()

    def num(key: str, default: int) -> int:
        try:
            return int(params.get(key) or default)
        except ValueError:
            return default

    def setting(key: str) -> int:
        try:
            return int(settings.get(key) or 0)
        except ValueError:
            return 0

    max_age = _duration_s(settings.get("PriorityMaxAge", "")) or 7 * 86_400
    return core.SchedConfig(
        backfill=settings.get("SchedulerType", "sched/backfill") != "sched/builtin",
        bf_window_s=num("bf_window", 1440) * 60,
        bf_resolution_s=num("bf_resolution", 60),
        **{name: num(name, 0) for name in _SAME_NAME},
        priority_type=settings.get("PriorityType", "priority/basic"),
        weight_age=setting("PriorityWeightAge"),
        weight_partition=setting("PriorityWeightPartition"),
        max_age_s=max_age,
        **priority_load.config_fields(settings),
    )


def _duration_s(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        from drover.timefmt import parse_time_limit_s

        return parse_time_limit_s(text)
    except (ImportError, ValueError):
        return None


def load(now: datetime) -> Loaded:
    """The snapshot at ``now`` (queries: nodes, memberships, partitions, holders, pending,
    dependency targets, array task counts, singleton peers, settings, reservations)."""
    settings = conf.settings_map()
    nodes = list(Node.objects.order_by("name"))
    membership: dict[int, set[str]] = defaultdict(set)
    for node_id, part_name in Partition.nodes.through.objects.values_list(
            "node_id", "partition__name"):
        membership[node_id].add(part_name)
    partitions = [_partition(p) for p in Partition.objects.all()]
    holders = list(Job.objects.filter(state__in=HOLDING).values(
        "id", "alloc", "start_time", "time_limit_min", "exclusive"))
    running, jobs_per_node = _running(holders)
    node_infos = tuple(_node(n, membership[n.pk], jobs_per_node.get(n.name, 0)) for n in nodes)
    versioned = _pending_rows()
    pending = [row for _, row in versioned]
    deps = _Dependencies(pending)
    throttled = _array_running(pending)
    epoch_now = int(now.timestamp())
    loaded = Loaded(core.Snapshot(node_infos, tuple(partitions), tuple(running), ()),
                    sched_config(), array_running=throttled)
    out: list[core.PendingJob] = []
    defaults = (_int(settings.get("DefMemPerCPU")), _int(settings.get("DefMemPerNode")))
    global _converted
    previous, converted = _converted, {}
    for version, row in versioned:
        loaded.rows[row["id"]] = PendingRow(row["id"], row["reason"], row["priority"],
                                            row["sched_start_time"], row["sched_nodes"],
                                            row["array_pending"], row["eligible_time"])
        if row["array_max_tasks"] and row["array_pending"]:
            loaded.array_limits[row["id"]] = row["array_max_tasks"]
        reason = _ineligible(row, now, deps, throttled)
        key = (*defaults, row["id"], version)
        base = previous.get(key) or _pending(row, epoch_now, defaults)
        converted[key] = base
        if reason is not None:
            loaded.reasons[row["id"]] = reason
            if reason == "DependencyNeverSatisfied":
                loaded.never_deps.append(row["id"])
            out.append(_replace(base, eligible=False, reason=reason))
            continue
        if row["array_pending"] and row["array_task_id"] is None:
            room = MAX_TASKS_PER_CYCLE
            if row["array_max_tasks"]:
                room = min(room, row["array_max_tasks"] - throttled.get(row["id"], 0))
            for task in expand_ids(row["array_pending"])[:max(room, 0)]:
                out.append(_replace(base, array_task_id=task))
        else:
            out.append(base)
    _converted = converted
    out = priority_load.annotate(out, loaded.config, epoch_now, pending)
    loaded.snapshot = core.Snapshot(node_infos, tuple(partitions), tuple(running), tuple(out))
    loaded.restricted = reservations_load.apply(loaded.snapshot, pending, now)
    loaded.snapshot = loaded.restricted.snapshot
    loaded.reasons.update(loaded.restricted.reasons)
    loaded.snapshot = limits_load.apply(loaded.snapshot, pending, settings)
    return loaded


def _replace(job: core.PendingJob, **kw: Any) -> core.PendingJob:
    from dataclasses import replace

    return replace(job, **kw)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _partition(p: Partition) -> core.PartitionInfo:
    groups = frozenset(g.strip() for g in p.allow_groups.split(",") if g.strip())
    return core.PartitionInfo(
        name=p.name, state=p.state.upper(),
        max_time_s=None if p.max_time_min is None else p.max_time_min * 60,
        default_time_s=None if p.default_time_min is None else p.default_time_min * 60,
        max_nodes=p.max_nodes, min_nodes=p.min_nodes, priority_tier=p.priority_tier,
        priority_job_factor=p.priority_job_factor, oversubscribe=p.oversubscribe,
        allow_groups=None if not groups or "ALL" in groups else groups)


def gres_counts(spec: str) -> dict[str, int]:
    """A node's Gres= string -> {"gpu:a100": 4, "gpu": 1}."""
    return {(f"{n}:{t}" if t else n): c for (n, t), c in node_gres(spec).items()}


def _node(n: Node, parts: set[str], jobs: int) -> core.NodeInfo:
    used_gres = {k: len(v) if isinstance(v, list) else int(v)
                 for k, v in (n.alloc_gres or {}).items()}
    return core.NodeInfo(
        name=n.name, cpus=n.cpus, mem_mb=int(n.real_memory_mb), gres=gres_counts(n.gres),
        features=frozenset(f.strip() for f in n.features.split(",") if f.strip()),
        weight=n.weight, available=n.state in USABLE_NODE_STATES and not n.drain,
        partitions=frozenset(parts), alloc_cpus=n.alloc_cpus,
        alloc_mem_mb=int(n.alloc_memory_mb), alloc_gres=used_gres, alloc_jobs=jobs)


def _running(rows: Iterable[dict[str, Any]]) -> tuple[list[core.RunningJob], dict[str, int]]:
    out: list[core.RunningJob] = []
    per_node: dict[str, int] = defaultdict(int)
    for r in rows:
        grants = []
        for name, a in sorted((r["alloc"] or {}).items()):
            gpus = a.get("gpus") or []
            gres = {str(a.get("gres_key") or "gpu"): len(gpus)} if gpus else {}
            grants.append(core.NodeGrant(name, int(a.get("cpus", 0)), int(a.get("mem_mb", 0)),
                                         gres))
            per_node[name] += 1
        if not grants:
            continue
        end = None
        if r["start_time"] is not None and r["time_limit_min"] is not None:
            end = int(r["start_time"].timestamp()) + r["time_limit_min"] * 60
        out.append(core.RunningJob(r["id"], tuple(grants), end, bool(r["exclusive"])))
    return out, dict(per_node)


def _pending(row: dict[str, Any], now: int, defaults: tuple[int, int]) -> core.PendingJob:
    mem_node, mem_cpu = row["mem_per_node_mb"], row["mem_per_cpu_mb"]
    if mem_node is None and mem_cpu is None:
        # Slurm would give the whole node here; Drover accounts the configured
        # default, or no memory at all (see PendingJob).
        def_cpu, def_node = defaults
        mem_cpu = def_cpu or None
        mem_node = def_node or None if not def_cpu else None
    gres: dict[str, int] = {}
    for name, typ, count in parse_gres(row["gres"] or ""):
        key = f"{name}:{typ}" if typ else name
        gres[key] = gres.get(key, 0) + count
    return core.PendingJob(
        id=row["id"], submit_time=int(row["submit_time"].timestamp()),
        partitions=tuple(p.strip() for p in row["partition"].split(",") if p.strip()),
        priority=row.get("admin_priority") or 0, user=row["user"],
        groups=frozenset({row["group"]}), nice=row["nice"],
        array_task_id=row["array_task_id"], nodes_min=row["nodes_min"],
        nodes_max=row["nodes_max"], ntasks=row["ntasks"], cpus_per_task=row["cpus_per_task"],
        ntasks_per_node=row["ntasks_per_node"], mem_per_node_mb=mem_node,
        mem_per_cpu_mb=mem_cpu, gres=gres, constraint=row["constraint"],
        exclusive=row["exclusive"], req_nodes=frozenset(expand_hosts(row["req_nodes"])),
        exc_nodes=frozenset(expand_hosts(row["exc_nodes"])),
        time_limit_s=None if row["time_limit_min"] is None else row["time_limit_min"] * 60,
        eligible_time=_epoch(row["eligible_time"]) or int(row["submit_time"].timestamp()))


def _ineligible(row: dict[str, Any], now: datetime, deps: _Dependencies,
                throttled: dict[int, int]) -> str | None:
    if row["hold"] == "admin":
        return "JobHeldAdmin"
    if row["hold"]:
        return "JobHeldUser"
    if row["begin_time"] is not None and row["begin_time"] > now:
        return "BeginTime"
    if row["dependency"]:
        state = deps.state(row, now)
        if state == NEVER:
            return "DependencyNeverSatisfied"
        if state == WAITING:
            return "Dependency"
    limit = row["array_max_tasks"]
    if limit and row["array_pending"] and throttled.get(row["id"], 0) >= limit:
        return "JobArrayTaskLimit"
    return None


def _array_running(pending: list[dict[str, Any]]) -> dict[int, int]:
    """Running tasks per throttled array (one query)."""
    ids = [r["id"] for r in pending if r["array_max_tasks"] and r["array_pending"]]
    if not ids:
        return {}
    counts: dict[int, int] = defaultdict(int)
    for array_id in Job.objects.filter(array_job_id__in=ids, state__in=HOLDING).values_list(
            "array_job_id", flat=True):
        counts[array_id] += 1
    return dict(counts)


_ITEM = re.compile(r"^(\w+):(.+)$")
OK_STATES = (JobState.COMPLETED,)


#: A dependency's target: (job or array id, array task or None for the job / whole array).
Target = tuple[int, int | None]


class _Dependencies:
    """Dependency targets of every pending job, loaded in two queries."""

    def __init__(self, pending: list[dict[str, Any]]) -> None:
        wanted: set[Target] = set()
        singles: set[tuple[str, str]] = set()
        for r in pending:
            for _kind, ids in _items(r["dependency"]):
                wanted.update(target for target, _ in ids)
            if "singleton" in r["dependency"]:
                singles.add((r["user"], r["name"]))
        #: Per target: (state, start time, end time) of each row it stands for.
        self.rows: dict[Target, list[tuple[str, datetime | None, datetime | None]]] = \
            defaultdict(list)
        bases = {base for base, _ in wanted}
        tasks_of: dict[int, set[int]] = defaultdict(set)
        for base, task in wanted:
            if task is not None:
                tasks_of[base].add(task)
        if bases:
            rows = Job.objects.filter(Q(id__in=bases) | Q(array_job_id__in=bases))
            for jid, array_id, task, rest, state, start, end in rows.values_list(
                    "id", "array_job_id", "array_task_id", "array_pending", "state",
                    "start_time", "end_time"):
                keys: set[Target] = {(jid, None)}
                if array_id in bases:
                    keys.add((array_id, None))
                    if task is not None:
                        keys.add((array_id, task))
                    elif rest and tasks_of[array_id]:  # tasks still in the pending rest
                        keys.update((array_id, t)
                                    for t in tasks_of[array_id] & set(expand_ids(rest)))
                for k in keys & wanted:
                    self.rows[k].append((state, start, end))
        self.peers: dict[tuple[str, str], list[int]] = defaultdict(list)
        if singles:
            users = {u for u, _ in singles}
            for jid, user, name in Job.objects.filter(
                    state__in=ACTIVE, user__in=users).values_list("id", "user", "name"):
                if (user, name) in singles:
                    self.peers[(user, name)].append(jid)

    def state(self, row: dict[str, Any], now: datetime) -> str:
        spec = row["dependency"].strip()
        any_of = "?" in spec
        results = []
        for item in re.split(r"[,?]", spec):
            if item.strip() == "singleton":
                earlier = [j for j in self.peers[(row["user"], row["name"])] if j < row["id"]]
                results.append(WAITING if earlier else SATISFIED)
                continue
            for kind, ids in _items(item):
                results.append(_combine([self._one(kind, target, minutes, now)
                                         for target, minutes in ids], any_of=False))
        return _combine(results, any_of)

    def _one(self, kind: str, target: Target, minutes: int, now: datetime) -> str:
        rows = self.rows.get(target)
        if not rows:
            return SATISFIED  # unknown or purged: Slurm clears the dependency
        states = [state for state, _, _ in rows]
        if kind == "after":
            # Begun (started, or ended without: cancelled), and ``+minutes`` after that.
            if any(start is None and state == JobState.PENDING for state, start, _ in rows):
                return WAITING
            since = [start or end for _, start, end in rows]
            late = any(t is not None and (now - t).total_seconds() < minutes * 60
                       for t in since)
            return WAITING if late else SATISFIED
        if any(s in ACTIVE for s in states):
            return WAITING
        if kind == "afterany":
            return SATISFIED
        ok = all(s in OK_STATES for s in states)
        if kind == "afternotok":
            return NEVER if ok else SATISFIED
        return SATISFIED if ok else NEVER  # afterok, aftercorr


def _items(spec: str) -> list[tuple[str, list[tuple[Target, int]]]]:
    """Each ``type:id[_task][+minutes]:...`` item: its type and (target, minutes) pairs."""
    out = []
    for item in re.split(r"[,?]", spec or ""):
        m = _ITEM.match(item.strip())
        if not m:
            continue
        ids: list[tuple[Target, int]] = []
        for part in m.group(2).split(":"):
            num, _, minutes = part.partition("+")
            base, _, task = num.partition("_")
            if base.isdigit() and (not task or task.isdigit()):
                ids.append(((int(base), int(task) if task else None), int(minutes or 0)))
        out.append((m.group(1), ids))
    return out


def _combine(results: list[str], any_of: bool) -> str:
    if not results:
        return SATISFIED
    if any_of:
        if SATISFIED in results:
            return SATISFIED
        return NEVER if all(r == NEVER for r in results) else WAITING
    if NEVER in results:
        return NEVER
    return SATISFIED if all(r == SATISFIED for r in results) else WAITING
