"""The node agents' endpoints: ``POST /api/agent/register/`` and ``/api/agent/sync/``.

Plain async Django views, not DRF: the body is signed (``nodeagent.protocol``)
and authentication is the credential, not a user. A request is accepted when
its credential verifies (MAC, body digest, age, unseen nonce; nonces are kept
in the cache for CREDENTIAL_TTL), was made as root or as the controller's own
user (emulated nodes share one host, so the host is not tied to the node), and
names a node of slurm.conf. Answers are signed the same way. A sync whose
``usage`` reports are malformed is refused whole (400), as a body that is not JSON is.

Sync is a long poll: events and acks are applied first; if no order waits, the
view listens on the channel-layer group ``agent.<node>`` for up to
``min(wait_s, 25)`` seconds for ``{"type": "agent.wake"}`` and then answers with
whatever orders exist. It joins the group before looking at the outbox, so an
order committed in between still rings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from nodeagent import protocol
from scheduler.actions.agent import do_agent_sync, pending_orders
from scheduler.actions.errors import SlurmError
from scheduler.actions.nodes import do_register_node
from scheduler.events import group_name
from scheduler.kick import shared_cache

log = logging.getLogger(__name__)
MAX_WAIT_S = 25.0
HEARTBEAT_S = 10


class Rejected(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _seen_nonce(nonce: str) -> bool:
    # one cache client for the process (under ASGI ``cache`` would be a new one, with
    # a new Redis connection, per request)
    return not shared_cache().add("nonce:" + nonce, 1, protocol.CREDENTIAL_TTL)


def _authenticate(request: HttpRequest) -> dict[str, Any]:
    """Verify the credential and parse the body; raises Rejected."""
    header = request.headers.get(protocol.HEADER, "")
    if not header:
        raise Rejected(403, "Access/permission denied", "missing credential")
    body = request.body
    try:
        cred = protocol.verify(settings.CLUSTER_KEY, header, body, now=time.time(),
                               seen_nonce=_seen_nonce)
    except protocol.CredentialError as err:
        raise Rejected(403, "Access/permission denied", str(err)) from None
    if cred.uid not in (0, os.getuid()):
        raise Rejected(403, "Access/permission denied",
                       f"credential uid {cred.uid} may not speak for a node")
    try:
        data = json.loads(body)
    except ValueError:
        raise Rejected(400, "Failure during parsing", "body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("node"), str):
        raise Rejected(400, "Failure during parsing", "body must be an object naming a node")
    return data


def _signed(answer: dict[str, Any], status: int = 200) -> HttpResponse:
    body = protocol.encode(answer)
    header = protocol.sign(settings.CLUSTER_KEY, body, host=socket.gethostname(),
                           uid=os.getuid(), gid=os.getgid())
    return HttpResponse(body, status=status, content_type="application/json",
                        headers={protocol.HEADER: header})


def _error(status: int, error: str, detail: str) -> JsonResponse:
    return JsonResponse({"errors": [{"error": error, "error_number": 2002 if status == 403
                                     else 9001, "detail": [detail]}]}, status=status)


def _db(fn: Any) -> Any:
    """Run ``fn`` in a worker thread; after it, that thread's connection is closed as
    CONN_MAX_AGE says (given back to PostgreSQL's pool; SQLite's is kept)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


@csrf_exempt
@require_POST
async def register(request: HttpRequest) -> HttpResponse:
    try:
        data = await _db(_authenticate)(request)
        await _db(do_register_node)(data)
    except Rejected as err:
        return _error(err.status, err.error, err.detail)
    except SlurmError as err:
        log.warning("agent register refused: %s", err.detail)
        return _error(403, err.error, "; ".join(err.detail))
    return _signed({"heartbeat_s": HEARTBEAT_S})


def _apply_sync(data: dict[str, Any]) -> tuple[list[int], list[dict[str, Any]]]:
    acked = do_agent_sync(data["node"], data)
    return acked, pending_orders(data["node"])


DOORBELL_RECHECK_S = 2.0


async def _join(layer: Any, group: str) -> str | None:
    try:
        channel: str = await layer.new_channel()
        await layer.group_add(group, channel)
    except Exception:
        log.warning("channel layer unavailable; polling the outbox instead", exc_info=True)
        return None
    return channel


async def _wait_for_doorbell(layer: Any, channel: str | None, node: str, wait_s: float) -> None:
    """Until a doorbell rings, an order waits, or ``wait_s`` passes.

    The doorbell is only a hint and the outbox the truth: the outbox is re-read
    every DOORBELL_RECHECK_S, so a lost doorbell (the in-memory layer across
    threads, a Redis hiccup) delays an order by seconds, not a whole long poll.
    If the channel layer fails (or is missing), the outbox is polled once a second.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while (left := deadline - loop.time()) > 0:
        if channel is not None:
            try:
                await asyncio.wait_for(layer.receive(channel),
                                       timeout=min(DOORBELL_RECHECK_S, left))
                return
            except TimeoutError:
                pass
            except Exception:
                log.warning("channel layer receive failed; polling the outbox", exc_info=True)
                channel = None
        else:
            await asyncio.sleep(min(1.0, left))
        if await _db(pending_orders)(node):
            return


def _check_sync(data: dict[str, Any]) -> dict[str, Any]:
    """A sync body's ``usage`` checked (raises Rejected naming the fault)."""
    if "usage" in data:
        try:
            data["usage"] = protocol.parse_usage(data["usage"])
        except ValueError as err:
            raise Rejected(400, "Failure during parsing", str(err)) from None
    return data


@csrf_exempt
@require_POST
async def sync(request: HttpRequest) -> HttpResponse:
    try:
        data = _check_sync(await _db(_authenticate)(request))
    except Rejected as err:
        return _error(err.status, err.error, err.detail)
    node = data["node"]
    wait = data.get("wait_s") or 0
    wait_s = min(float(wait), MAX_WAIT_S) if isinstance(wait, int | float) else 0.0
    layer = get_channel_layer()
    group = group_name("agent", node)
    # Join before reading the outbox: an order committed in between still rings.
    channel = await _join(layer, group) if layer is not None and wait_s > 0 else None
    try:
        try:
            acked, orders = await _db(_apply_sync)(data)
        except SlurmError as err:
            return _error(403, err.error, "; ".join(err.detail))
        if not orders and wait_s > 0:
            await _wait_for_doorbell(layer, channel, node, wait_s)
            orders = await _db(pending_orders)(node)
    finally:
        if channel is not None:
            with contextlib.suppress(Exception):
                await layer.group_discard(group, channel)
    return _signed({"orders": orders, "acked_events": acked})
