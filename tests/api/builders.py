"""Tiny builders shared by the API and action tests: a golden-like cluster, users, jobs.

The cluster mirrors slurm-golden's: nodes n[1-4] (2 CPUs, 4000 MB), partitions
``debug`` (default, MaxTime 1-00:00:00, DefaultTime 1:00:00) and ``short``
(MaxTime 10:00). Users are real Unix accounts of this machine, since the
controller resolves uid/gid: ``root`` (operator), ``daemon`` and ``bin``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduler.models import ClusterSetting, Job, Node, Partition
from tests import shared

GOLDEN = shared.GOLDEN
_ids = itertools.count(5000)


def make_cluster(nodes: int = 4, cpus: int = 2, mem: int = 4000, gres: str = "",
                 features: str = "", state: str = "IDLE") -> list[Node]:
    made = [Node.objects.create(name=f"n{i}", cpus=cpus, real_memory_mb=mem, gres=gres,
                                features=features, state=state) for i in range(1, nodes + 1)]
    debug = Partition.objects.create(name="debug", is_default=True, max_time_min=1440,
                                     default_time_min=60)
    short = Partition.objects.create(name="short", max_time_min=10, priority_job_factor=10)
    debug.nodes.set(made)
    short.nodes.set(made)
    ClusterSetting.objects.update_or_create(key="DefMemPerCPU", defaults={"value": "100"})
    return made


def set_param(key: str, value: str) -> None:
    ClusterSetting.objects.update_or_create(key=key, defaults={"value": value})


def make_user(username: str, *, operator: bool = False) -> Any:
    manager: Any = get_user_model().objects
    return manager.create_user(username, password="pw-xxxxxxxx", is_staff=operator)


def desc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"script": "#!/bin/bash\ntrue\n", "cwd": "/tmp", "name": "wrap"}
    base.update(fields)
    return base


def make_job(user: str = "daemon", **fields: Any) -> Job:
    now = timezone.now()
    values: dict[str, Any] = {
        "id": next(_ids), "name": "job", "user": user, "uid": 1, "group": user, "gid": 1,
        "partition": "debug", "submit_time": now, "script": "#!/bin/bash\ntrue\n",
        "work_dir": "/tmp", "state": "PENDING", "reason": "Priority", "time_limit_min": 60,
    }
    values.update(fields)
    return Job.objects.create(**values)


def make_running(node: Node, user: str = "daemon", cpus: int = 1, mem: int = 100,
                 **fields: Any) -> Job:
    """A RUNNING job holding ``cpus``/``mem`` on ``node`` (node totals kept as the core would)."""
    job = make_job(user, state="RUNNING", start_time=timezone.now(), nodes=node.name,
                   batch_host=node.name, alloc={node.name: {"cpus": cpus, "mem_mb": mem,
                                                            "gpus": []}}, **fields)
    node.alloc_cpus += cpus
    node.alloc_memory_mb += mem
    node.state = "ALLOCATED" if node.alloc_cpus >= node.cpus else "MIXED"
    node.save()
    return job


def golden_error(name: str) -> tuple[str, list[str]]:
    """(error, detail lines) that real Slurm printed in ``slurm-golden/<name>``."""
    text = next(GOLDEN.glob(f"{name}*")).read_text()
    error = re.search(r"Batch job submission failed: (.*)", text)
    assert error, name
    details = [m for m in re.findall(r"sbatch: error: (.*)", text)
               if not m.startswith("Batch job submission failed")]
    return error.group(1), details
