"""sstat's fields. A row is ``{"job": {"job_id"}, "step": <step usage record>}``
(``GET /api/jobs/{id}/steps/``: a running step and the agent's latest sample).

Names, default widths and justification are Slurm 22.05's (``sstat/sstat.c``
field table: a negative length there means left-justified); ``DEFAULT_FIELDS``
is its ``STAT_FIELDS``. Memory prints as sacct prints it (``acct.kilobytes``),
CPU times as sacct's TotalCPU (``acct.cpu_time``, whole seconds as sstat has
them), byte counts as sstat's exact conversion (``1048576`` → ``1M``, ``5329``
as is). What Drover does not gather prints as a site without that plugin shows
it: pages and energy 0, CPU frequency requests ``Unknown``. Averages are over
the step's tasks; each step's task 0 is where the extremes are.
"""

from __future__ import annotations

from collections.abc import Callable

from drover.cli.formats import values as v
from drover.cli.formats.acct import cpu_time, kilobytes
from drover.cli.formats.engine import Field
from drover.timefmt import format_hms

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from drover.cli.formats.engine import Record

    Row = Record
    RowGetter = Callable[[Row], str]


def _step(row: Row) -> Record:
    s = row.get("step")
    return s if isinstance(s, dict) else {}


def step_id(row: Row) -> str:
    job = row.get("job") or {}
    return f"{job.get('job_id')}.{_step(row).get('step', 'batch')}"


def _ntasks(row: Row) -> int:
    return max(1, v.num(_step(row), "ntasks", 1))


def _ave(key: str) -> Callable[[Row], int]:
    return lambda row: v.num(_step(row), key) // _ntasks(row)


def _total(key: str) -> Callable[[Row], int]:
    return lambda row: v.num(_step(row), key)


def _cpu_s(row: Row) -> int:
    """The step's CPU seconds per task (whole seconds: sstat's precision)."""
    return int(float(_step(row).get("cpu_time_s") or 0)) // _ntasks(row)


def _node(row: Row) -> str:
    """The node of task 0 (the extremes' node): the first of the step's nodes."""
    from drover.hostlist import expand

    nodes = str(_step(row).get("nodes") or "")
    names = expand(nodes) if nodes else []
    return names[0] if names else ""


def exact_units(n: int) -> str:
    """Slurm's ``convert_num_unit`` with CONVERT_NUM_UNIT_EXACT (sstat's default): divide
    by 1024 only while that is exact. ``0``, ``5329``, ``2048`` → ``2K``."""
    unit = 0
    while n >= 1024 and n % 1024 == 0 and unit < 5:
        n //= 1024
        unit += 1
    return f"{n}{' KMGTP'[unit].strip()}"


def _tres(parts: dict[str, str]) -> str:
    return ",".join(f"{k}={parts[k]}" for k in sorted(parts))


def _tres_in(cpu: Callable[[Row], int], disk: Callable[[Row], int],
             mem: Callable[[Row], int], vmem: Callable[[Row], int]) -> RowGetter:
    return lambda row: _tres({"cpu": format_hms(cpu(row)), "energy": "0",
                              "fs/disk": str(disk(row)), "mem": kilobytes(mem(row)),
                              "pages": "0", "vmem": kilobytes(vmem(row))})


def _tres_out(disk: Callable[[Row], int]) -> RowGetter:
    return lambda row: _tres({"energy": "0", "fs/disk": str(disk(row))})


def _tres_in_where(where: Callable[[Row], str], energy: bool) -> RowGetter:
    keys = ("cpu", "energy", "fs/disk", "mem", "pages", "vmem") if energy else \
        ("cpu", "fs/disk", "mem", "pages", "vmem")
    return lambda row: _tres(dict.fromkeys(keys, where(row)))


def _tres_out_where(where: Callable[[Row], str], energy: bool) -> RowGetter:
    keys = ("energy", "fs/disk") if energy else ("fs/disk",)
    return lambda row: _tres(dict.fromkeys(keys, where(row)))


def _f(name: str, width: int, get: RowGetter) -> tuple[str, Field]:
    return name, Field(name, get, abs(width), width > 0)


def _const(text: str) -> RowGetter:
    return lambda row: text


_RSS, _MAX_RSS = _ave("rss_kb"), _total("max_rss_kb")
_VM, _MAX_VM = _ave("vmsize_kb"), _total("max_vmsize_kb")
_READ, _WRITE = _total("read_bytes"), _total("write_bytes")
_AVE_READ, _AVE_WRITE = _ave("read_bytes"), _ave("write_bytes")


def _task0(row: Row) -> str:
    return "0"


# Slurm's table order: a name given with -o matches the first field it begins.
FIELDS: dict[str, Field] = dict([
    _f("AveCPU", 10, lambda row: cpu_time(_cpu_s(row))),
    _f("AveCPUFreq", 10, _const("0")),
    _f("AveDiskRead", 12, lambda row: exact_units(_AVE_READ(row))),
    _f("AveDiskWrite", 12, lambda row: exact_units(_AVE_WRITE(row))),
    _f("AvePages", 10, _const("0")),
    _f("AveRSS", 10, lambda row: kilobytes(_RSS(row))),
    _f("AveVMSize", 10, lambda row: kilobytes(_VM(row))),
    _f("ConsumedEnergy", 14, _const("0")),
    _f("ConsumedEnergyRaw", 17, _const("0")),
    _f("JobID", -12, step_id),
    _f("MaxDiskRead", 12, lambda row: exact_units(_READ(row))),
    _f("MaxDiskReadNode", 15, _node),
    _f("MaxDiskReadTask", 15, _task0),
    _f("MaxDiskWrite", 12, lambda row: exact_units(_WRITE(row))),
    _f("MaxDiskWriteNode", 16, _node),
    _f("MaxDiskWriteTask", 16, _task0),
    _f("MaxPages", 8, _const("0")),
    _f("MaxPagesNode", 12, _node),
    _f("MaxPagesTask", 14, _task0),
    _f("MaxRSS", 10, lambda row: kilobytes(_MAX_RSS(row))),
    _f("MaxRSSNode", 10, _node),
    _f("MaxRSSTask", 10, _task0),
    _f("MaxVMSize", 10, lambda row: kilobytes(_MAX_VM(row))),
    _f("MaxVMSizeNode", 14, _node),
    _f("MaxVMSizeTask", 14, _task0),
    _f("MinCPU", 10, lambda row: cpu_time(_cpu_s(row))),
    _f("MinCPUNode", 10, _node),
    _f("MinCPUTask", 10, _task0),
    _f("Nodelist", 20, lambda row: str(_step(row).get("nodes") or "")),
    _f("NTasks", 8, lambda row: str(_ntasks(row))),
    _f("Pids", 20, lambda row: ",".join(str(p) for p in _step(row).get("pids") or [])),
    _f("ReqCPUFreq", 10, _const("Unknown")),
    _f("ReqCPUFreqMin", 13, _const("Unknown")),
    _f("ReqCPUFreqMax", 13, _const("Unknown")),
    _f("ReqCPUFreqGov", 13, _const("Unknown")),
    _f("TRESUsageInAve", 14, _tres_in(_cpu_s, _AVE_READ, _RSS, _VM)),
    _f("TRESUsageInMax", 14, _tres_in(_cpu_s, _READ, _MAX_RSS, _MAX_VM)),
    _f("TRESUsageInMaxNode", 18, _tres_in_where(_node, energy=True)),
    _f("TRESUsageInMaxTask", 18, _tres_in_where(_task0, energy=False)),
    _f("TRESUsageInMin", 14, _tres_in(_cpu_s, _READ, _RSS, _VM)),
    _f("TRESUsageInMinNode", 18, _tres_in_where(_node, energy=True)),
    _f("TRESUsageInMinTask", 18, _tres_in_where(_task0, energy=False)),
    _f("TRESUsageInTot", 14, _tres_in(lambda row: _cpu_s(row) * _ntasks(row), _READ,
                                      _total("rss_kb"), _total("vmsize_kb"))),
    _f("TRESUsageOutAve", 15, _tres_out(_AVE_WRITE)),
    _f("TRESUsageOutMax", 15, _tres_out(_WRITE)),
    _f("TRESUsageOutMaxNode", 19, _tres_out_where(_node, energy=True)),
    _f("TRESUsageOutMaxTask", 19, _tres_out_where(_task0, energy=False)),
    _f("TRESUsageOutMin", 15, _tres_out(_WRITE)),
    _f("TRESUsageOutMinNode", 19, _tres_out_where(_node, energy=True)),
    _f("TRESUsageOutMinTask", 19, _tres_out_where(_task0, energy=False)),
    _f("TRESUsageOutTot", 15, _tres_out(_WRITE)),
])

DEFAULT_FIELDS = (
    "jobid,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,maxrss,maxrssnode,maxrsstask,"
    "averss,maxpages,maxpagesnode,maxpagestask,avepages,mincpu,mincpunode,mincputask,avecpu,"
    "ntasks,avecpufreq,reqcpufreqmin,reqcpufreqmax,reqcpufreqgov,consumedenergy,maxdiskread,"
    "maxdiskreadnode,maxdiskreadtask,avediskread,maxdiskwrite,maxdiskwritenode,"
    "maxdiskwritetask,avediskwrite,tresusageinave,tresusageinmax,tresusageinmaxn,"
    "tresusageinmaxt,tresusageinmin,tresusageinminn,tresusageinmint,tresusageintot,"
    "tresusageoutave,tresusageoutmax,tresusageoutmaxn,tresusageoutmaxt,tresusageoutmin,"
    "tresusageoutminn,tresusageoutmint,tresusageouttot"
)
PID_FIELDS = "jobid,nodelist,pids"
