"""An agent's sync call: heartbeat, acks of orders, events, the running steps' usage; and
the orders waiting for it.

Events are applied in ``seq`` order and each is acknowledged once handled, even
when it changes nothing (a duplicate, or a job that has moved on): the agent
keeps an event until it is acknowledged, and applying one twice is a no-op. A
sync's events are applied together (``agent_events.apply_events``: one
transaction); should that fail, one by one, so that one bad event holds back only
itself.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import events
from scheduler.actions.agent_events import apply_events
from scheduler.actions.errors import SlurmError
from scheduler.actions.nodes import return_to_service
from scheduler.actions.step_usage import record_step_usage
from scheduler.models import AgentOrder, Node

log = logging.getLogger(__name__)


def do_agent_sync(node_name: str, body: dict[str, Any]) -> list[int]:
    """Apply a sync body; returns the ``seq`` of every event handled (to acknowledge).

    Precondition: ``body["usage"]``, if any, passed ``protocol.parse_usage``. It is
    applied after the events, so a step started in this sync takes its first figures
    and one that ended in it keeps its final ones.
    """
    _heartbeat(node_name, body)
    acks = [int(a) for a in body.get("acks") or [] if isinstance(a, int)]
    if acks:
        AgentOrder.objects.filter(node__name=node_name, id__in=acks,
                                  acked__isnull=True).update(acked=timezone.now())
    handled = _apply_events(node_name, body)
    record_step_usage(node_name, body.get("usage") or [])
    return handled


def _apply_events(node_name: str, body: dict[str, Any]) -> list[int]:
    raw = [e for e in body.get("events") or [] if isinstance(e, dict)]
    batch = sorted(raw, key=lambda e: int(e.get("seq") or 0))
    if not batch:
        return []
    try:
        apply_events(node_name, batch)  # the whole sync at once: a fixed number of queries
        return [int(e.get("seq") or 0) for e in batch]
    except Exception:
        log.warning("events from %s not applied together; applying them one by one",
                    node_name, exc_info=True)
    handled: list[int] = []
    for event in batch:
        try:
            apply_events(node_name, [event])
        except Exception:
            log.exception("event %r from %s not applied; the agent will resend it", event,
                          node_name)
            continue
        handled.append(int(event.get("seq") or 0))
    return handled


def _heartbeat(node_name: str, body: dict[str, Any]) -> None:
    seen: dict[str, Any] = {"last_heartbeat": timezone.now()}
    load, free = body.get("load"), body.get("free_memory_mb")
    if isinstance(load, int | float) and not isinstance(load, bool):
        seen["cpu_load"] = float(load)
    if isinstance(free, int) and not isinstance(free, bool):
        seen["free_memory_mb"] = free
    # The common case in one statement: a node in service (return_to_service has
    # nothing to do for it) only records what it reported.
    if Node.objects.filter(name=node_name).exclude(state__in=("UNKNOWN", "DOWN")).update(
            **seen):
        return
    with transaction.atomic():
        node = Node.objects.select_for_update().filter(name=node_name).first()
        if node is None:
            raise SlurmError("INVALID_NODE_NAME", f"node {node_name!r} is not in slurm.conf")
        for key, value in seen.items():
            setattr(node, key, value)
        back = return_to_service(node)
        node.save()
        if back:
            from scheduler.actions.jobs import recompute_node

            recompute_node(node)
            events.broadcast_nodes([node.name])
            events.request_cycle()


def apply_event(node: Node, event: dict[str, Any]) -> bool:
    """Apply one "started"/"ended" event from ``node``; False when it changed nothing."""
    return apply_events(node.name, [event])[0]


def pending_orders(node_name: str) -> list[dict[str, Any]]:
    """Every unacknowledged order for the node, oldest first (re-sent until acked)."""
    rows = AgentOrder.objects.filter(node__name=node_name, acked__isnull=True).order_by("id")
    return [{"id": o["id"], "kind": o["kind"], "job_id": o["job_id"], "payload": o["payload"]}
            for o in rows.values("id", "kind", "job_id", "payload")]
