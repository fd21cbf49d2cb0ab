"""sstat's fields. A row is ``{"job": {"job_id"}, "step": <step usage record>}``
(``GET /api/jobs/{id}/steps/``: a running step and the agent's latest sample).

Names, default widths and justification are Slurm 22.05's (``sstat/sstat.c``
field table: a negative length there means left-justified); ``DEFAULT_FIELDS``
is its ``STAT_FIELDS``. Sizes print as Slurm's ``convert_num_unit`` from bytes
(``values.Units``: exact, ``1048576`` → ``1M``, ``5329`` as is; ``--noconvert``: bytes),
as sacct prints them; CPU times as sacct's TotalCPU (``values.cpu_time``, whole seconds
as sstat has them). What Drover does not gather prints as a site without that plugin shows
it: pages and energy 0, CPU frequency requests ``Unknown``. Averages are over
the step's tasks; each step's task 0 is where the extremes are.
"""

from __future__ import annotations

from collections.abc import Callable

from drover.cli.formats import values as v
from drover.cli.formats.engine import Field
from drover.cli.formats.values import cpu_time
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


def ntasks(row: Row) -> int:
    return max(1, v.num(_step(row), "ntasks", 1))


def ave(key: str) -> Callable[[Row], int]:
    return lambda row: v.num(_step(row), key) // ntasks(row)


def total(key: str) -> Callable[[Row], int]:
    return lambda row: v.num(_step(row), key)


def cpu_s(row: Row) -> int:
    """The step's CPU seconds per task (whole seconds: sstat's precision)."""
    return int(float(_step(row).get("cpu_time_s") or 0)) // ntasks(row)


def node(row: Row) -> str:
    """The node of task 0 (the extremes' node): the first of the step's nodes."""
    from drover.hostlist import expand

    nodes = str(_step(row).get("nodes") or "")
    names = expand(nodes) if nodes else []
    return names[0] if names else ""


def in_bytes(get: Callable[[Row], int]) -> RowGetter:
    """A byte count in the row's units (Slurm's ``convert_num_unit`` from UNIT_NONE)."""
    return lambda row: v.units_of(row)(get(row))


def in_kilobytes(get: Callable[[Row], int]) -> RowGetter:
    """A memory figure in kilobytes, printed as Slurm prints the bytes it keeps."""
    return lambda row: v.units_of(row)(get(row) * 1024)


def _tres(parts: dict[str, str]) -> str:
    return ",".join(f"{k}={parts[k]}" for k in sorted(parts))


def tres_in(cpu: Callable[[Row], int], disk: Callable[[Row], int],
            mem: Callable[[Row], int], vmem: Callable[[Row], int]) -> RowGetter:
    """A TRESUsageIn figure: CPU time, then sizes as the other size fields print them."""
    fs, rss, vm = in_bytes(disk), in_kilobytes(mem), in_kilobytes(vmem)
    return lambda row: _tres({"cpu": format_hms(cpu(row)), "energy": "0", "fs/disk": fs(row),
                              "mem": rss(row), "pages": "0", "vmem": vm(row)})


def tres_out(disk: Callable[[Row], int]) -> RowGetter:
    fs = in_bytes(disk)
    return lambda row: _tres({"energy": "0", "fs/disk": fs(row)})


def tres_in_where(where: Callable[[Row], str], energy: bool) -> RowGetter:
    keys = ("cpu", "energy", "fs/disk", "mem", "pages", "vmem") if energy else \
        ("cpu", "fs/disk", "mem", "pages", "vmem")
    return lambda row: _tres(dict.fromkeys(keys, where(row)))


def tres_out_where(where: Callable[[Row], str], energy: bool) -> RowGetter:
    keys = ("energy", "fs/disk") if energy else ("fs/disk",)
    return lambda row: _tres(dict.fromkeys(keys, where(row)))


def _f(name: str, width: int, get: RowGetter) -> tuple[str, Field]:
    return name, Field(name, get, abs(width), width > 0)


def _const(text: str) -> RowGetter:
    return lambda row: text


_RSS, _MAX_RSS = ave("rss_kb"), total("max_rss_kb")
_VM, _MAX_VM = ave("vmsize_kb"), total("max_vmsize_kb")
_READ, _WRITE = total("read_bytes"), total("write_bytes")
_AVE_READ, _AVE_WRITE = ave("read_bytes"), ave("write_bytes")


def task0(row: Row) -> str:
    return "0"


# Slurm's table order: a name given with -o matches the first field it begins.
FIELDS: dict[str, Field] = dict([
    _f("AveCPU", 10, lambda row: cpu_time(cpu_s(row))),
    _f("AveCPUFreq", 10, _const("0")),
    _f("AveDiskRead", 12, in_bytes(_AVE_READ)),
    _f("AveDiskWrite", 12, in_bytes(_AVE_WRITE)),
    _f("AvePages", 10, _const("0")),
    _f("AveRSS", 10, in_kilobytes(_RSS)),
    _f("AveVMSize", 10, in_kilobytes(_VM)),
    _f("ConsumedEnergy", 14, _const("0")),
    _f("ConsumedEnergyRaw", 17, _const("0")),
    _f("JobID", -12, step_id),
    _f("MaxDiskRead", 12, in_bytes(_READ)),
    _f("MaxDiskReadNode", 15, node),
    _f("MaxDiskReadTask", 15, task0),
    _f("MaxDiskWrite", 12, in_bytes(_WRITE)),
    _f("MaxDiskWriteNode", 16, node),
    _f("MaxDiskWriteTask", 16, task0),
    _f("MaxPages", 8, _const("0")),
    _f("MaxPagesNode", 12, node),
    _f("MaxPagesTask", 14, task0),
    _f("MaxRSS", 10, in_kilobytes(_MAX_RSS)),
    _f("MaxRSSNode", 10, node),
    _f("MaxRSSTask", 10, task0),
    _f("MaxVMSize", 10, in_kilobytes(_MAX_VM)),
    _f("MaxVMSizeNode", 14, node),
    _f("MaxVMSizeTask", 14, task0),
    _f("MinCPU", 10, lambda row: cpu_time(cpu_s(row))),
    _f("MinCPUNode", 10, node),
    _f("MinCPUTask", 10, task0),
    _f("Nodelist", 20, lambda row: str(_step(row).get("nodes") or "")),
    _f("NTasks", 8, lambda row: str(ntasks(row))),
    _f("Pids", 20, lambda row: ",".join(str(p) for p in _step(row).get("pids") or [])),
    _f("ReqCPUFreq", 10, _const("Unknown")),
    _f("ReqCPUFreqMin", 13, _const("Unknown")),
    _f("ReqCPUFreqMax", 13, _const("Unknown")),
    _f("ReqCPUFreqGov", 13, _const("Unknown")),
    _f("TRESUsageInAve", 14, tres_in(cpu_s, _AVE_READ, _RSS, _VM)),
    _f("TRESUsageInMax", 14, tres_in(cpu_s, _READ, _MAX_RSS, _MAX_VM)),
    _f("TRESUsageInMaxNode", 18, tres_in_where(node, energy=True)),
    _f("TRESUsageInMaxTask", 18, tres_in_where(task0, energy=False)),
    _f("TRESUsageInMin", 14, tres_in(cpu_s, _READ, _RSS, _VM)),
    _f("TRESUsageInMinNode", 18, tres_in_where(node, energy=True)),
    _f("TRESUsageInMinTask", 18, tres_in_where(task0, energy=False)),
    _f("TRESUsageInTot", 14, tres_in(lambda row: cpu_s(row) * ntasks(row), _READ,
                                      total("rss_kb"), total("vmsize_kb"))),
    _f("TRESUsageOutAve", 15, tres_out(_AVE_WRITE)),
    _f("TRESUsageOutMax", 15, tres_out(_WRITE)),
    _f("TRESUsageOutMaxNode", 19, tres_out_where(node, energy=True)),
    _f("TRESUsageOutMaxTask", 19, tres_out_where(task0, energy=False)),
    _f("TRESUsageOutMin", 15, tres_out(_WRITE)),
    _f("TRESUsageOutMinNode", 19, tres_out_where(node, energy=True)),
    _f("TRESUsageOutMinTask", 19, tres_out_where(task0, energy=False)),
    _f("TRESUsageOutTot", 15, tres_out(_WRITE)),
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
