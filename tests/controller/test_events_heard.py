"""Announcements nobody can hear are not built (the in-memory layer of ``drover up``
knows its groups); those somebody can hear are, and a Redis-like layer is always heard."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

from scheduler import events
from tests.api.builders import make_cluster, make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> InMemoryChannelLayer:
    memory = InMemoryChannelLayer()
    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a: memory)
    return memory


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the job and node announcements built records for."""
    seen: list[str] = []

    def jobs(ids: list[int]) -> list[Any]:
        seen.append(f"jobs {ids}")
        return []

    def nodes(names: list[str]) -> list[Any]:
        seen.append(f"nodes {names}")
        return []

    monkeypatch.setattr(events, "_job_messages", jobs)
    monkeypatch.setattr(events, "_node_messages", nodes)
    return seen


def join(layer: InMemoryChannelLayer, group: str) -> None:
    async def add() -> None:
        await layer.group_add(group, await layer.new_channel())

    asyncio.run(add())


def test_nothing_is_built_for_nobody(layer: InMemoryChannelLayer, built: list[str]) -> None:
    make_cluster(nodes=1)
    job = make_job()
    events.broadcast_jobs([job.pk])
    events.broadcast_nodes(["n1"])
    assert built == []
    join(layer, "agent.n1")  # an agent's doorbell is not a page
    events.broadcast_jobs([job.pk])
    assert built == []


@pytest.mark.parametrize(("group", "expected"), [
    ("queue", ["jobs [1]"]), ("user.alice", ["jobs [1]"]), ("nodes", ["nodes ['n1']"])])
def test_a_listener_in_any_group_of_the_kind_is_heard(
        layer: InMemoryChannelLayer, built: list[str], group: str, expected: list[str]) -> None:
    join(layer, group)
    events.broadcast_jobs([1])
    events.broadcast_nodes(["n1"])
    assert built == expected


def test_a_layer_without_known_groups_is_always_heard(
        monkeypatch: pytest.MonkeyPatch, built: list[str]) -> None:
    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a: object())
    events.broadcast_jobs([1])
    assert built == ["jobs [1]"]
