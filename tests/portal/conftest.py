"""Builders for the portal tests: users, a partition with nodes, jobs in any state."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduler.models import Job, Node, Partition

_ids = itertools.count(1000)

def make_user(username: str, *, operator: bool = False, password: str = "pw-" + "x" * 8) -> Any:
    return get_user_model().objects.create_user(username, password=password, is_staff=operator)


def make_job(user: str = "alice", **fields: Any) -> Job:
    now = timezone.now()
    values: dict[str, Any] = {
        "id": next(_ids), "name": "job", "user": user, "uid": os.getuid(), "group": user,
        "gid": os.getgid(), "partition": "debug", "submit_time": now,
        "script": "#!/bin/bash\ntrue\n", "work_dir": "/tmp", "state": "PENDING",
        "reason": "Priority",
    }
    values.update(fields)
    started = ("RUNNING", "COMPLETED", "FAILED", "CANCELLED")
    if values["state"] in started and "start_time" not in fields:
        values["start_time"] = now
        values.setdefault("nodes", "n1")
    if values["state"] in ("COMPLETED", "FAILED", "CANCELLED") and "end_time" not in fields:
        values["end_time"] = now
    return Job.objects.create(**values)


@pytest.fixture
def alice(db: Any) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(db: Any) -> Any:
    return make_user("bob")


@pytest.fixture
def operator(db: Any) -> Any:
    return make_user("opal", operator=True)


@pytest.fixture
def cluster(db: Any) -> Partition:
    n1 = Node.objects.create(name="n1", cpus=8, real_memory_mb=16000, state="MIXED",
                             alloc_cpus=2, gres="gpu:a100:2", alloc_gres={"gpu:a100": [0]})
    n2 = Node.objects.create(name="n2", cpus=8, real_memory_mb=16000, state="IDLE")
    part = Partition.objects.create(name="debug", is_default=True, max_time_min=60)
    part.nodes.set([n1, n2])
    Partition.objects.create(name="secret", allow_groups="nosuchgroup-drover")
    return part
