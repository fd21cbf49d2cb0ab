"""slurm.conf → database: nodes, partitions and cluster parameters.

The file is the whole truth about the cluster's shape: after an import the
Node, Partition and ClusterSetting rows say what it says. All of it happens in
one transaction, so a file that fails half-way keeps nothing. A node or
partition that the file no longer names is removed, unless work is still on
it (a running job on the node, an active job in the partition): then it stays,
and the summary says so, as Slurm refuses to drop a partition with jobs.
Runtime state of a node that stays (UNKNOWN/IDLE/DOWN, drain, allocations) is
left alone; only its declared hardware changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

from drover.slurmconf import NodeConf, PartitionConf, SlurmConf
from scheduler import events
from scheduler.actions.node_history import note_node_state
from scheduler.models import ACTIVE_STATES, ClusterSetting, Job, JobState, Node, Partition

RUNNING_STATES = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
NODE_HARDWARE = ("cpus", "boards", "sockets", "cores_per_socket", "threads_per_core",
                 "real_memory_mb", "gres", "features", "weight")


class ConfigImportError(Exception):
    """The file parsed, but the cluster it describes cannot be stored (nothing was kept)."""


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_busy: list[str] = field(default_factory=list)  # gone from the file, but still in use

    @property
    def total(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    def describe(self, noun: str) -> str:
        parts = [f"{len(x)} {word}" for x, word in ((self.added, "new"),
                                                   (self.updated, "updated"),
                                                   (self.removed, "removed")) if x]
        plural = noun if self.total == 1 else noun + "s"
        return f"{self.total} {plural}" + (f" ({', '.join(parts)})" if parts else "")


@dataclass
class ImportSummary:
    nodes: Changes
    partitions: Changes
    params: Changes

    def __str__(self) -> str:
        text = (f"{self.nodes.describe('node')}, {self.partitions.describe('partition')}, "
                f"{self.params.describe('parameter')}")
        kept = [f"node {n}" for n in self.nodes.kept_busy]
        kept += [f"partition {p}" for p in self.partitions.kept_busy]
        if kept:
            text += f"; kept while jobs use them: {', '.join(kept)}"
        return text


#: Model field -> the slurm.conf key it comes from, to name it in an error.
CONF_KEYS = {"name": "Name", "hostname": "NodeHostname", "cpus": "CPUs", "boards": "Boards",
             "sockets": "Sockets", "cores_per_socket": "CoresPerSocket",
             "threads_per_core": "ThreadsPerCore", "real_memory_mb": "RealMemory",
             "gres": "Gres", "features": "Features", "weight": "Weight",
             "nodes_expr": "Nodes", "max_time_min": "MaxTime",
             "default_time_min": "DefaultTime", "max_nodes": "MaxNodes",
             "min_nodes": "MinNodes", "allow_groups": "AllowGroups",
             "priority_tier": "PriorityTier", "priority_job_factor": "PriorityJobFactor",
             "key": "parameter name"}


#: Each integer column's range as PostgreSQL holds it (SQLite would take more, or fail
#: with an OverflowError past 64 bits): the same file must import on both.
_INT_RANGES = BaseDatabaseOperations.integer_field_ranges


def _check_storable(row: models.Model, where: str) -> None:
    """Raise ConfigImportError, naming the line, for a value the database cannot hold
    (a Weight over 2^31-1, a Features list over 255 characters, ...)."""
    def fail(field_name: str, message: str) -> ConfigImportError:
        key = CONF_KEYS.get(field_name, field_name)
        if field_name == "name":
            key = f"{type(row).__name__}Name"  # NodeName, PartitionName
        return ConfigImportError(f"{where + ': ' if where else ''}{key}: {message}")

    for f in row._meta.fields:
        low, high = _INT_RANGES.get(f.get_internal_type(), (None, None))
        value = getattr(row, f.attname)
        if f.name in CONF_KEYS and isinstance(value, int) and high is not None:
            if value > high:
                raise fail(f.name, f"Ensure this value is less than or equal to {high}.")
            if value < low:
                raise fail(f.name, f"Ensure this value is greater than or equal to {low}.")
    runtime = [f.name for f in row._meta.fields if f.name not in CONF_KEYS]
    try:
        row.full_clean(exclude=runtime, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise fail(field_name, messages[0]) from None


def do_import_slurm_conf(conf: SlurmConf) -> ImportSummary:
    """Store a parsed slurm.conf; all or nothing. Raises ConfigImportError (nothing kept)."""
    with transaction.atomic():
        params = _import_params(conf.params)
        nodes = _import_nodes(conf.nodes)
        partitions = _import_partitions(conf.partitions)
        # New nodes or partitions may let pending jobs start: a cycle after commit.
        events.request_cycle()
    return ImportSummary(nodes=nodes, partitions=partitions, params=params)


def _import_params(params: Mapping[str, str]) -> Changes:
    changes = Changes()
    wanted = dict(params)
    existing = {s.key: s for s in ClusterSetting.objects.select_for_update()}
    for key, value in wanted.items():
        row = existing.pop(key, None)
        if row is None:
            setting = ClusterSetting(key=key, value=value)
            _check_storable(setting, f"parameter {key}")
            setting.save()
            changes.added.append(key)
        elif row.value != value:
            row.value = value
            row.save(update_fields=["value"])
            changes.updated.append(key)
        else:
            changes.unchanged.append(key)
    # A parameter no longer in the file goes back to Slurm's default.
    for key, row in existing.items():
        row.delete()
        changes.removed.append(key)
    return changes


def _node_fields(nc: NodeConf) -> dict[str, Any]:
    return {
        "cpus": nc.cpus,
        "boards": nc.boards,
        "sockets": nc.sockets,
        "cores_per_socket": nc.cores_per_socket,
        "threads_per_core": nc.threads_per_core,
        "real_memory_mb": nc.real_memory_mb,
        "gres": nc.gres,
        "features": ",".join(nc.features),
        "weight": nc.weight,
    }


def _busy_node_names() -> set[str]:
    """Nodes that a running job occupies (its per-node allocation, or its batch host)."""
    busy: set[str] = set()
    for alloc, batch_host in Job.objects.filter(state__in=RUNNING_STATES).values_list(
            "alloc", "batch_host"):
        busy.update((alloc or {}).keys())
        if batch_host:
            busy.add(batch_host)
    return busy


def _import_nodes(node_confs: Iterable[NodeConf]) -> Changes:
    changes = Changes()
    existing = {n.name: n for n in Node.objects.select_for_update().order_by("pk")}
    seen: set[str] = set()
    for nc in node_confs:
        name = nc.name
        if name in seen:
            raise ConfigImportError(f"node {name} is defined twice")
        seen.add(name)
        fields = _node_fields(nc)
        node = existing.get(name)
        if node is None:
            node = Node(name=name, hostname=nc.node_hostname, **fields)
            _apply_declared_state(node, nc.state, nc.reason)
            _check_storable(node, nc.where)
            node.save()
            changes.added.append(name)
            continue
        dirty = [f for f, v in fields.items() if getattr(node, f) != v]
        for f in dirty:
            setattr(node, f, fields[f])
        if dirty:
            _check_storable(node, nc.where)
            node.save(update_fields=dirty)
            changes.updated.append(name)
        else:
            changes.unchanged.append(name)
    gone = set(existing) - seen
    busy = _busy_node_names() & gone
    for name in sorted(gone):
        if name in busy:
            changes.kept_busy.append(name)
        else:
            existing[name].delete()
            changes.removed.append(name)
    return changes


def _apply_declared_state(node: Node, state: str, reason: str = "") -> None:
    """A new node starts UNKNOWN until its agent registers; DOWN, DRAIN and FAIL(ING)
    in the file (NodeName or DownNodes) stick, with the DownNodes line's reason."""
    upper = state.upper()
    if upper.startswith(("DRAIN", "FAIL")):
        node.drain = True
    if upper in {"DOWN", "DRAIN", "FAIL", "FAILING"}:
        node.state = "DOWN" if upper == "DOWN" else "UNKNOWN"
        node.reason = reason or "set in slurm.conf"
        node.reason_user = "root"
        node.reason_time = timezone.now()
        note_node_state(node, node.reason_time)


def _partition_fields(pc: PartitionConf) -> dict[str, Any]:
    groups = pc.allow_groups or []  # None = ALL
    return {
        "nodes_expr": pc.nodes_expr,
        "is_default": pc.default,
        "state": pc.state.upper(),
        "max_time_min": pc.max_time_min,
        "default_time_min": pc.default_time_min,
        "max_nodes": pc.max_nodes,
        "min_nodes": pc.min_nodes,
        "allow_groups": "" if [g.upper() for g in groups] == ["ALL"] else ",".join(groups),
        "priority_tier": pc.priority_tier,
        "priority_job_factor": pc.priority_job_factor,
        "oversubscribe": pc.oversubscribe.upper(),
    }


def _import_partitions(part_confs: Iterable[PartitionConf]) -> Changes:
    changes = Changes()
    existing = {p.name: p for p in Partition.objects.select_for_update().order_by("pk")}
    nodes_by_name = {n.name: n for n in Node.objects.all()}
    seen: set[str] = set()
    for pc in part_confs:
        name = pc.name
        if name in seen:
            raise ConfigImportError(f"partition {name} is defined twice")
        seen.add(name)
        fields = _partition_fields(pc)
        node_names = list(pc.node_names)
        missing = [n for n in node_names if n not in nodes_by_name]
        if missing:
            raise ConfigImportError(
                f"partition {name}: node {missing[0]} is not defined by a NodeName line")
        part = existing.get(name)
        if part is None:
            part = Partition(name=name, **fields)
            _check_storable(part, pc.where)
            part.save()
            changes.added.append(name)
            old_nodes: set[str] = set()
        else:
            dirty = [f for f, v in fields.items() if getattr(part, f) != v]
            for f in dirty:
                setattr(part, f, fields[f])
            if dirty:
                _check_storable(part, pc.where)
                part.save(update_fields=dirty)
            old_nodes = set(part.nodes.values_list("name", flat=True))
            (changes.updated if dirty or old_nodes != set(node_names)
             else changes.unchanged).append(name)
        if old_nodes != set(node_names):
            part.nodes.set([nodes_by_name[n] for n in node_names])
    gone = set(existing) - seen
    in_use = set(Job.objects.filter(state__in=ACTIVE_STATES, partition__in=gone)
                 .values_list("partition", flat=True))
    for name in sorted(gone):
        if name in in_use:
            part = existing[name]
            if part.is_default:
                part.is_default = False
                part.save(update_fields=["is_default"])
            changes.kept_busy.append(name)
        else:
            existing[name].delete()
            changes.removed.append(name)
    return changes
