"""Node events: the history of nodes out of service (slurmdbd's event table).

Every writer of a node's state or drain flag calls :func:`note_node_state` with the
row it is about to save, inside its transaction. As ``as_mysql_node_down`` does, an
open event with the same state and reason is kept; any other ends it and, while the
node is still DOWN or drained, a new one starts with the node's reason and the user
who set it. A node back in service (``as_mysql_node_up``) only ends the open one.
"""

from __future__ import annotations

from datetime import datetime

from scheduler.models import Node, NodeEvent
from scheduler.snapshot import gres_counts

_BUSY = ("MIXED", "ALLOCATED")


def event_state(node: Node) -> str:
    """The event's state as sacctmgr prints it (``node_state_string_compact``); "" in service."""
    if node.drain:
        return "DRNG" if node.state in _BUSY else "DRAIN"
    return "DOWN" if node.state == "DOWN" else ""


def gpu_count(gres: str) -> int:
    return sum(c for name, c in gres_counts(gres).items() if name.split(":")[0] == "gpu")


def node_tres(node: Node) -> dict[str, int]:
    return {"cpu": node.cpus, "mem": int(node.real_memory_mb), "gres/gpu": gpu_count(node.gres)}


def note_node_state(node: Node, now: datetime) -> None:
    """End or start ``node``'s event as its (unsaved) state says; the caller holds its lock."""
    state = event_state(node)
    open_event = NodeEvent.objects.filter(node_name=node.name, time_end__isnull=True).first()
    if open_event is not None:
        if state and (open_event.state, open_event.reason) == (state, node.reason):
            return
        NodeEvent.objects.filter(node_name=node.name, time_end__isnull=True).update(
            time_end=now)
    if state:
        NodeEvent.objects.create(node_name=node.name, state=state, reason=node.reason,
                                 user=node.reason_user, tres=node_tres(node), time_start=now)
