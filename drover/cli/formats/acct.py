"""sacct's fields. A row is ``{"job": <job record>, "step": <step record> or None}``.

Default widths and justification are sacct's (``sacct/sacct.c`` field table:
a negative length there means left-justified). Field names match
case-insensitively (``drover.cli.formats.engine.parse_names``). Sizes print in the
row's ``"units"`` (``values.Units``: ``--units``, ``--noconvert``), wherever Slurm's
``sacct/print.c`` passes them to ``convert_num_unit``: ReqMem and TRES mem (from
megabytes), memory and disk usage, TRES usage (from bytes) and, as Slurm does, ReqNodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from drover.cli.formats import stat as sf
from drover.cli.formats import values as v
from drover.cli.formats.engine import Field
from drover.timefmt import format_hms, format_time_limit_padded, format_timestamp

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from drover.cli.formats.engine import Record

    Row = Record
    RowGetter = Callable[[Row], str]


def _job(row: Row) -> Record:
    j = row.get("job")
    return j if isinstance(j, dict) else {}


def _step(row: Row) -> Record | None:
    s = row.get("step")
    return s if isinstance(s, dict) else None


def _job_row(get: RowGetter) -> RowGetter:
    """A job row's figure that step rows leave blank."""
    return lambda row: "" if _step(row) is not None else get(row)


def _job_only(get: v.Getter) -> RowGetter:
    """A job attribute that step rows leave blank."""
    return _job_row(lambda row: get(_job(row)))


def _both(get: v.Getter) -> RowGetter:
    """A job attribute that step rows repeat (Account, Cluster...)."""
    return lambda row: get(_job(row))


def _jt(key: str, empty: str = "") -> v.Getter:
    return lambda r: v.text(r, key, empty)


def _job_id(row: Row) -> str:
    base = v.display_id(_job(row))
    step = _step(row)
    return base if step is None else f"{base}.{step.get('step', 'batch')}"


def _job_id_raw(row: Row) -> str:
    base = str(v.num(_job(row), "job_id"))
    step = _step(row)
    return base if step is None else f"{base}.{step.get('step', 'batch')}"


def _job_name(row: Row) -> str:
    step = _step(row)
    if step is None:
        return v.text(_job(row), "name", "")
    name = str(step.get("name") or step.get("step") or "")
    return name if name in ("batch", "extern") or not name.isdigit() else \
        v.text(_job(row), "name", "")


def job_state_text(job: Record) -> str:
    st = v.state(job)
    by = job.get("cancelled_by")
    if st == "CANCELLED" and by is not None:
        return f"CANCELLED by {by}"
    return st


def _state(row: Row) -> str:
    step = _step(row)  # a step cancelled by someone (scancel N.S, or its job's) says who
    return job_state_text(_job(row) if step is None else step)


# Jobs the controller ends (cancel, time limit, preemption): Slurm's accounting
# stores the job's end before its script dies of the signal, so the job row reads
# 0:0 while scontrol and the batch step show 0:15 (golden 115: jobs 6 and 7).
_ENDED_BY_CONTROLLER = frozenset({"CANCELLED", "TIMEOUT", "PREEMPTED", "DEADLINE"})


def _exit(row: Row) -> str:
    step = _step(row)
    if step is not None:
        return v.exit_code(step)
    job = _job(row)
    rc, sig = v.exit_pair(job)
    if sig and not rc and v.state(job) in _ENDED_BY_CONTROLLER:
        return "0:0"
    return f"{rc}:{sig}"


def _times(row: Row) -> tuple[float | None, float | None]:
    src = _step(row) or _job(row)
    start, end = src.get("start_time"), src.get("end_time")
    return (start if isinstance(start, (int, float)) and start > 0 else None,
            end if isinstance(end, (int, float)) and end > 0 else None)


def _elapsed_s(row: Row) -> int:
    step = _step(row)
    if step is None and isinstance(_job(row).get("run_time_s"), int):
        return v.num(_job(row), "run_time_s")
    start, end = _times(row)
    if start is None:
        return 0
    return int((end if end is not None else time.time()) - start)


def _stamp(get: Callable[[Row], Any]) -> RowGetter:
    def fmt(row: Row) -> str:
        t = get(row)
        return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else "Unknown"
    return fmt


def _alloc_cpus(row: Row) -> int:
    job = _job(row)
    step = _step(row)
    if step is not None:
        if "num_cpus" in step:
            return v.num(step, "num_cpus")
        if v.num(job, "num_nodes", 1) <= 1:
            return v.num(job, "num_cpus", 1)
        return v.num(job, "cpus_per_task", 1) or 1
    return v.num(job, "num_cpus", 0)


def _cpu_time_s(row: Row) -> float:
    step = _step(row)
    if step is not None:
        return float(step.get("cpu_time_s") or 0)
    steps = _job(row).get("steps") or []
    return float(sum(float(s.get("cpu_time_s") or 0) for s in steps if isinstance(s, dict)))


def _nodelist(row: Row) -> str:
    step = _step(row)
    src = step if step is not None else _job(row)
    nodes = src.get("nodes")
    return str(nodes) if nodes else "None assigned"


def _tres(row: Row, billing: bool) -> str:
    job = _job(row)
    cpus = _alloc_cpus(row) if _step(row) is not None else v.num(job, "num_cpus", 1)
    parts = {"cpu": str(cpus), "node": str(v.num(job, "num_nodes", 1))}
    mem = v.total_mem_mb(job)
    if mem:
        parts["mem"] = v.units_of(row)(mem, 2)
    if billing:
        parts["billing"] = str(cpus)
    return ",".join(f"{k}={parts[k]}" for k in sorted(parts))


def _req_mem(row: Row) -> str:
    return v.units_of(row)(v.total_mem_mb(_job(row)), 2)


def _alloc_tres(row: Row) -> str:
    job = _job(row)
    if _step(row) is None and v.state(job) == "PENDING":
        return ""
    return _tres(row, billing=_step(row) is None)


def _timelimit(job: Record) -> str:
    lim = job.get("time_limit_min")
    return format_time_limit_padded(lim if isinstance(lim, int) else None)


def _cpu_time(row: Row) -> str:
    return format_hms(_elapsed_s(row) * _alloc_cpus(row))


def _ended(get: RowGetter) -> RowGetter:
    """A step's usage figure. Accounting keeps the figures a step ended with, so job rows
    and steps not ended print blank, as Slurm's (sstat shows a running step's)."""
    def fmt(row: Row) -> str:
        step = _step(row)
        if step is None or step.get("max_rss_kb") is None or \
                str(step.get("state") or "").upper() in v.ACTIVE_STATES:
            return ""
        return get(row)
    return fmt


def _megabytes(get: Callable[[Row], int]) -> RowGetter:
    """sacct's disk figures (Slurm's ``_print_small_double`` of bytes / 2**20): ``2M``,
    ``5.30M`` in the row's units; up to one ``0.01M`` and none ``0`` whatever the units."""
    def fmt(row: Row) -> str:
        mb = get(row) / (1 << 20)
        if mb > 1:
            return v.units_of(row)(mb, 2)
        return f"{mb:.2f}M" if mb > 0 else "0"
    return fmt


# A step's final figures are its peaks and totals (sstat's record keys): the average and
# the minimum are those over its tasks, and task 0 on its first node holds the extremes.
_AVE_RSS, _AVE_VM = sf.ave("max_rss_kb"), sf.ave("max_vmsize_kb")
_READ, _AVE_READ = sf.total("read_bytes"), sf.ave("read_bytes")
_WRITE, _AVE_WRITE = sf.total("write_bytes"), sf.ave("write_bytes")
_TRES_IN_AVE = sf.tres_in(sf.cpu_s, _AVE_READ, _AVE_RSS, _AVE_VM)


def _f(name: str, width: int, get: RowGetter) -> tuple[str, Field]:
    return name, Field(name, get, abs(width), width > 0)


def _usage(name: str, width: int, get: RowGetter | None = None) -> tuple[str, Field]:
    """A usage column: sstat's figure (or ``get``), for ended steps only."""
    return _f(name, width, _ended(get or sf.FIELDS[name].get))


def _blank(name: str, width: int) -> tuple[str, Field]:
    return _f(name, width, lambda row: "")


FIELDS: dict[str, Field] = dict([
    _f("Account", 10, _both(_jt("account"))),
    _f("AdminComment", 15, _job_only(_jt("admin_comment"))),
    _f("AllocCPUS", 10, lambda row: str(_alloc_cpus(row))),
    _f("AllocNodes", 10, _job_only(lambda j: str(v.num(j, "num_nodes", 0)
                                                 if v.state(j) != "PENDING" else 0))),
    _f("AllocTRES", 10, _alloc_tres),
    _f("Cluster", 10, _both(_jt("cluster", "drover"))),
    _f("Comment", 15, _job_only(_jt("comment"))),
    _f("Constraints", 19, _job_only(_jt("constraint"))),
    _f("CPUTime", 10, _cpu_time),
    _f("CPUTimeRAW", 10, lambda row: str(_elapsed_s(row) * _alloc_cpus(row))),
    _f("DerivedExitCode", 15, _job_only(lambda j: v.exit_code(j, "derived_exit_code"))),
    _f("Elapsed", 10, lambda row: format_hms(_elapsed_s(row))),
    _f("ElapsedRaw", 10, lambda row: str(_elapsed_s(row))),
    _f("Eligible", 19, _stamp(lambda row: _job(row).get("eligible_time"))),
    _f("End", 19, _stamp(lambda row: _times(row)[1])),
    _f("ExitCode", 8, _exit),
    _f("GID", 5, _job_only(_jt("gid"))),
    _f("Group", 9, _job_only(_jt("group"))),
    _f("JobID", -12, _job_id),
    _f("JobIDRaw", -12, _job_id_raw),
    _f("JobName", 10, _job_name),
    _f("NCPUS", 10, lambda row: str(_alloc_cpus(row))),
    _f("NNodes", 8, lambda row: str(v.num(_job(row), "num_nodes", 1))),
    _f("NodeList", -15, _nodelist),
    _f("NTasks", 8, lambda row: "" if _step(row) is None
       else str(v.num(_step(row) or {}, "ntasks", 1))),
    _f("Partition", 10, _job_only(_jt("partition"))),
    _f("Priority", 10, _job_only(lambda j: str(v.num(j, "priority")))),
    _f("QOS", 10, _job_only(_jt("qos"))),
    _f("Reason", 20, _job_only(lambda j: v.reason(j))),
    _f("ReqCPUS", 8, _job_only(lambda j: str(v.num(j, "num_cpus", 1)))),
    _f("ReqMem", 10, _job_row(_req_mem)),
    _f("ReqNodes", 8, _job_row(lambda row: v.units_of(row)(v.num(_job(row), "num_nodes", 1)))),
    _f("ReqTRES", 10, _job_row(lambda row: _tres(row, billing=True))),
    _f("Reservation", 11, _job_only(_jt("reservation"))),
    _f("Start", 19, _stamp(lambda row: _times(row)[0])),
    _f("State", 10, _state),
    _f("Submit", 19, _stamp(lambda row: (_step(row) or {}).get("start_time")
                            if _step(row) is not None else _job(row).get("submit_time"))),
    _f("SubmitLine", 20, _job_only(_jt("submit_line"))),
    _f("SystemCPU", 10, lambda row: v.cpu_time(0)),
    _f("Timelimit", 10, _job_only(_timelimit)),
    _f("TimelimitRaw", 10, _job_only(lambda j: v.text(j, "time_limit_min", "UNLIMITED"))),
    _f("TotalCPU", 10, lambda row: v.cpu_time(_cpu_time_s(row))),
    _f("UID", 5, _job_only(_jt("uid"))),
    _f("User", 9, _job_only(_jt("user"))),
    _f("UserCPU", 10, lambda row: v.cpu_time(_cpu_time_s(row))),
    _f("WCKey", 10, _job_only(_jt("wckey"))),
    _f("WorkDir", 15, _job_only(_jt("work_dir"))),
    _usage("MaxVMSize", 10), _usage("MaxVMSizeNode", 14), _usage("MaxVMSizeTask", 14),
    _usage("AveVMSize", 10, sf.in_kilobytes(_AVE_VM)),
    _usage("MaxRSS", 10), _usage("MaxRSSNode", 10), _usage("MaxRSSTask", 10),
    _usage("AveRSS", 10, sf.in_kilobytes(_AVE_RSS)),
    _usage("MaxPages", 8), _usage("MaxPagesNode", 12), _usage("MaxPagesTask", 14),
    _usage("AvePages", 10), _usage("MinCPU", 10), _usage("MinCPUNode", 10),
    _usage("MinCPUTask", 10), _usage("AveCPU", 10), _usage("AveCPUFreq", 10),
    _usage("ConsumedEnergy", 14),
    _usage("MaxDiskRead", 12, _megabytes(_READ)),
    _usage("MaxDiskReadNode", 15), _usage("MaxDiskReadTask", 15),
    _usage("AveDiskRead", 14, _megabytes(_AVE_READ)),
    _usage("MaxDiskWrite", 12, _megabytes(_WRITE)),
    _usage("MaxDiskWriteNode", 16), _usage("MaxDiskWriteTask", 16),
    _usage("AveDiskWrite", 14, _megabytes(_AVE_WRITE)),
    _usage("TRESUsageInAve", 14, _TRES_IN_AVE), _usage("TRESUsageInMax", 14),
    _usage("TRESUsageInMaxNode", 18), _usage("TRESUsageInMaxTask", 18),
    _usage("TRESUsageInMin", 14, _TRES_IN_AVE), _usage("TRESUsageInMinNode", 18),
    _usage("TRESUsageInMinTask", 18),
    _usage("TRESUsageInTot", 14, sf.tres_in(lambda row: sf.cpu_s(row) * sf.ntasks(row),
                                            _READ, sf.total("max_rss_kb"),
                                            sf.total("max_vmsize_kb"))),
    _usage("TRESUsageOutMax", 15), _usage("TRESUsageOutMaxNode", 19),
    _usage("TRESUsageOutMaxTask", 19), _usage("TRESUsageOutAve", 15),
    _usage("TRESUsageOutTot", 15),
    _blank("ReqCPUFreqMin", 13), _blank("ReqCPUFreqMax", 13), _blank("ReqCPUFreqGov", 13),
])

DEFAULT_FIELDS = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode"
LONG_FIELDS = (
    "JobID,JobIDRaw,JobName,Partition,MaxVMSize,MaxVMSizeNode,MaxVMSizeTask,AveVMSize,"
    "MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS,MaxPages,MaxPagesNode,MaxPagesTask,AvePages,"
    "MinCPU,MinCPUNode,MinCPUTask,AveCPU,NTasks,AllocCPUS,Elapsed,State,ExitCode,"
    "AveCPUFreq,ReqCPUFreqMin,ReqCPUFreqMax,ReqCPUFreqGov,ReqMem,ConsumedEnergy,"
    "MaxDiskRead,MaxDiskReadNode,MaxDiskReadTask,AveDiskRead,MaxDiskWrite,"
    "MaxDiskWriteNode,MaxDiskWriteTask,AveDiskWrite,ReqTRES,AllocTRES,TRESUsageInAve,"
    "TRESUsageInMax,TRESUsageInMaxNode,TRESUsageInMaxTask,TRESUsageInMin,"
    "TRESUsageInMinNode,TRESUsageInMinTask,TRESUsageInTot,TRESUsageOutMax,"
    "TRESUsageOutMaxNode,TRESUsageOutMaxTask,TRESUsageOutAve,TRESUsageOutTot"
)
