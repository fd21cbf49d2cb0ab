"""Records (docs/architecture.md shapes) → display values for templates and live rows.

One place formats a job or node for people: the server renders the first page
with these dicts and the consumers send the same dicts with every update, so
the browser never formats anything but the ticking run time.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse
from django.utils import timezone

from drover.timefmt import format_elapsed, format_time_limit

ACTIVE = frozenset({"PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING",
                    "REQUEUED", "RESIZING", "STOPPED"})
_STATE_CLASS = {
    "PENDING": "pending", "REQUEUED": "pending", "SUSPENDED": "pending",
    "CONFIGURING": "running", "RUNNING": "running", "COMPLETING": "running",
    "COMPLETED": "completed",
    "CANCELLED": "cancelled", "PREEMPTED": "cancelled", "REVOKED": "cancelled",
    "IDLE": "completed", "MIXED": "running", "ALLOCATED": "running",
    "DOWN": "failed", "DRAIN": "cancelled", "DRAINED": "cancelled", "DRAINING": "pending",
    "UNKNOWN": "cancelled", "UP": "completed", "INACTIVE": "cancelled",
}
# Anything else (FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE) is an error.
_GPU = re.compile(r"\bgpu(?::[^:(,]+)?:(\d+)")


def state_class(state: str) -> str:
    """CSS modifier for a state badge: pending, running, completed, cancelled or failed."""
    return _STATE_CLASS.get(state.rstrip("*+~#!%$@^-").upper(), "failed")


def is_active(state: str) -> bool:
    return state in ACTIVE


def memory(mb: int | None) -> str:
    """Megabytes the way Slurm prints them: 512M, 4G, 1.5G, 2T."""
    if not mb:
        return ""
    if mb >= 1024 * 1024 and mb % (1024 * 1024) == 0:
        return f"{mb // (1024 * 1024)}T"
    if mb >= 1024:
        return f"{mb // 1024}G" if mb % 1024 == 0 else f"{mb / 1024:.1f}G"
    return f"{mb}M"


def timestamp(epoch: float | None) -> str:
    """Slurm's timestamp format (2024-05-01T13:02:03) in the server's zone, or "N/A"."""
    if not epoch:
        return "N/A"
    when = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).astimezone(timezone.get_current_timezone())
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def display_id(job: Mapping[str, Any]) -> str:
    if job.get("array_task_id") is not None:
        return f"{job['array_job_id']}_{job['array_task_id']}"
    if job.get("array_task_str"):
        return f"{job['job_id']}_{job['array_task_str']}"
    return str(job["job_id"])


def _url_id(job: Mapping[str, Any]) -> str:
    if job.get("array_task_id") is not None:
        return f"{job['array_job_id']}_{job['array_task_id']}"
    return str(job["job_id"])


def exit_code(pair: Iterable[int] | None) -> str:
    rc, sig = list(pair or (0, 0))[:2] or (0, 0)
    return f"{rc}:{sig}"


def job_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """One queue-table row: squeue's default columns plus what the page needs.

    ``order``: the job id as people read it, ``[id, -1]`` or ``[array id, task]`` (a
    task's database key says when its row was made, not where it belongs)."""
    state = job.get("state", "")
    task = job.get("array_task_id")
    nodelist = job.get("nodes") or ""
    if state == "PENDING" or not nodelist:
        nodelist = f"({job.get('reason') or 'None'})"
    url_id = _url_id(job)
    return {
        "key": str(job["job_id"]),
        "job_id": display_id(job),
        "order": [job.get("array_job_id") or job["job_id"], -1 if task is None else task],
        "partition": job.get("partition") or "",
        "name": job.get("name") or "",
        "user": job.get("user") or "",
        "state": state,
        "state_class": state_class(state),
        "time": format_elapsed(job.get("run_time_s") or 0),
        "run_time_s": job.get("run_time_s") or 0,
        "start_time": job.get("start_time"),
        "end_time": job.get("end_time"),
        "time_limit": format_time_limit(job.get("time_limit_min")),
        "num_nodes": job.get("num_nodes") or 0,
        "nodelist_reason": nodelist,
        "active": is_active(state),
        "url": reverse("job-detail", args=[url_id]),
        "cancel_url": reverse("job-cancel", args=[url_id]),
    }


def by_job_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The queue page's order (live.js keeps it): by job id, an array's tasks in order."""
    return sorted(rows, key=lambda r: r["order"])


def mine_first(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The dashboard's ``limit`` rows (live.js keeps the order): running and pending
    jobs first, then finished ones, newest first within each."""
    return sorted(rows, key=lambda r: (not r["active"], -r["order"][0], -r["order"][1]))[:limit]


def job_detail(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job page's fields (each one fills a ``data-field`` element)."""
    row = job_row(job)
    mem = ""
    if job.get("mem_per_node_mb"):
        mem = f"{memory(job['mem_per_node_mb'])} per node"
    elif job.get("mem_per_cpu_mb"):
        mem = f"{memory(job['mem_per_cpu_mb'])} per CPU"
    return {
        **row,
        "reason": job.get("reason") or "None",
        "account": job.get("account") or "",
        "qos": job.get("qos") or "",
        "priority": job.get("priority", ""),
        "nodes": job.get("nodes") or "",
        "num_cpus": job.get("num_cpus") or 0,
        "num_tasks": job.get("num_tasks") or 0,
        "cpus_per_task": job.get("cpus_per_task") or 1,
        "memory": mem or "default",
        "gres": job.get("gres") or "",
        "submit_time": timestamp(job.get("submit_time")),
        "start_time_text": timestamp(job.get("start_time")),
        "end_time_text": timestamp(job.get("end_time")),
        "exit_code": exit_code(job.get("exit_code")),
        "work_dir": job.get("work_dir") or "",
        "stdout": job.get("stdout") or "",
        "stderr": job.get("stderr") or "",
    }


def size_kb(kb: int | None) -> str:
    """Kibibytes for people, as sacct's ``--units`` picks them: 812K, 1.5M, 3.2G, 1.1T."""
    value = float(kb or 0)
    for unit in ("K", "M", "G"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "K" or value >= 100 else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"


def step_rows(job: Mapping[str, Any], now: float | None = None) -> list[dict[str, Any]]:
    """The job page's step table: one row per step of ``job``'s record, in sacct's order
    (the record keeps them so). ``now`` (epoch seconds) ends a running step's elapsed."""
    clock = time.time() if now is None else now
    prefix = display_id(job)
    cpus = int(job.get("num_cpus") or 0)
    return [step_row(prefix, step, clock, cpus) for step in job.get("steps") or []]


def step_row(prefix: str, step: Mapping[str, Any], now: float,
             job_cpus: int = 0) -> dict[str, Any]:
    """One step as the job page shows it; ``prefix`` is the job's id as people read it,
    ``job_cpus`` the CPUs of a step without a count of its own (the batch step's)."""
    state = str(step.get("state") or "")
    running = state == "RUNNING"
    start, end = step.get("start_time"), step.get("end_time")
    elapsed = max(0, int((end if end else now) - start)) if start else 0
    cpus = step.get("num_cpus") or job_cpus
    return {
        "key": str(step["step"]),
        "step_id": f"{prefix}.{step['step']}",
        "name": step.get("name") or str(step["step"]),  # the batch step's is its id
        "state": state,
        "state_class": state_class(state),
        "running": running,
        "exit_code": "—" if running else exit_code(step.get("exit_code")),
        "start_time_text": timestamp(start),
        "elapsed": format_elapsed(elapsed),
        "run_time_s": elapsed,
        "cpus": cpus,
        "ntasks": step.get("ntasks") or 0,
        "cpu_time": format_elapsed(int(step.get("cpu_time_s") or 0)),
        "max_rss": size_kb(step.get("max_rss_kb")) if step.get("max_rss_kb") else "—",
        "rss": size_kb(step.get("rss_kb")) if running and step.get("rss_kb") else "",
    }


def gpu_count(gres: str | None) -> int:
    """GPUs named in a GRES string: "gpu:a100:4,gpu:2" → 6; "gpu:a100:2(IDX:0-1)" → 2."""
    return sum(int(n) for n in _GPU.findall(gres or ""))


def node_row(node: Mapping[str, Any]) -> dict[str, Any]:
    state = node.get("state", "")
    flags = node.get("state_flags") or []
    load = node.get("cpu_load")
    return {
        "key": node["name"],
        "name": node["name"],
        "state": state,
        "state_text": "+".join([state, *flags]) if flags else state,
        "state_class": state_class(state),
        "reason": node.get("reason") or "",
        "partitions": ",".join(node.get("partitions") or []),
        "cpus": node.get("cpus") or 0,
        "alloc_cpus": node.get("alloc_cpus") or 0,
        "cpus_text": f"{node.get('alloc_cpus') or 0}/{node.get('cpus') or 0}",
        "memory_text": (f"{memory(node.get('alloc_memory_mb') or 0) or '0'}"
                        f"/{memory(node.get('real_memory_mb'))}"),
        "load": "" if load is None else f"{float(load):.2f}",
        "gres": node.get("gres") or "",
        "gres_used": node.get("gres_used") or "",
        "gpus": gpu_count(node.get("gres")),
        "gpus_used": gpu_count(node.get("gres_used")),
    }


def partition_row(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": p["name"],
        "default": bool(p.get("default")),
        "state": p.get("state", ""),
        "state_class": state_class(p.get("state", "")),
        "time_limit": format_time_limit(p.get("max_time_min")),
        "nodes": p.get("nodes") or "",
        "total_nodes": p.get("total_nodes") or 0,
        "total_cpus": p.get("total_cpus") or 0,
    }


def cluster_usage(nodes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over node rows: CPUs allocated/total, nodes by state, GPUs used/total."""
    rows = list(nodes)
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + 1
    cpus = sum(r["cpus"] for r in rows)
    alloc = sum(r["alloc_cpus"] for r in rows)
    gpus = sum(r["gpus"] for r in rows)
    return {
        "nodes": len(rows),
        "cpus": cpus,
        "alloc_cpus": alloc,
        "cpu_percent": round(100 * alloc / cpus) if cpus else 0,
        "gpus": gpus,
        "gpus_used": sum(r["gpus_used"] for r in rows),
        "by_state": [{"state": s, "count": n, "state_class": state_class(s)}
                     for s, n in sorted(by_state.items())],
    }
