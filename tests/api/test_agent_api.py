"""The agent endpoints: credentials (MAC, replay, uid, node), signed answers, the outbox, long poll.

These run on committed data (``transactional_db``): the views do their database
work in worker threads with their own connections.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from nodeagent import protocol
from scheduler.actions.jobs import do_cancel_job
from scheduler.models import AgentOrder, Job, Node
from tests.api.builders import make_cluster, make_running, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body: dict[str, Any], *, key: bytes | None = None, uid: int | None = None,
         header: str | None = None) -> Any:
    raw = protocol.encode(body)
    cred = header or protocol.sign(key or settings.CLUSTER_KEY, raw, host="h",
                                   uid=os.getuid() if uid is None else uid, gid=0)
    return Client().post(path, data=raw, content_type="application/json",
                         headers={protocol.HEADER: cred})


def sync_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"node": "n1", "running": [], "events": [], "acks": [], "wait_s": 0,
                            "load": 0.1, "free_memory_mb": 1000}
    body.update(fields)
    return body


def answer(response: Any) -> dict[str, Any]:
    """The body of a signed answer, after checking its credential as an agent would."""
    protocol.verify(settings.CLUSTER_KEY, response.headers[protocol.HEADER], response.content,
                    now=time.time(), seen_nonce=protocol.NonceMemory())
    data: dict[str, Any] = json.loads(response.content)
    return data


@pytest.fixture
def nodes(transactional_db: Any) -> list[Node]:
    return make_cluster(state="UNKNOWN")


def test_register_with_a_good_credential_is_answered_signed(nodes: Any) -> None:
    r = post("/api/agent/register/", {"node": "n1", "cpus": 2, "version": "0.1", "running": []})
    assert r.status_code == 200
    assert answer(r) == {"heartbeat_s": 10}
    assert Node.objects.get(name="n1").state == "IDLE"


def test_a_bad_mac_is_refused(nodes: Any) -> None:
    r = post("/api/agent/register/", {"node": "n1"}, key=b"k" * 32)
    assert r.status_code == 403
    assert r.json()["errors"][0]["detail"] == ["bad credential signature"]


def test_a_replayed_credential_is_refused(nodes: Any) -> None:
    raw = protocol.encode({"node": "n1"})
    cred = protocol.sign(settings.CLUSTER_KEY, raw, host="h", uid=os.getuid(), gid=0)
    assert post("/api/agent/register", {"node": "n1"}, header=cred).status_code == 200
    r = post("/api/agent/register", {"node": "n1"}, header=cred)
    assert r.status_code == 403
    assert r.json()["errors"][0]["detail"] == ["credential replayed"]


def test_a_body_other_than_the_signed_one_is_refused(nodes: Any) -> None:
    cred = protocol.sign(settings.CLUSTER_KEY, b"{}", host="h", uid=0, gid=0)
    assert post("/api/agent/sync/", sync_body(), header=cred).status_code == 403


def test_other_uids_and_unknown_nodes_are_refused(nodes: Any) -> None:
    if os.getuid() != 12345:
        assert post("/api/agent/sync/", sync_body(), uid=12345).status_code == 403
    assert post("/api/agent/register/", {"node": "nosuch"}).status_code == 403
    assert post("/api/agent/sync/", sync_body(node="nosuch")).status_code == 403
    assert Client().post("/api/agent/sync/", data=b"{}",
                         content_type="application/json").status_code == 403


def test_orders_are_resent_until_acked_and_an_end_frees_the_node(nodes: Any) -> None:
    user = make_user("daemon")
    job = make_running(Node.objects.get(name="n1"), cpus=2, mem=300)
    do_cancel_job(user, job)
    first = answer(post("/api/agent/sync/", sync_body(running=[job.id])))
    again = answer(post("/api/agent/sync/", sync_body(running=[job.id])))
    assert first["orders"] == again["orders"]
    assert [o["kind"] for o in first["orders"]] == ["terminate"]
    order_id = first["orders"][0]["id"]
    ended = {"seq": 11, "kind": "ended", "job_id": job.id, "time": time.time(),
             "exit_code": 0, "signal": 15, "terminated_for": "cancel"}
    got = answer(post("/api/agent/sync/", sync_body(acks=[order_id], events=[ended])))
    assert got == {"orders": [], "acked_events": [11]}
    assert AgentOrder.objects.get(id=order_id).acked is not None
    got = answer(post("/api/agent/sync/", sync_body(events=[ended])))  # resent: no change
    assert got["acked_events"] == [11]
    job.refresh_from_db()
    n1 = Node.objects.get(name="n1")
    assert job.state == "CANCELLED"
    assert (n1.alloc_cpus, n1.alloc_memory_mb, n1.state, n1.cpu_load) == (0, 0, "IDLE", 0.1)


def test_the_long_poll_waits_and_a_new_order_wakes_it(nodes: Any) -> None:
    user = make_user("daemon")
    Node.objects.filter(name="n1").update(state="IDLE")
    job = make_running(Node.objects.get(name="n1"))
    started = time.monotonic()
    assert answer(post("/api/agent/sync/", sync_body(wait_s=1)))["orders"] == []
    assert time.monotonic() - started >= 0.9

    def cancel_soon() -> None:
        time.sleep(0.5)
        do_cancel_job(user, Job.objects.get(pk=job.pk))

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    started = time.monotonic()
    got = answer(post("/api/agent/sync/", sync_body(wait_s=20)))
    thread.join()
    assert [o["kind"] for o in got["orders"]] == ["terminate"]
    assert time.monotonic() - started < 10


class BrokenLayer:
    """A channel layer whose receive fails, as channels_redis does when Redis times out."""

    async def new_channel(self) -> str:
        return "specific.x!y"

    async def group_add(self, group: str, channel: str) -> None:
        return None

    async def group_discard(self, group: str, channel: str) -> None:
        return None

    async def receive(self, channel: str) -> dict[str, Any]:
        raise ConnectionError("Timeout reading from 127.0.0.1:6379")


def test_a_failing_channel_layer_falls_back_to_polling_the_outbox(
        nodes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("portal.agentapi.get_channel_layer", lambda: BrokenLayer())
    user = make_user("daemon")
    Node.objects.filter(name="n1").update(state="IDLE")
    job = make_running(Node.objects.get(name="n1"))
    thread = threading.Timer(0.5, lambda: do_cancel_job(user, Job.objects.get(pk=job.pk)))
    thread.start()
    got = answer(post("/api/agent/sync/", sync_body(wait_s=5)))
    thread.join()
    assert [o["kind"] for o in got["orders"]] == ["terminate"]
