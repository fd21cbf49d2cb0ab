"""An agent's sync call: heartbeat, acks of orders, events; and the orders waiting for it.

Events are applied in ``seq`` order and each is acknowledged once handled, even
when it changes nothing (a duplicate, or a job that has moved on): the agent
keeps an event until it is acknowledged, and applying one twice is a no-op.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import events
from scheduler.actions.errors import SlurmError
from scheduler.actions.jobs import RUNNING_STATES, do_finish_job, end_state
from scheduler.actions.nodes import return_to_service
from scheduler.models import AgentOrder, Job, JobState, JobStep, Node

log = logging.getLogger(__name__)


def do_agent_sync(node_name: str, body: dict[str, Any]) -> list[int]:
    """Apply a sync body; returns the ``seq`` of every event handled (to acknowledge)."""
    node = _heartbeat(node_name, body)
    acks = [int(a) for a in body.get("acks") or [] if isinstance(a, int)]
    if acks:
        AgentOrder.objects.filter(node=node, id__in=acks, acked__isnull=True).update(
            acked=timezone.now())
    handled: list[int] = []
    raw = [e for e in body.get("events") or [] if isinstance(e, dict)]
    for event in sorted(raw, key=lambda e: int(e.get("seq") or 0)):
        try:
            apply_event(node, event)
        except Exception:
            log.exception("event %r from %s not applied; the agent will resend it", event,
                          node.name)
            continue
        handled.append(int(event.get("seq") or 0))
    return handled


def _heartbeat(node_name: str, body: dict[str, Any]) -> Node:
    with transaction.atomic():
        node = Node.objects.select_for_update().filter(name=node_name).first()
        if node is None:
            raise SlurmError("INVALID_NODE_NAME", f"node {node_name!r} is not in slurm.conf")
        node.last_heartbeat = timezone.now()
        load, free = body.get("load"), body.get("free_memory_mb")
        if isinstance(load, int | float) and not isinstance(load, bool):
            node.cpu_load = float(load)
        if isinstance(free, int) and not isinstance(free, bool):
            node.free_memory_mb = free
        back = return_to_service(node)
        node.save()
        if back:
            from scheduler.actions.jobs import recompute_node

            recompute_node(node)
            events.broadcast_nodes([node.name])
            events.request_cycle()
    return node


def _time(event: dict[str, Any]) -> datetime:
    value = event.get("time")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return timezone.now()


def apply_event(node: Node, event: dict[str, Any]) -> bool:
    """Apply one "started"/"ended" event from ``node``; False when it changed nothing."""
    job = Job.objects.filter(pk=event.get("job_id")).first()
    if job is None or job.state not in RUNNING_STATES:
        return False
    if job.batch_host and job.batch_host != node.name:
        return False  # an event from a former run elsewhere (requeued since)
    kind = event.get("kind")
    if kind == "started":
        with transaction.atomic():
            _, created = JobStep.objects.get_or_create(
                job=job, step="batch",
                defaults={"state": JobState.RUNNING, "start_time": _time(event),
                          "nodes": job.batch_host or node.name})
            if not created:
                JobStep.objects.filter(job=job, step="batch", state=JobState.REQUEUED).update(
                    state=JobState.RUNNING, start_time=_time(event), end_time=None,
                    exit_code=0, exit_signal=0)
            events.broadcast_jobs([job.id])
        return created
    if kind == "ended":
        exit_code = int(event.get("exit_code") or 0)
        sig = int(event.get("signal") or 0)
        reason_for = event.get("terminated_for")
        if reason_for is None and job.kill_requested and job.cancelled_by is not None:
            reason_for = "cancel"
        state, reason = end_state(exit_code, sig, timed_out=bool(event.get("timed_out")),
                                  oom=bool(event.get("oom")),
                                  terminated_for=reason_for)
        if reason_for == "cancel" and job.reason == "Preempted":
            state = JobState.PREEMPTED  # scheduler/preempt_load.py marks the job
        return do_finish_job(job, state, exit_code, sig, end_time=_time(event), reason=reason,
                             cpu_time_s=float(event.get("cpu_time_s") or 0.0),
                             max_rss_kb=int(event.get("max_rss_kb") or 0))
    return False


def pending_orders(node_name: str) -> list[dict[str, Any]]:
    """Every unacknowledged order for the node, oldest first (re-sent until acked)."""
    rows = AgentOrder.objects.filter(node__name=node_name, acked__isnull=True).order_by("id")
    return [{"id": o["id"], "kind": o["kind"], "job_id": o["job_id"], "payload": o["payload"]}
            for o in rows.values("id", "kind", "job_id", "payload")]
