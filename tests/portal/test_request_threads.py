"""Requests' synchronous code runs on a few lasting threads (portal/request_threads.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.testing import HttpCommunicator
from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.request_threads import PooledASGIHandler

_pair = threading.Barrier(2, timeout=10)


def whoami(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(threading.get_ident()))


def meet(request: HttpRequest) -> HttpResponse:
    _pair.wait()  # returns only when two requests' views run at the same time
    return HttpResponse(str(threading.get_ident()))


urlpatterns = [path("whoami", whoami), path("meet", meet)]


@pytest.fixture
def app(settings: pytest.FixtureRequest) -> PooledASGIHandler:
    settings.ROOT_URLCONF = __name__  # type: ignore[attr-defined]
    return PooledASGIHandler(threads=3)


async def _get(app: PooledASGIHandler, url: str) -> tuple[int, str]:
    response = await HttpCommunicator(app, "GET", url).get_response(timeout=15)
    return response["status"], response["body"].decode()


def test_requests_one_after_another_reuse_one_thread(app: PooledASGIHandler) -> None:
    async def twenty() -> list[tuple[int, str]]:
        return [await _get(app, "/whoami") for _ in range(20)]

    answers = asyncio.run(twenty())
    assert {status for status, _ in answers} == {200}
    assert len({thread for _, thread in answers}) == 1
    assert int(answers[0][1]) != threading.get_ident()


def test_requests_at_the_same_time_run_on_different_threads(app: PooledASGIHandler) -> None:
    async def two() -> list[tuple[int, str]]:
        return list(await asyncio.gather(_get(app, "/meet"), _get(app, "/meet")))

    (status1, thread1), (status2, thread2) = asyncio.run(two())
    assert (status1, status2) == (200, 200)
    assert thread1 != thread2


def test_only_http_is_handled(app: PooledASGIHandler) -> None:
    with pytest.raises(ValueError, match="not websocket"):
        asyncio.run(app({"type": "websocket"}, None, None))
