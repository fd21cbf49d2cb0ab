"""Node events -> records for ``GET /api/accounting/events/`` (``sacctmgr show event``).

Selection as slurmdbd's ``as_mysql_get_cluster_events``: with a start, the events
that overlap [start, end or now]; node names (a hostlist), states (DOWN, DRAIN:
drained or draining, FAIL) and reasons narrow it. Oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q

from scheduler.models import NodeEvent
from scheduler.records import epoch, expand_hosts

#: What a States= word selects: DRAIN takes draining nodes too.
STATES = {"DOWN": ("DOWN",), "DRAIN": ("DRAIN", "DRNG"), "FAIL": ("FAIL",)}


def event_records(cluster: str, *, nodes: Sequence[str] = (), states: Sequence[str] = (),
                  start: int | None = None, end: int | None = None
                  ) -> list[dict[str, Any]]:
    rows = NodeEvent.objects.all()
    if start is not None:
        rows = rows.filter(Q(time_end__isnull=True)
                           | Q(time_end__gte=datetime.fromtimestamp(start, tz=UTC)))
    if start is not None and end is not None:  # no end: up to now, which every event starts before
        rows = rows.filter(time_start__lt=datetime.fromtimestamp(end, tz=UTC))
    if nodes:
        rows = rows.filter(node_name__in=[n for expr in nodes for n in expand_hosts(expr)])
    if states:
        rows = rows.filter(state__in=[s for word in states for s in STATES[word]])
    return [{"cluster": cluster, "node_name": e.node_name, "state": e.state,
             "reason": e.reason, "user": e.user, "tres": e.tres,
             "time_start": epoch(e.time_start), "time_end": epoch(e.time_end)}
            for e in rows.order_by("time_start", "id")]
