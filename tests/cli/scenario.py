"""Job, node and partition records that reproduce the golden scenario
(see /work/shared/slurm-golden/README.md), shaped as docs/architecture.md says."""

from __future__ import annotations

import time
from typing import Any

T0 = int(time.mktime((2026, 11, 24, 11, 47, 5, 0, 0, -1)))  # local time, as the goldens


def job(job_id: int, name: str = "wrap", *, state: str = "PENDING", reason: str = "None",
        partition: str = "debug", priority: int = 10287, nodes: str = "", num_nodes: int = 1,
        num_cpus: int = 1, limit: int | None = 60, run: int = 0, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "job_id": job_id, "array_job_id": None, "array_task_id": None, "array_task_str": None,
        "name": name, "user": "root", "uid": 0, "group": "root", "gid": 0,
        "account": "root", "partition": partition, "qos": "normal", "state": state,
        "reason": reason, "priority": priority, "nice": 0, "dependency": None, "hold": False,
        "submit_time": T0, "eligible_time": T0, "start_time": None, "end_time": None,
        "time_limit_min": limit, "run_time_s": run, "nodes": nodes, "num_nodes": num_nodes,
        "num_cpus": num_cpus, "num_tasks": 1, "cpus_per_task": 1, "ntasks_per_node": None,
        "mem_per_node_mb": None, "mem_per_cpu_mb": 100, "gres": None, "constraint": None,
        "exclusive": False, "requeue": True, "restarts": 0,
        "batch_host": nodes or None, "work_dir": "/home/alice/golden", "command": None,
        "stdout": f"/home/alice/golden/slurm-{job_id}.out",
        "stderr": f"/home/alice/golden/slurm-{job_id}.out", "stdin": "/dev/null",
        "exit_code": [0, 0], "derived_exit_code": [0, 0], "comment": None,
        "submit_host": "localhost", "req_nodes": None, "exc_nodes": None,
        "cancelled_by": None, "sched_nodes": None, "steps": [],
    }
    if state == "RUNNING":
        rec["start_time"] = T0 + 2
    rec.update(extra)
    return rec


def arr(job_id: int, task: int | None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("limit", 10)
    rec = job(job_id, "arr", **kw)
    rec["array_job_id"] = 10
    rec["array_task_id"] = task
    if task is None:
        rec["array_task_str"] = "[2-9%2]"
    return rec


def running(job_id: int, name: str, node: str, run: int = 7, **kw: Any) -> dict[str, Any]:
    return job(job_id, name, state="RUNNING", nodes=node, run=run, **kw)


def active_jobs() -> list[dict[str, Any]]:
    """The queue of golden 046, in the controller's order."""
    return [
        job(21, reason="PartitionConfig", priority=11100, num_nodes=10, num_cpus=10),
        job(20, reason="PartitionConfig", priority=11100, num_cpus=64),
        job(16, "big", reason="Resources", priority=11100, num_nodes=4, num_cpus=8),
        job(15, "filler", reason="Priority", priority=10475, num_nodes=2, num_cpus=4),
        job(22, reason="Priority"),
        arr(10, None, reason="JobArrayTaskLimit"),
        job(11, reason="Dependency", dependency="afterok:9(unfulfilled)"),
        job(12, "held", reason="JobHeldUser", priority=0),
        running(9, "directives", "n4", priority=10350, num_cpus=2, limit=20,
                mem_per_cpu_mb=None, mem_per_node_mb=200, cpus_per_task=2),
        running(7, "wrap", "n3"),
        running(8, "wrap", "n1"),
        arr(13, 0, state="RUNNING", nodes="n1", run=7),
        arr(14, 1, state="RUNNING", nodes="n2", run=7),
        running(6, "timeouter", "n3", run=13, limit=1),
        job(18, partition="short", reason="PartitionTimeLimit", priority=11187, limit=30),
    ]


def finished_jobs() -> list[dict[str, Any]]:
    return [
        job(1, "quick", state="COMPLETED", nodes="n1"),
        job(3, "envdump", state="COMPLETED", nodes="n2"),
        job(4, "fromstdin", state="COMPLETED", nodes="n3"),
        job(19, state="FAILED", reason="BadConstraints", exit_code=[1, 0]),
        job(2, "failer", state="FAILED", reason="NonZeroExitCode", nodes="n2",
            exit_code=[3, 0]),
        job(5, partition="short", state="COMPLETED", nodes="n1", run=2, account="physics"),
    ]


def all_jobs() -> list[dict[str, Any]]:
    return finished_jobs()[:5] + active_jobs()[:-1] + finished_jobs()[5:] + active_jobs()[-1:]


def node(name: str, state: str, alloc: int, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "name": name, "state": state, "state_flags": [], "reason": None, "reason_user": None,
        "reason_time": None, "cpus": 2, "alloc_cpus": alloc, "cpu_load": 0.22, "boards": 1,
        "sockets": 1, "cores_per_socket": 2, "threads_per_core": 1, "real_memory_mb": 4000,
        "alloc_memory_mb": alloc * 100, "free_memory_mb": 21860, "gres": None,
        "features": None, "weight": 1, "partitions": ["debug", "short"],
        "boot_time": T0 - 3765, "last_busy": T0 - 2, "slurmd_start_time": T0 - 7,
        "version": "22.05.8", "arch": "x86_64",
        "os": "Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0",
    }
    rec.update(extra)
    return rec


def nodes() -> list[dict[str, Any]]:
    return [node("n1", "ALLOCATED", 2), node("n2", "MIXED", 1), node("n3", "ALLOCATED", 2),
            node("n4", "ALLOCATED", 2)]


def partitions() -> list[dict[str, Any]]:
    common = {"nodes": "n[1-4]", "node_names": ["n1", "n2", "n3", "n4"], "state": "UP",
              "max_nodes": None, "min_nodes": 0, "allow_groups": "ALL", "priority_tier": 1,
              "oversubscribe": "NO", "total_cpus": 8, "total_nodes": 4}
    return [
        {**common, "name": "debug", "default": True, "max_time_min": 1440,
         "default_time_min": 60, "priority_job_factor": 1},
        {**common, "name": "short", "default": False, "max_time_min": 10,
         "default_time_min": 5, "priority_job_factor": 10},
    ]
