"""WebSocket consumers: the live queue, a live job page (state, steps, output tail), live
nodes.

Each consumer checks the user on connect and joins the Channels groups that
scheduler/events.py broadcasts to after commit ("queue", "user.<name>", "nodes";
a job's page listens to its owner's group and keeps its own job). Membership of
a group is not trusted on its own: every message is checked again against the
user as the database says they are now (re-read at most every ``USER_TTL_S``), so
a demoted operator or a deactivated user stops receiving what they may no longer
see.

Messages to the browser (typed payloads)::

    {"type": "snapshot", "rows": [row, ...]}   (on connect: the queue or the nodes now)
    {"type": "job", "job": <job record>, "row": <present.job_row>, "detail": ...,
     "steps": [<present.step_row>, ...]}   (job page: "detail" and "steps")
    {"type": "steps", "rows": [<present.step_row>, ...]}   (job page: new usage samples)
    {"type": "node", "node": <node record>, "row": <present.node_row>}
    {"type": "output", "stream": "stdout"|"stderr", "text": str, "reset": bool,
     "truncated": bool}
    {"type": "output.problem", "stream": ..., "problem": str}
    {"type": "output.done"}
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from portal.web import backend
from portal.web.access import get_job_for, is_operator, queue_jobs
from portal.web.cluster import node_rows
from portal.web.present import is_active, job_detail, job_row, node_row, step_rows
from portal.web.tail import Tail, Unreadable, missing_problem

USER_TTL_S = 2.0
TAIL_INTERVAL_S = 0.75
RECORD_REFRESH_S = 10.0  # re-read the job now and then, in case a broadcast was missed
#: What a step's usage sample changes (scheduler.actions.step_usage).
USAGE_KEYS = ("ntasks", "cpu_time_s", "rss_kb", "max_rss_kb", "vmsize_kb", "max_vmsize_kb",
              "read_bytes", "write_bytes")
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class _Guarded(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Authentication on connect; the current user's rights re-read for every relay."""

    groups: list[str] = []

    async def _authenticate(self) -> bool:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        self.user_pk = user.pk
        self.username = user.get_username()
        self.operator = is_operator(user)
        self.active = True
        self.checked_at = time.monotonic()
        return True

    async def _refresh_user(self) -> bool:
        """Whether the user still exists and is active; refreshes ``self.operator``."""
        now = time.monotonic()
        if now - self.checked_at >= USER_TTL_S:
            user = await _load_user(self.user_pk)
            self.checked_at = now
            self.active = user is not None and user.is_active
            self.operator = self.active and is_operator(user)
            if not self.active:
                await self.close(code=CLOSE_UNAUTHENTICATED)
        return self.active

    async def may_see(self, owner: str) -> bool:
        if not await self._refresh_user():
            return False
        return owner == self.username or self.operator

    async def join(self, group: str) -> None:
        self.joined = [*getattr(self, "joined", []), group]
        await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The browser only listens; anything it sends is ignored."""


class QueueConsumer(_Guarded):
    """``/ws/queue/``: the user's jobs; ``?scope=all`` gives operators everyone's."""

    async def connect(self) -> None:
        if not await self._authenticate():
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        everyone = self.operator and query.get("scope") == ["all"]
        await self.join("queue" if everyone else backend.user_group(self.username))
        await self.accept()
        # Joined before reading: a change after this read arrives as a message.
        await self.send_json({"type": "snapshot",
                              "rows": await _queue_rows(self.scope["user"], everyone)})

    async def job_updates(self, event: dict[str, Any]) -> None:
        for record in event.get("jobs") or []:
            if not await self.may_see(str(record.get("user", ""))):
                continue
            await self.send_json({"type": "job", "job": record, "row": job_row(record)})

    async def job_steps(self, event: dict[str, Any]) -> None:
        """Steps' usage samples, for job pages in the same group: no queue row shows them."""


class NodesConsumer(_Guarded):
    """``/ws/nodes/``: node state for the cluster page and the dashboard."""

    async def connect(self) -> None:
        if not await self._authenticate():
            return
        await self.join("nodes")
        await self.accept()
        rows = await database_sync_to_async(node_rows)()
        await self.send_json({"type": "snapshot", "rows": rows})

    async def node_update(self, event: dict[str, Any]) -> None:
        if not await self._refresh_user():
            return
        record = event.get("node") or {}
        await self.send_json({"type": "node", "node": record, "row": node_row(record)})


class JobConsumer(_Guarded):
    """``/ws/jobs/<id>/``: one job's state and the tail of its output, owner or operator."""

    async def connect(self) -> None:
        if not await self._authenticate():
            return
        record = await _visible_record(self.scope["user"],
                                       self.scope["url_route"]["kwargs"]["job_id"])
        if record is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.record = record
        self.record_at = time.monotonic()
        self.pk = record["job_id"]
        await self.join(backend.user_group(str(record["user"])))  # the owner's: see events
        await self.accept()
        await self._send_record()
        self.tailer = asyncio.create_task(self._tail())

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "tailer", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await super().disconnect(code)

    async def job_updates(self, event: dict[str, Any]) -> None:
        mine = [r for r in event.get("jobs") or [] if r.get("job_id") == self.pk]
        if not mine or not await self.may_see(str(mine[-1].get("user"))):
            return
        record = mine[-1]
        self.record, self.record_at = record, time.monotonic()
        await self._send_record()
        if is_active(record.get("state", "")) and self.tailer.done():
            self.tailer = asyncio.create_task(self._tail())  # requeued: follow the new run

    async def job_steps(self, event: dict[str, Any]) -> None:
        """New usage samples: their figures go into the steps this page shows. Only into
        a step shown RUNNING: a sample read before the step ended may arrive after its
        end, and a step not shown yet arrives with its job's record."""
        mine = [j for j in event.get("jobs") or [] if j.get("job_id") == self.pk]
        if not mine or not await self.may_see(str(mine[-1].get("user"))):
            return
        samples = {str(s.get("step")): s for j in mine for s in j.get("steps") or []}
        steps: list[dict[str, Any]] = []
        changed = False
        for step in self.record.get("steps") or []:
            sample = samples.get(str(step.get("step")))
            if sample is not None and step.get("state") == "RUNNING":
                step = {**step, **{k: sample[k] for k in USAGE_KEYS if k in sample}}
                changed = True
            steps.append(step)
        if changed:
            self.record = {**self.record, "steps": steps}
            await self.send_json({"type": "steps", "rows": step_rows(self.record)})

    async def _send_record(self) -> None:
        r = self.record
        await self.send_json({"type": "job", "job": r, "row": job_row(r),
                              "detail": job_detail(r), "steps": step_rows(r)})

    async def _tail(self) -> None:
        tails: dict[str, Tail] = {}
        problems: set[str] = set()
        while True:
            await self._maybe_reload()
            record = self.record
            if not await self.may_see(str(record.get("user"))):
                return
            finished = not is_active(record.get("state", ""))
            if record.get("state") != "PENDING":
                for stream in ("stdout", "stderr"):
                    path = record.get(stream) or ""
                    if not path or (stream == "stderr" and path == record.get("stdout")):
                        continue
                    tail = tails.get(stream)
                    if tail is None or tail.path != path:
                        tail = tails[stream] = Tail(path, int(record.get("uid", -1)))
                    try:
                        chunk = await asyncio.to_thread(tail.poll)
                    except Unreadable as exc:
                        if stream not in problems:
                            problems.add(stream)
                            await self.send_json({"type": "output.problem", "stream": stream,
                                                  "problem": str(exc)})
                        continue
                    if chunk is not None:
                        await self.send_json({"type": "output", "stream": stream,
                                              "text": chunk.text, "reset": chunk.reset,
                                              "truncated": chunk.truncated})
                    elif finished and tail.missing and stream not in problems:
                        problems.add(stream)
                        await self.send_json({"type": "output.problem", "stream": stream,
                                              "problem": missing_problem(path)})
            if finished:
                # The job had ended before this read began, so the read saw the final file.
                await self.send_json({"type": "output.done"})
                return
            await asyncio.sleep(TAIL_INTERVAL_S)

    async def _maybe_reload(self) -> None:
        if time.monotonic() - self.record_at < RECORD_REFRESH_S:
            return
        record = await _record_by_pk(self.pk)
        self.record_at = time.monotonic()
        if record is not None and record != self.record:
            self.record = record
            await self._send_record()


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _load_user(pk: Any) -> Any:
    return get_user_model().objects.filter(pk=pk).first()


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _visible_record(user: Any, job_id: str) -> dict[str, Any] | None:
    from django.http import Http404

    try:
        return backend.job_record(get_job_for(user, job_id))
    except Http404:
        return None


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _record_by_pk(pk: int) -> dict[str, Any] | None:
    from scheduler.models import Job

    job = Job.objects.filter(pk=pk).first()
    return backend.job_record(job) if job is not None else None


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _queue_rows(user: Any, everyone: bool) -> list[dict[str, Any]]:
    jobs = queue_jobs(user, everyone=everyone).prefetch_related("steps")
    return [job_row(r) for r in backend.job_records(jobs)]
