"""Node state changes: an operator's ``scontrol update node`` and an agent's registration.

Hardware comes from slurm.conf (``actions.config``); registration records what
the agent says about itself (version, boot time), adopts reported hardware only
for fields slurm.conf left at Slurm's defaults (CPUs=1, RealMemory=1), and
brings the node into service: UNKNOWN -> IDLE, and DOWN -> IDLE as
ReturnToService allows (1: only a node that was DOWN for not responding; 2: any).
Each change in or out of service is a node event (``node_history``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import config, events
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.actions.node_history import note_node_state
from scheduler.models import Job, JobState, Node

NOT_RESPONDING = "Not responding"
NEED_REASON = "You must specify a reason when DOWNING or DRAINING a node. Request denied"
_HOLDING = (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)


def get_node(name: str) -> Node:
    node = Node.objects.filter(name=name).first()
    if node is None:
        raise SlurmError("INVALID_NODE_NAME", f"Node {name} not found")
    return node


def do_update_node(actor: Any, node: Node, state: str, reason: str = "") -> Node:
    """DRAIN / DOWN (a reason is required), RESUME / IDLE / UNDRAIN; operators only."""
    if not is_operator(actor):
        raise SlurmError("ACCESS_DENIED")
    wanted = (state or "").strip().upper()
    reason = (reason or "").strip()
    if wanted not in ("DRAIN", "DOWN", "RESUME", "IDLE", "UNDRAIN"):
        raise SlurmError("INVALID_NODE_STATE", f"Invalid node state specified: {state}")
    if wanted in ("DRAIN", "DOWN") and not reason:
        raise SlurmError("INVALID_NODE_STATE", NEED_REASON)
    now = timezone.now()
    failed: list[int] = []
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node.pk)
        if wanted == "DRAIN":
            node.drain = True
        elif wanted == "DOWN":
            node.state = "DOWN"
            failed = _fail_jobs_on(node)
        elif wanted == "UNDRAIN":
            node.drain = False
        else:  # RESUME, IDLE
            node.drain = False
            if node.state in ("DOWN", "UNKNOWN"):
                node.state = "IDLE"
        if wanted in ("DRAIN", "DOWN"):
            node.reason, node.reason_user, node.reason_time = reason, actor.get_username(), now
        elif not node.drain and node.state != "DOWN":
            node.reason, node.reason_user, node.reason_time = "", "", None
        note_node_state(node, now)
        node.save()
        from scheduler.actions.jobs import recompute_node

        recompute_node(node)  # also undoes the stale totals the save above wrote back
        events.broadcast_nodes([node.name])
        events.broadcast_jobs(failed)
        events.request_cycle()
    return node


def _fail_jobs_on(node: Node) -> list[int]:
    """A node set DOWN ends its jobs NODE_FAIL and tells its agent to kill them."""
    from scheduler.actions.jobs import _finish_locked, _order

    ids = []
    for job in Job.objects.select_for_update().filter(state__in=_HOLDING,
                                                      alloc__has_key=node.name).order_by("pk"):
        _order(job, "terminate", {"reason": "cancel"})
        _finish_locked(job, JobState.NODE_FAIL, 0, 0, reason="None")
        ids.append(job.id)
    return ids


def _when(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def return_to_service(node: Node) -> bool:
    """Bring a registering/answering node back: UNKNOWN always, DOWN as ReturnToService says."""
    if node.state == "UNKNOWN":
        node.state = "IDLE"
        return True
    if node.state != "DOWN":
        return False
    rts = config.get_int("ReturnToService")
    if rts >= 2 or (rts == 1 and node.reason in (NOT_RESPONDING, "")):
        node.state = "IDLE"
        if not node.drain:
            node.reason, node.reason_user, node.reason_time = "", "", None
        note_node_state(node, timezone.now())
        return True
    return False


def do_register_node(body: dict[str, Any]) -> Node:
    """An agent's register call: record it and bring the node into service.

    Raises INVALID_NODE_NAME for a node slurm.conf does not name.
    """
    name = str(body.get("node") or "")
    now = timezone.now()
    with transaction.atomic():
        node = Node.objects.select_for_update().filter(name=name).first()
        if node is None:
            raise SlurmError("INVALID_NODE_NAME", f"node {name!r} is not in slurm.conf")
        _adopt_hardware(node, body)
        node.version = str(body.get("version") or "")[:32]
        node.boot_time = _when(body.get("boot_time")) or node.boot_time
        node.agent_start_time = now
        node.last_heartbeat = now
        return_to_service(node)
        node.save()
        if node.state in ("IDLE", "MIXED", "ALLOCATED"):
            from scheduler.actions.jobs import recompute_node

            recompute_node(node)
        events.broadcast_nodes([node.name])
        events.request_cycle()
    return node


def _adopt_hardware(node: Node, body: dict[str, Any]) -> None:
    def num(key: str) -> int:
        value = body.get(key)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    if node.cpus == 1 and num("cpus") > 1:
        node.cpus = num("cpus")
        for key in ("boards", "sockets", "cores_per_socket", "threads_per_core"):
            if num(key) > 0:
                setattr(node, key, num(key))
    if node.real_memory_mb == 1 and num("real_memory_mb") > 1:
        node.real_memory_mb = num("real_memory_mb")
