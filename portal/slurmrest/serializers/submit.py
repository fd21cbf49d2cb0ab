"""A slurmrestd job submission -> our job description (docs/architecture.md).

v0.0.38 sends ``{"script": ..., "job": {..., "environment": {"K": "V"}}}``;
v0.0.39+ ``{"job": {"script": ..., "environment": ["K=V"]}}`` with numbers
that may be no_val structs. Both forms are accepted in every version, as a
lenient server should. Heterogeneous jobs (``jobs: [...]``) are refused.
"""

from __future__ import annotations

from typing import Any

from portal.slurmrest.serializers.values import from_no_val
from scheduler.actions.errors import SlurmError

# slurmrestd field -> our description field
TEXT = {
    "name": "name", "partition": "partition", "account": "account", "qos": "qos",
    "comment": "comment", "dependency": "dependency", "array": "array",
    "current_working_directory": "cwd", "standard_output": "stdout",
    "standard_error": "stderr", "standard_input": "stdin", "constraints": "constraint",
    "gres": "gres", "mail_user": "mail_user", "wckey": "wckey", "reservation": "reservation",
    "signal": "signal", "required_nodes": "nodelist", "excluded_nodes": "exclude",
    "exclude_nodes": "exclude",
}
NUMBERS = {
    "tasks": "ntasks", "cpus_per_task": "cpus_per_task", "tasks_per_node": "ntasks_per_node",
    "memory_per_node": "mem_per_node_mb", "memory_per_cpu": "mem_per_cpu_mb",
    "time_minimum": "time_min_min", "nice": "nice", "begin_time": "begin_time",
    "minimum_nodes": "nodes_min", "maximum_nodes": "nodes_max",
}
FLAGS = {"hold": "hold", "requeue": "requeue"}


def _environment(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(e, str) for e in value):
        return dict(e.partition("=")[::2] for e in value)
    raise SlurmError("REST_FAIL_PARSING", "environment must be an object or a list of K=V")


def _nodes(value: Any) -> tuple[int | None, int | None]:
    """``nodes``: 2, "2", "1-3", [1, 3] or a no_val struct."""
    if isinstance(value, list) and 1 <= len(value) <= 2:
        low, _ = from_no_val(value[0], "nodes")
        high, _ = from_no_val(value[-1], "nodes")
        return low, high
    if isinstance(value, str):
        low_text, _, high_text = value.partition("-")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            raise SlurmError("REST_FAIL_PARSING", f"invalid node count {value}")
        return int(low_text), int(high_text or low_text)
    count, _ = from_no_val(value, "nodes")
    return count, count


def _job_part(body: Any) -> tuple[dict[str, Any], Any]:
    if not isinstance(body, dict):
        raise SlurmError("REST_INVALID_JOBS_DESC")
    if body.get("jobs") is not None:
        raise SlurmError("REST_INVALID_JOBS_DESC", "heterogeneous jobs are not supported")
    job = body.get("job")
    if not isinstance(job, dict):
        raise SlurmError("REST_INVALID_JOBS_DESC")
    return job, job.get("script", body.get("script"))


def to_description(body: Any) -> dict[str, Any]:
    job, script = _job_part(body)
    desc: dict[str, Any] = {"script": script, "environment": _environment(job.get("environment"))}
    for src, dst in TEXT.items():
        if job.get(src) not in (None, ""):
            desc[dst] = job[src]
    for src, dst in NUMBERS.items():
        value, _ = from_no_val(job.get(src), src)
        if value is not None:
            desc[dst] = value
    for src, dst in FLAGS.items():
        if job.get(src) is not None:
            desc[dst] = job[src]
    if job.get("time_limit") is not None:
        minutes, infinite = from_no_val(job["time_limit"], "time_limit")
        if minutes is not None and not infinite:
            desc["time_limit_min"] = minutes
    if job.get("nodes") is not None:
        desc["nodes_min"], desc["nodes_max"] = _nodes(job["nodes"])
    if job.get("argv"):
        desc["argv"] = job["argv"]
    if job.get("exclusive") not in (None, False, "false", []):
        desc["exclusive"] = True
    if isinstance(job.get("mail_type"), list):
        desc["mail_type"] = ",".join(job["mail_type"])
    elif job.get("mail_type"):
        desc["mail_type"] = job["mail_type"]
    tres = job.get("tres_per_node")
    if tres and "gres" not in desc:
        desc["gres"] = ",".join(t.removeprefix("gres/") for t in str(tres).split(","))
    return desc
