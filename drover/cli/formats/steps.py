"""Running job steps as ``squeue -s`` and ``scontrol show step`` see them.

:func:`step_rows` turns job records (each with its ``steps``) into one flat record
per running step, carrying what Slurm's ``job_step_info_t`` has from the job
(partition, user, array ids). The field tables are squeue's step letters and
``-O`` names (``squeue/opts.c``: A b i j l M N P S U u), with the headers of
``squeue/print.c``; :func:`step_lines` is ``slurm_sprint_job_step_info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from drover.cli.formats import values as v
from drover.cli.formats.engine import Field
from drover.timefmt import format_elapsed, format_timestamp
from drover.units import format_mem_mb

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from drover.cli.formats.engine import Record

# Slurm's ids of the special steps (SLURM_BATCH_SCRIPT, SLURM_EXTERN_CONT): they sort
# after srun's 0, 1, ... (``squeue/sort.c`` compares the numbers).
SPECIAL_STEP_IDS = {"batch": 0xFFFFFFFB, "extern": 0xFFFFFFFC, "interactive": 0xFFFFFFFA}


def step_number(name: str) -> int:
    return int(name) if name.isdigit() else SPECIAL_STEP_IDS.get(name, 0xFFFFFFFE)


def _step_row(job: Record, step: Record) -> dict[str, Any]:
    name = str(step.get("step"))
    start = step.get("start_time")
    job_start = job.get("start_time")
    run = v.num(job, "run_time_s")
    if isinstance(start, (int, float)) and isinstance(job_start, (int, float)):
        run -= int(start - job_start)  # the server's clock, through the job's run time
    cpus = v.num(step, "num_cpus") or v.num(job, "num_cpus", 1)
    req = v.mem_request(job)
    nodes = str(step.get("nodes") or job.get("nodes") or "")
    return {
        "job_id": job.get("job_id"), "array_job_id": job.get("array_job_id"),
        "array_task_id": job.get("array_task_id"), "step": name,
        "step_id": f"{v.display_id(job)}.{name}",
        # the batch and extern steps are named so in Slurm; srun's by its command
        "name": step.get("name") or (name if name in SPECIAL_STEP_IDS else ""),
        "state": step.get("state"), "partition": job.get("partition"),
        "user": job.get("user"), "uid": job.get("uid"), "nodes": nodes,
        "num_nodes": len(hosts(nodes)) or 1, "num_cpus": cpus,
        "num_tasks": v.num(step, "ntasks", 1) or 1, "start_time": start,
        "run_time_s": max(run, 0), "batch_host": job.get("batch_host"),
        "mem_mb": (req[0] * cpus if req[1] else req[0] * (len(hosts(nodes)) or 1))
        if req else 0,
    }


def hosts(nodes: str) -> list[str]:
    from drover.hostlist import HostlistError, expand

    try:
        return expand(nodes) if nodes else []
    except HostlistError:
        return [nodes]


def step_rows(jobs: Iterable[Record]) -> list[dict[str, Any]]:
    """One record per running step of ``jobs``, in Slurm's order: job id, then step id."""
    rows = [_step_row(job, step) for job in jobs for step in job.get("steps") or ()
            if isinstance(step, dict) and step.get("state") == "RUNNING"]
    rows.sort(key=lambda r: (v.num(r, "job_id"), step_number(r["step"])))
    return rows


# --- squeue -s fields -------------------------------------------------------------------

def _start(r: Record) -> str:
    t = r.get("start_time")
    return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else "N/A"


def _array_task(r: Record) -> str:
    tid = r.get("array_task_id")
    return "N/A" if tid is None else str(tid)


def _f(header: str, get: v.Getter) -> Field:
    return Field(header, get)


# A step of Drover has no time limit of its own, nor reserved ports or a network:
# Slurm's INFINITE and NULL values.
LETTERS: dict[str, Field] = {
    "A": _f("TASKS", lambda r: str(v.num(r, "num_tasks", 1))),
    "b": _f("TRES_PER_NODE", lambda r: "(null)"),
    "i": _f("STEPID", lambda r: str(r.get("step_id"))),
    "j": _f("NAME", lambda r: v.text(r, "name", "")),
    "l": _f("TIME_LIMIT", lambda r: "UNLIMITED"),
    "M": _f("TIME", lambda r: format_elapsed(v.num(r, "run_time_s"))),
    "N": _f("NODELIST", lambda r: v.text(r, "nodes", "")),
    "P": _f("PARTITION", lambda r: v.text(r, "partition", "")),
    "S": _f("START_TIME", _start),
    "U": _f("UID", lambda r: v.text(r, "uid", "4294967294")),
    "u": _f("USER", lambda r: v.text(r, "user", "")),
}

# squeue -s -O names (case-insensitive), as ``parse_long_format`` knows them.
NAMES: dict[str, Field] = {
    "ArrayJobId": _f("ARRAY_JOB_ID", lambda r: str(v.num(r, "array_job_id"))),
    "ArrayTaskId": _f("ARRAY_TASK_ID", _array_task),
    "Gres": LETTERS["b"],
    "JobId": _f("JOB_ID", lambda r: str(v.num(r, "job_id"))),
    "Network": _f("NETWORK", lambda r: "(null)"),
    "Nodes": LETTERS["N"],
    "NumCPUs": _f("NUM_CPUS", lambda r: str(v.num(r, "num_cpus", 1))),
    "NumTask": LETTERS["A"],
    "Partition": LETTERS["P"],
    "ResvPorts": _f("RESERVED_PORTS", lambda r: "(null)"),
    "StartTime": LETTERS["S"],
    "StepId": LETTERS["i"],
    "StepName": LETTERS["j"],
    "StepState": _f("STATE", v.state),
    "TimeLimit": LETTERS["l"],
    "TimeUsed": LETTERS["M"],
    "UserId": LETTERS["U"],
    "UserName": LETTERS["u"],
}

DEFAULT_FORMAT = "%.15i %.8j %.9P %.8u %.9M %N"

# -S letters for steps (``squeue/sort.c``); other letters sort by their column's text.
SORT_KEYS: dict[str, Callable[[Record], Any]] = {
    "i": lambda r: (v.num(r, "job_id"), step_number(r["step"])),
    "M": lambda r: v.num(r, "run_time_s"),
    "S": lambda r: v.num(r, "start_time"),
    "U": lambda r: v.num(r, "uid"),
    "A": lambda r: v.num(r, "num_tasks"),
}


# --- scontrol show step ------------------------------------------------------------------

def step_tres(r: Record) -> str:
    mem = v.num(r, "mem_mb")
    parts = [f"cpu={v.num(r, 'num_cpus', 1)}"]
    if mem:
        parts.append(f"mem={format_mem_mb(mem)}")
    parts.append(f"node={v.num(r, 'num_nodes', 1)}")
    return ",".join(parts)


def step_lines(r: Record) -> list[str]:
    """The lines of ``scontrol show step`` for one step record."""
    srun = r.get("step") not in SPECIAL_STEP_IDS
    return [
        f"StepId={r.get('step_id')} UserId={v.text(r, 'uid', '4294967294')} "
        f"StartTime={_start(r)} TimeLimit=UNLIMITED",
        f"State={v.state(r)} Partition={v.text(r, 'partition')} "
        f"NodeList={v.text(r, 'nodes')}",
        f"Nodes={v.num(r, 'num_nodes', 1)} CPUs={v.num(r, 'num_cpus', 1)} "
        f"Tasks={v.num(r, 'num_tasks', 1)} Name={v.text(r, 'name')} Network=(null)",
        f"TRES={step_tres(r)}",
        "ResvPorts=(null)",
        # srun's default distribution is block; the batch and extern steps have none
        "CPUFreqReq=Default" + (" Dist=Block" if srun else ""),
        # srun runs on the batch host; its pid is not recorded (0, as for the batch step)
        f"SrunHost:Pid={v.text(r, 'batch_host') if srun else '(null)'}:0",
    ]
