"""Announcements from a thread beside the ASGI server go out on the server's loop
(``events.send_on``): the in-memory channel layer's queues belong to that loop.
Elsewhere (the Celery worker) they go out on one lasting loop of the process's own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from scheduler import events


class _Recorder:
    """A channel layer that notes the loop each group_send ran on."""

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.loops.append(asyncio.get_running_loop())
        self.sent.append((group, message))


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a: recorder)
    return recorder


@pytest.fixture
def server_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(events, "_server_loop", None)
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_a_thread_sends_on_the_server_loop_once_it_is_known(
        layer: _Recorder, server_loop: asyncio.AbstractEventLoop) -> None:
    wake = ("agent.n1", {"type": "agent.wake"})
    events._send([wake])
    assert layer.loops and layer.loops[0] is not server_loop  # a loop of its own
    asyncio.run_coroutine_threadsafe(_call(events.send_on, server_loop), server_loop).result(5)
    events._send([wake, wake])
    assert layer.loops[1:] == [server_loop, server_loop]
    assert layer.sent == [wake] * 3


def test_a_stopped_server_loop_is_not_waited_for(
        layer: _Recorder, server_loop: asyncio.AbstractEventLoop) -> None:
    events.send_on(server_loop)
    server_loop.call_soon_threadsafe(server_loop.stop)
    while server_loop.is_running():
        threading.Event().wait(0.01)
    events._send([("nodes", {"type": "node.update"})])
    assert layer.sent == [("nodes", {"type": "node.update"})]
    assert layer.loops[0] is not server_loop


async def _call(fn: Any, *args: Any) -> Any:
    return fn(*args)


def test_without_a_server_every_announcement_uses_one_lasting_loop(
        layer: _Recorder, server_loop: asyncio.AbstractEventLoop) -> None:
    for _ in range(3):  # from the test's thread and from two fresh threads
        thread = threading.Thread(target=events._send, args=([("queue", {"type": "x"})],))
        thread.start()
        thread.join(5)
    events._send([("queue", {"type": "x"})])
    own = layer.loops[0]
    assert len(layer.loops) == 4 and all(loop is own for loop in layer.loops)
    assert own is not server_loop and own.is_running()  # it outlives the sends
