"""Small conversions from API records to the words Slurm prints.

Every getter tolerates missing keys: records come from servers of different
ages, and an absent optional key prints as Slurm prints "not set".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drover.timefmt import format_hms, format_timestamp

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
    Getter = Callable[[Record], str]

JOB_STATE_CODES: dict[str, str] = {
    "PENDING": "PD", "RUNNING": "R", "SUSPENDED": "S", "COMPLETING": "CG",
    "COMPLETED": "CD", "CONFIGURING": "CF", "CANCELLED": "CA", "FAILED": "F",
    "TIMEOUT": "TO", "PREEMPTED": "PR", "NODE_FAIL": "NF", "BOOT_FAIL": "BF",
    "DEADLINE": "DL", "OUT_OF_MEMORY": "OOM", "STOPPED": "ST", "SPECIAL_EXIT": "SE",
    "REQUEUED": "RQ", "REQUEUE_HOLD": "RH", "REQUEUE_FED": "RF", "RESIZING": "RS",
    "REVOKED": "RV", "SIGNALING": "SI", "STAGE_OUT": "SO", "RESV_DEL_HOLD": "RD",
}
STATE_BY_CODE: dict[str, str] = {v: k for k, v in JOB_STATE_CODES.items()}
ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "SUSPENDED", "COMPLETING"})


def normalize_job_state(word: str) -> str | None:
    """``pd``/``pending``/``PD`` -> ``PENDING``; None when it names no state."""
    up = word.strip().upper()
    if up in JOB_STATE_CODES:
        return up
    if up == "CANCELED":
        return "CANCELLED"
    return STATE_BY_CODE.get(up)


def text(r: Record, key: str, empty: str = "(null)") -> str:
    """``r[key]`` as text; ``empty`` when it is missing, None or ""."""
    v = r.get(key)
    if v.__class__ is str:  # the common case first: squeue reads ~5 of these a job
        return v or empty
    if v is None or v == "" or v == []:
        return empty
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def num(r: Record, key: str, default: int = 0) -> int:
    v = r.get(key)
    if v.__class__ is int:
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    return default


def state(r: Record) -> str:
    st = r.get("state")
    if st.__class__ is str and st in JOB_STATE_CODES:  # as the controller spells it
        return st
    return str(st or "UNKNOWN").upper()


def state_code(r: Record) -> str:
    st = r.get("state")
    if st.__class__ is str and st in JOB_STATE_CODES:  # as the controller spells it
        return JOB_STATE_CODES[st]
    st = state(r)
    return JOB_STATE_CODES.get(st, st[:2])


def is_array(r: Record) -> bool:
    return r.get("array_task_id") is not None or bool(r.get("array_task_str"))


def array_job_id(r: Record) -> int:
    """The array's base id, or the job id for a job outside an array."""
    aid = num(r, "array_job_id")
    return aid if aid and is_array(r) else num(r, "job_id")


def array_task_range(r: Record) -> str | None:
    """``2-9%2`` for a pending remainder, ``3`` for a task, None outside arrays."""
    tid = r.get("array_task_id")
    if tid is not None:
        return str(tid)
    rest = r.get("array_task_str")
    if rest:
        return str(rest).strip("[]")
    return None


def display_id(r: Record) -> str:
    """squeue ``%i``/sacct ``JobID``: ``12``, ``10_3`` or ``10_[2-9%2]``."""
    tid = r.get("array_task_id")
    if tid is not None:
        return f"{array_job_id(r)}_{tid}"
    rest = r.get("array_task_str")
    if rest:
        rest = str(rest)
        if not rest.startswith("["):
            rest = f"[{rest}]"
        return f"{array_job_id(r)}_{rest}"
    return str(num(r, "job_id"))


def array_throttle(r: Record) -> int:
    """The ``%N`` of an array (0 = none), from the record or its task string."""
    v = num(r, "array_max_tasks", 0) or num(r, "array_throttle", 0)
    if v:
        return v
    rest = str(r.get("array_task_str") or "")
    if "%" in rest:
        tail = rest.split("%", 1)[1].strip("]")
        return int(tail) if tail.isdigit() else 0
    return 0


def exit_pair(r: Record, key: str = "exit_code") -> tuple[int, int]:
    v = r.get(key)
    if isinstance(v, (list, tuple)) and len(v) >= 2:
        return int(v[0] or 0), int(v[1] or 0)
    if isinstance(v, int):
        return (v >> 8) & 0xFF if v > 255 else v, 0
    return 0, 0


def exit_code(r: Record, key: str = "exit_code") -> str:
    rc, sig = exit_pair(r, key)
    return f"{rc}:{sig}"


def reason(r: Record) -> str:
    return text(r, "reason", "None")


def user_with_id(name: object, ident: object) -> str:
    return f"{name if name not in (None, '') else ident}({ident if ident is not None else '?'})"


def mem_request(r: Record) -> tuple[int, bool] | None:
    """(megabytes, per_cpu) of the job's memory request, None when not set."""
    per_cpu = r.get("mem_per_cpu_mb")
    if per_cpu:
        return int(per_cpu), True
    per_node = r.get("mem_per_node_mb")
    if per_node:
        return int(per_node), False
    return None


def total_mem_mb(r: Record) -> int:
    req = mem_request(r)
    if req is None:
        return 0
    mb, per_cpu = req
    return mb * max(num(r, "num_cpus", 1), 1) if per_cpu else mb * max(num(r, "num_nodes", 1), 1)


def expected_end(r: Record, missing: str) -> str:
    """A job's end, or the one its start (planned start) and time limit promise."""
    end = r.get("end_time")
    if isinstance(end, (int, float)) and end > 0:
        return format_timestamp(end)
    start = r.get("start_time") or r.get("sched_start_time")
    lim = r.get("time_limit_min")
    if isinstance(start, (int, float)) and start > 0 and isinstance(lim, int):
        return format_timestamp(start + lim * 60)
    return missing


class Units:
    """How sacct and sstat print a size: Slurm's ``convert_num_unit`` with their
    ``--units`` and ``--noconvert``. Called with a value and its unit (0 none, 1 K,
    2 M...): ``to`` (sacct ``--units=[KMGTP]``) converts up or down to that unit and
    overrides ``convert``; else it divides by 1024 while the value stays whole or a half
    (CONVERT_NUM_UNIT_EXACT: ``2048`` → ``2K``, ``1536`` → ``1.50K``, ``5329`` as is), or
    with ``convert`` off (``--noconvert``) keeps the value's unit. Under 1 prints ``0``."""

    __slots__ = ("to", "convert")

    def __init__(self, to: int | None = None, convert: bool = True) -> None:
        self.to = to
        self.convert = convert

    def __call__(self, n: float, unit: int = 0) -> str:
        if int(n) == 0:
            return "0"
        if self.to is not None:
            n *= 1024.0 ** (unit - self.to)  # powers of two: exact, as Slurm's loop
            unit = self.to
        elif self.convert:
            while n >= 1024 and int(n) % 512 == 0 and unit < 5:
                n /= 1024
                unit += 1
        return f"{int(n) if n == int(n) else f'{n:.2f}'}{' KMGTP'[unit].strip()}"


EXACT = Units()


def units_of(row: Record) -> Units:
    """A sacct or sstat row's ``"units"`` (its command's options), else the default."""
    u = row.get("units")
    return u if isinstance(u, Units) else EXACT


def cpu_time(seconds: float) -> str:
    """A CPU time as sacct and sstat print it (TotalCPU, AveCPU...; Slurm's ``_elapsed_time``):
    ``[D-]HH:MM:SS`` from an hour or for whole seconds, else ``MM:SS.mmm``."""
    secs, ms = divmod(int(round(seconds * 1000)), 1000)
    if secs >= 3600 or not ms:
        return format_hms(secs)
    return f"{secs // 60:02d}:{secs % 60:02d}.{ms:03d}"
