"""The WebSocket consumers with channels.testing: auth, groups, permission re-checks, tailing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from portal import consumers
from portal.routing import websocket_urlpatterns
from scheduler.records import job_record, node_record
from tests.portal.conftest import make_job, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def as_user(user: Any) -> Any:
    """The URL router with ``scope["user"]`` set, as AuthMiddlewareStack would set it."""
    router = URLRouter(websocket_urlpatterns)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await router({**scope, "user": user}, receive, send)

    return app


async def connect(user: Any, path: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(as_user(user), path)
    connected, code = await comm.connect()
    assert connected, code
    return comm


async def nothing_more(comm: WebsocketCommunicator) -> bool:
    return await comm.receive_nothing(timeout=0.3)


async def send_job(group: str, *jobs: Any) -> None:
    """One batch, as scheduler.events sends them."""
    records = [await sync_to_async(job_record)(job) for job in jobs]
    await get_channel_layer().group_send(group, {"type": "job.updates", "jobs": records})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "USER_TTL_S", 0.0)
    monkeypatch.setattr(consumers, "TAIL_INTERVAL_S", 0.05)


@pytest.mark.parametrize("path", ["/ws/queue/", "/ws/nodes/", "/ws/jobs/1/"])
def test_anonymous_sockets_are_refused(path: str) -> None:
    async def go() -> None:
        comm = WebsocketCommunicator(as_user(AnonymousUser()), path)
        assert await comm.connect() == (False, consumers.CLOSE_UNAUTHENTICATED)

    run(go())


def test_the_queue_socket_starts_with_a_snapshot_of_my_jobs_only(cluster: Any) -> None:
    alice = make_user("alice")
    mine = make_job("alice", name="mine")
    make_job("bob", name="theirs")

    async def go() -> None:
        comm = await connect(alice, "/ws/queue/?scope=all")  # not an operator: scope ignored
        snap = await comm.receive_json_from()
        assert snap["type"] == "snapshot"
        assert [r["key"] for r in snap["rows"]] == [str(mine.id)]
        await comm.disconnect()

    run(go())


def test_a_user_gets_updates_of_their_jobs_and_never_of_others(cluster: Any) -> None:
    alice = make_user("alice")
    mine = make_job("alice", name="mine")
    theirs = make_job("bob", name="theirs")

    async def go() -> None:
        comm = await connect(alice, "/ws/queue/")
        await comm.receive_json_from()  # snapshot
        await send_job("queue", theirs)  # alice is not in "queue"
        await send_job("user.alice", theirs)  # a mis-routed message: filtered anyway
        assert await nothing_more(comm)
        await send_job("user.alice", theirs, mine)  # in a batch: only her own job
        msg = await comm.receive_json_from()
        assert msg["type"] == "job" and msg["job"]["job_id"] == mine.id
        assert msg["row"]["state_class"] == "pending" and msg["row"]["name"] == "mine"
        assert await nothing_more(comm)
        await comm.disconnect()

    run(go())


def test_operators_with_scope_all_get_every_job(cluster: Any) -> None:
    opal = make_user("opal", operator=True)
    theirs = make_job("bob", name="theirs")

    async def go() -> None:
        comm = await connect(opal, "/ws/queue/?scope=all")
        snap = await comm.receive_json_from()
        assert [r["key"] for r in snap["rows"]] == [str(theirs.id)]
        await send_job("queue", theirs)
        assert (await comm.receive_json_from())["job"]["user"] == "bob"
        await comm.disconnect()

    run(go())


def test_a_demoted_operator_stops_receiving_other_users_jobs_at_once(cluster: Any) -> None:
    opal = make_user("opal", operator=True)
    theirs = make_job("bob", name="theirs")
    own = make_job("opal", name="own")

    async def go() -> None:
        comm = await connect(opal, "/ws/queue/?scope=all")
        await comm.receive_json_from()
        opal.is_staff = False
        await sync_to_async(opal.save)()
        await send_job("queue", theirs)
        assert await nothing_more(comm)
        await send_job("queue", own)
        assert (await comm.receive_json_from())["job"]["user"] == "opal"
        await comm.disconnect()

    run(go())


def test_a_deactivated_user_is_disconnected(cluster: Any) -> None:
    alice = make_user("alice")
    mine = make_job("alice")

    async def go() -> None:
        comm = await connect(alice, "/ws/queue/")
        await comm.receive_json_from()
        alice.is_active = False
        await sync_to_async(alice.save)()
        await send_job("user.alice", mine)
        assert (await comm.receive_output(1))["type"] == "websocket.close"

    run(go())


def test_the_nodes_socket_relays_node_updates(cluster: Any) -> None:
    alice = make_user("alice")
    from scheduler.models import Node

    async def go() -> None:
        comm = await connect(alice, "/ws/nodes/")
        snap = await comm.receive_json_from()
        assert [r["name"] for r in snap["rows"]] == ["n1", "n2"]
        node = await sync_to_async(Node.objects.prefetch_related("partitions").get)(name="n2")
        node.state, node.alloc_cpus = "ALLOCATED", 8
        record = await sync_to_async(node_record)(node)
        await get_channel_layer().group_send("nodes", {"type": "node.update", "node": record})
        msg = await comm.receive_json_from()
        assert msg["row"]["cpus_text"] == "8/8" and msg["row"]["state_class"] == "running"
        await comm.disconnect()

    run(go())


def test_a_job_socket_is_for_the_owner_and_operators_only(cluster: Any) -> None:
    make_user("alice")
    bob = make_user("bob")
    opal = make_user("opal", operator=True)
    job = make_job("alice", name="private")

    async def go() -> None:
        refused = WebsocketCommunicator(as_user(bob), f"/ws/jobs/{job.id}/")
        assert await refused.connect() == (False, consumers.CLOSE_NOT_FOUND)
        comm = await connect(opal, f"/ws/jobs/{job.id}/")
        msg = await comm.receive_json_from()
        assert msg["type"] == "job" and msg["detail"]["name"] == "private"
        await comm.disconnect()

    run(go())


def test_the_job_socket_tails_output_and_stops_after_the_end(cluster: Any,
                                                             tmp_path: Path) -> None:
    alice = make_user("alice")
    out = tmp_path / "out.txt"
    out.write_text("line 1\n")
    job = make_job("alice", state="RUNNING", stdout=str(out))

    async def output(comm: WebsocketCommunicator) -> dict[str, Any]:
        while True:
            msg = await comm.receive_json_from(timeout=3)
            if msg["type"] != "job":
                return msg

    async def go() -> None:
        comm = await connect(alice, f"/ws/jobs/{job.id}/")
        assert (await comm.receive_json_from())["detail"]["state"] == "RUNNING"
        first = await output(comm)
        assert first == {"type": "output", "stream": "stdout", "text": "line 1\n",
                         "reset": True, "truncated": False}
        with out.open("a") as f:
            f.write("line 2\n")
        assert (await output(comm))["text"] == "line 2\n"  # only what is new
        with out.open("a") as f:
            f.write("last line\n")
        job.state = "COMPLETED"
        await sync_to_async(job.save)()
        other = await sync_to_async(make_job)("alice", name="other")
        await send_job("user.alice", other, job)  # the owner's group: only this job counts
        seen = ""
        while True:
            msg = await output(comm)
            if msg["type"] == "output.done":
                break
            seen += msg["text"]
        assert seen == "last line\n"
        await comm.disconnect()

    run(go())


def test_the_job_socket_refuses_files_the_job_user_does_not_own(cluster: Any,
                                                                tmp_path: Path) -> None:
    alice = make_user("alice")
    secret = tmp_path / "secret"
    secret.write_text("top secret\n")
    job = make_job("alice", state="COMPLETED", stdout=str(secret), uid=os.getuid() + 4242)

    async def go() -> None:
        comm = await connect(alice, f"/ws/jobs/{job.id}/")
        await comm.receive_json_from()
        problem = await comm.receive_json_from()
        assert problem["type"] == "output.problem" and "not owned" in problem["problem"]
        assert (await comm.receive_json_from())["type"] == "output.done"
        await comm.disconnect()

    run(go())


def test_the_job_socket_says_when_a_finished_jobs_output_is_gone(cluster: Any,
                                                                 tmp_path: Path) -> None:
    alice = make_user("alice")
    job = make_job("alice", state="COMPLETED", stdout=str(tmp_path / "deleted.out"))

    async def go() -> None:
        comm = await connect(alice, f"/ws/jobs/{job.id}/")
        await comm.receive_json_from()
        problem = await comm.receive_json_from()
        assert problem["type"] == "output.problem" and "does not exist" in problem["problem"]
        assert (await comm.receive_json_from())["type"] == "output.done"
        await comm.disconnect()

    run(go())


def test_the_real_asgi_stack_authenticates_with_the_session_cookie(cluster: Any) -> None:
    from portal.asgi import application

    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def go() -> None:
        headers = [(b"cookie", cookie), (b"origin", b"http://testserver"),
                   (b"host", b"testserver")]
        comm = WebsocketCommunicator(application, "/ws/queue/", headers=headers)
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from())["type"] == "snapshot"
        await comm.disconnect()
        anonymous = WebsocketCommunicator(application, "/ws/queue/",
                                          headers=[(b"origin", b"http://testserver")])
        assert (await anonymous.connect())[0] is False

    run(go())


@pytest.mark.parametrize("origin", [b"http://evil.example", b"http://testserver.evil.example",
                                    b"null", None])
def test_a_handshake_from_another_site_is_refused_though_the_cookie_is_good(
        cluster: Any, origin: bytes | None) -> None:
    from portal.asgi import application

    alice = make_user("alice")
    make_job("alice", name="secret")
    client = Client()
    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"cookie", cookie), (b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))

    async def go() -> None:
        comm = WebsocketCommunicator(application, "/ws/queue/", headers=headers)
        assert (await comm.connect())[0] is False

    run(go())


@pytest.mark.parametrize(("origin", "host", "trusted", "allowed"), [
    ("http://portal:8000", "portal:8000", [], True),
    ("https://portal.example.org", "portal.example.org", [], True),
    ("http://portal:8001", "portal:8000", [], False),
    ("http://other.example", "portal:8000", [], False),
    ("https://front.example.org", "portal:8000", ["https://front.example.org"], True),
    ("http://front.example.org", "portal:8000", ["https://front.example.org"], False),
    ("", "portal:8000", [], False),
])
def test_only_our_own_origin_or_a_trusted_one_may_open_a_socket(
        settings: Any, origin: str, host: str, trusted: list[str], allowed: bool) -> None:
    from portal.wsorigin import origin_allowed

    settings.CSRF_TRUSTED_ORIGINS = trusted
    assert origin_allowed(origin, host) is allowed


def test_events_broadcast_reaches_the_owners_queue_socket(cluster: Any) -> None:
    from django.db import connection, transaction

    from scheduler import events

    alice = make_user("alice")
    job = make_job("alice", name="announced")

    def announce() -> None:
        try:
            with transaction.atomic():
                events.broadcast_jobs([job.id])
        finally:
            connection.close()  # this pool thread's: the test database is dropped after

    async def go() -> None:
        comm = await connect(alice, "/ws/queue/")
        await comm.receive_json_from()
        await sync_to_async(announce, thread_sensitive=False)()
        msg = await comm.receive_json_from(timeout=3)
        assert msg["row"]["name"] == "announced"
        await comm.disconnect()

    run(go())


def _in_a_thread(action: Any) -> Any:
    """Run ``action`` in a transaction of a pool thread, as a request or agent sync would:
    its announcements go out after commit."""
    from django.db import connection, transaction

    def go() -> Any:
        try:
            with transaction.atomic():
                return action()
        finally:
            connection.close()  # this pool thread's: the test database is dropped after

    return sync_to_async(go, thread_sensitive=False)()


def _usage(job_id: int, step: str, when: float, **fields: Any) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "job_id": job_id, "step": step, "ntasks": 2, "pids": [1], "time": when,
        "cpu_time_s": 1.0, "rss_kb": 1024, "max_rss_kb": 2048, "vmsize_kb": 4096,
        "max_vmsize_kb": 4096, "read_bytes": 0, "write_bytes": 0}
    sample.update(fields)
    return sample


async def _next_of(comm: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (output of the tail in between is skipped)."""
    while True:
        msg = await comm.receive_json_from(timeout=3)
        if msg["type"] == kind:
            return msg


def test_the_job_socket_sends_the_steps_with_the_job(cluster: Any) -> None:
    from scheduler.models import JobStep

    alice = make_user("alice")
    job = make_job("alice", state="RUNNING", name="withsteps")
    JobStep.objects.create(job=job, step="batch", state="RUNNING")
    JobStep.objects.create(job=job, step="0", name="<script>x</script>", state="COMPLETED")

    async def go() -> None:
        comm = await connect(alice, f"/ws/jobs/{job.id}/")
        msg = await comm.receive_json_from()
        assert [s["step_id"] for s in msg["steps"]] == [f"{job.id}.batch", f"{job.id}.0"]
        assert msg["steps"][1]["name"] == "<script>x</script>"  # data; live.js sets textContent
        assert msg["steps"][1]["state_class"] == "completed"
        await comm.disconnect()

    run(go())


def test_a_step_srun_creates_and_ends_reaches_the_open_job_page(cluster: Any) -> None:
    from scheduler.actions.steps import do_create_step, do_end_step

    alice = make_user("alice")
    job = make_job("alice", state="RUNNING", batch_host="n1", alloc={"n1": {"cpus": 4}})

    async def go() -> None:
        comm = await connect(alice, f"/ws/jobs/{job.id}/")
        assert (await comm.receive_json_from())["steps"] == []
        await _in_a_thread(lambda: do_create_step(alice, str(job.id),
                                                  {"name": "hostname", "ntasks": 2}))
        made = await _next_of(comm, "job")
        assert [(s["step_id"], s["name"], s["state"], s["cpus"], s["ntasks"])
                for s in made["steps"]] == [(f"{job.id}.0", "hostname", "RUNNING", 2, 2)]
        await _in_a_thread(lambda: do_end_step(alice, str(job.id), "0",
                                               {"exit_code": 3, "max_rss_kb": 4096}))
        ended = (await _next_of(comm, "job"))["steps"][0]
        assert (ended["state"], ended["exit_code"], ended["max_rss"]) == ("FAILED", "3:0", "4.0M")
        await comm.disconnect()

    run(go())


def test_usage_samples_reach_the_job_page_once_each_and_not_the_queue(cluster: Any) -> None:
    import time

    from scheduler.actions.step_usage import record_step_usage
    from scheduler.models import JobStep

    alice = make_user("alice")
    job = make_job("alice", state="RUNNING", batch_host="n1", alloc={"n1": {"cpus": 4}})
    other = make_job("alice", state="RUNNING", batch_host="n1", alloc={"n1": {"cpus": 1}})
    JobStep.objects.create(job=job, step="batch", state="RUNNING")
    JobStep.objects.create(job=job, step="0", name="done", state="COMPLETED", max_rss_kb=7)
    JobStep.objects.create(job=other, step="batch", state="RUNNING")
    now = time.time()

    async def go() -> None:
        page = await connect(alice, f"/ws/jobs/{job.id}/")
        await page.receive_json_from()
        queue = await connect(alice, "/ws/queue/")
        await queue.receive_json_from()  # snapshot
        sample = [_usage(job.id, "batch", now, rss_kb=3 * 1024, max_rss_kb=5 * 1024),
                  _usage(other.id, "batch", now)]
        assert await _in_a_thread(lambda: record_step_usage("n1", sample)) == 2
        msg = await _next_of(page, "steps")
        batch, done = msg["rows"]
        assert (batch["rss"], batch["max_rss"], batch["cpu_time"]) == ("3.0M", "5.0M", "0:01")
        assert done["max_rss"] == "7K"  # an ended step keeps its own figures
        assert await queue.receive_nothing(timeout=0.3)  # queue rows show no steps
        # The same sample again (the agent resends it) is stored but not announced.
        await _in_a_thread(lambda: record_step_usage("n1", sample[:1]))
        assert await page.receive_nothing(timeout=0.3)
        await page.disconnect()
        await queue.disconnect()

    run(go())


def test_a_usage_sample_of_someone_elses_job_is_not_relayed(cluster: Any) -> None:
    from scheduler.models import JobStep

    make_user("alice")
    opal = make_user("opal", operator=True)
    job = make_job("alice", state="RUNNING")
    JobStep.objects.create(job=job, step="batch", state="RUNNING")
    sample = {"job_id": job.id, "user": "alice",
              "steps": [{"step": "batch", "rss_kb": 2048, "max_rss_kb": 2048}]}

    async def go() -> None:
        comm = await connect(opal, f"/ws/jobs/{job.id}/")
        await comm.receive_json_from()
        assert (await _steps_after(comm, sample))[0]["rss"] == "2.0M"  # an operator: yes
        opal.is_staff = False  # demoted while the page is open
        await sync_to_async(opal.save)()
        await get_channel_layer().group_send("user.alice",
                                             {"type": "job.steps", "jobs": [sample]})
        assert await nothing_more(comm)
        await comm.disconnect()

    run(go())


async def _steps_after(comm: WebsocketCommunicator, sample: dict[str, Any]) -> Any:
    await get_channel_layer().group_send("user.alice", {"type": "job.steps", "jobs": [sample]})
    return (await _next_of(comm, "steps"))["rows"]
