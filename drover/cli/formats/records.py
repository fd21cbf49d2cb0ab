"""scontrol's ``Key=Value`` records (``show job``, ``show node``, ``show partition``,
``show config``), laid out line by line as Slurm 22.05 prints them
(``slurm_sprint_job_info`` and friends).

A record is a list of lines; :func:`render` joins them with ``"\\n   "`` or, for
``scontrol -o``, with single spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drover.cli.formats import values as v
from drover.cli.formats.nodes import node_state_scontrol
from drover.timefmt import format_hms, format_time_limit_padded, format_timestamp
from drover.units import format_mem_mb

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from drover.cli.formats.engine import Record


def render(lines: Sequence[str], oneliner: bool, trailing_sep: bool = False) -> str:
    """One record as text, ending in a newline; multi-line records get a blank line after.

    ``trailing_sep`` reproduces the job record's empty last line (``"   "``
    before the blank line, or a trailing space with ``-o``).
    """
    sep = " " if oneliner else "\n   "
    body = sep.join(lines) + (sep if trailing_sep else "") + "\n"
    return body if oneliner else body + "\n"


def _ts(t: Any, empty: str = "Unknown") -> str:
    return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else empty


def _limit(minutes: Any) -> str:
    return format_time_limit_padded(minutes if isinstance(minutes, int) else None)


def job_tres(r: Record) -> str:
    cpus = v.num(r, "num_cpus", 1)
    parts = [f"cpu={cpus}"]
    mem = v.total_mem_mb(r)
    if mem:
        parts.append(f"mem={format_mem_mb(mem)}")
    parts.append(f"node={v.num(r, 'num_nodes', 1)}")
    parts.append(f"billing={cpus}")
    gres = str(r.get("gres") or "")
    for item in filter(None, gres.split(",")):
        name, _, count = item.removeprefix("gres:").replace(":", "/", 1).rpartition(":")
        if name:
            parts.append(f"gres/{name}={count}")
        elif count:
            parts.append(f"gres/{count}=1")
    return ",".join(parts)


def job_lines(r: Record) -> list[str]:
    """The lines of ``scontrol show job`` for one job record (see golden 070-079)."""
    jid = v.num(r, "job_id")
    first = f"JobId={jid}"
    if v.is_array(r):
        first += (f" ArrayJobId={v.array_job_id(r)} ArrayTaskId={v.array_task_range(r)}"
                  f" ArrayTaskThrottle={v.array_throttle(r)}")
    first += f" JobName={v.text(r, 'name', '')}"
    req = v.mem_request(r)
    if req is None:
        mem = "MinMemoryNode=0"
    else:
        mem = f"MinMemory{'CPU' if req[1] else 'Node'}={format_mem_mb(req[0])}"
    num_nodes = str(v.num(r, "num_nodes", 1))
    nodes_max = r.get("nodes_max")
    if v.state(r) == "PENDING" and isinstance(nodes_max, int) and nodes_max > 0:
        num_nodes = f"{v.num(r, 'num_nodes', 1)}-{nodes_max}"
    start = r.get("start_time") or r.get("sched_start_time")
    last_eval = r.get("last_sched_eval") or r.get("start_time") or r.get("submit_time")
    lines = [
        first,
        f"UserId={v.user_with_id(r.get('user'), r.get('uid'))} "
        f"GroupId={v.user_with_id(r.get('group'), r.get('gid'))} MCS_label=N/A",
        f"Priority={v.num(r, 'priority')} Nice={v.num(r, 'nice')} "
        f"Account={v.text(r, 'account')} QOS={v.text(r, 'qos')}",
        f"JobState={v.state(r)} Reason={v.reason(r)} Dependency={v.text(r, 'dependency')}",
        f"Requeue={0 if r.get('requeue') is False else 1} Restarts={v.num(r, 'restarts')} "
        f"BatchFlag={0 if r.get('batch_flag') is False else 1} Reboot=0 "
        f"ExitCode={v.exit_code(r)}",
        f"RunTime={format_hms(v.num(r, 'run_time_s'))} "
        f"TimeLimit={_limit(r.get('time_limit_min'))} "
        f"TimeMin={_limit(r.get('time_min_min')) if r.get('time_min_min') else 'N/A'}",
        f"SubmitTime={_ts(r.get('submit_time'))} EligibleTime={_ts(r.get('eligible_time'))}",
        f"AccrueTime={_ts(r.get('accrue_time') or r.get('eligible_time'))}",
        f"StartTime={_ts(start)} EndTime={v.expected_end(r, 'Unknown')} Deadline=N/A",
        f"SuspendTime=None SecsPreSuspend=0 LastSchedEval={_ts(last_eval)} Scheduler=Main",
        f"Partition={v.text(r, 'partition', '')} "
        f"AllocNode:Sid={v.text(r, 'submit_host', 'localhost')}:{v.num(r, 'alloc_sid')}",
    ]
    if r.get("reservation"):
        lines.append(f"Reservation={r['reservation']}")
    lines += [
        f"ReqNodeList={v.text(r, 'req_nodes')} ExcNodeList={v.text(r, 'exc_nodes')}",
        f"NodeList={v.text(r, 'nodes', '')}",
    ]
    if r.get("batch_host"):
        lines.append(f"BatchHost={r['batch_host']}")
    lines += [
        f"NumNodes={num_nodes} NumCPUs={v.num(r, 'num_cpus', 1)} "
        f"NumTasks={v.num(r, 'num_tasks', 1)} CPUs/Task={v.num(r, 'cpus_per_task', 1) or 1} "
        "ReqB:S:C:T=0:0:*:*",
        f"TRES={job_tres(r)}",
        f"Socks/Node=* NtasksPerN:B:S:C={v.num(r, 'ntasks_per_node')}:0:*:* CoreSpec=*",
        f"MinCPUsNode={v.num(r, 'cpus_per_task', 1) or 1} {mem} MinTmpDiskNode=0",
        f"Features={v.text(r, 'constraint')} DelayBoot=00:00:00",
        f"OverSubscribe={'NO' if r.get('exclusive') else 'OK'} Contiguous=0 "
        "Licenses=(null) Network=(null)",
        f"Command={v.text(r, 'command')}",
        f"WorkDir={v.text(r, 'work_dir')}",
    ]
    if r.get("comment"):
        lines.append(f"Comment={r['comment']} ")
    lines += [
        f"StdErr={v.text(r, 'stderr')}",
        f"StdIn={v.text(r, 'stdin', '/dev/null')}",
        f"StdOut={v.text(r, 'stdout')}",
        "Power=",
    ]
    if r.get("gres"):
        gres = str(r["gres"])
        lines.append(f"TresPerNode={gres if gres.startswith('gres') else 'gres:' + gres}")
    if r.get("mail_user") or r.get("mail_type"):
        lines.append(f"MailUser={v.text(r, 'mail_user')} MailType={v.text(r, 'mail_type')}")
    return lines


def render_job(r: Record, oneliner: bool = False) -> str:
    return render(job_lines(r), oneliner, trailing_sep=True)


def node_lines(n: Record) -> list[str]:
    """The lines of ``scontrol show node`` for one node record (golden 080)."""
    name = v.text(n, "name", "")
    cpus = v.num(n, "cpus")
    alloc = v.num(n, "alloc_cpus")
    load = n.get("cpu_load")
    load_s = f"{float(load):.2f}" if isinstance(load, (int, float)) else "N/A"
    addr = f"NodeAddr={v.text(n, 'address', name)} NodeHostName={v.text(n, 'hostname', name)}"
    if n.get("port"):
        addr += f" Port={n['port']}"
    free = n.get("free_memory_mb")
    alloc_mem = v.num(n, "alloc_memory_mb")
    real = v.num(n, "real_memory_mb")
    gres = v.text(n, "gres")
    cfg = [f"cpu={cpus}", f"mem={format_mem_mb(real)}", f"billing={cpus}"]
    used = []
    if alloc:
        used.append(f"cpu={alloc}")
    if alloc_mem:
        used.append(f"mem={format_mem_mb(alloc_mem)}")
    parts = n.get("partitions") or []
    lines = [
        f"NodeName={name} Arch={v.text(n, 'arch', 'x86_64')} "
        f"CoresPerSocket={v.num(n, 'cores_per_socket', 1)} ",
        f"CPUAlloc={alloc} CPUEfctv={cpus} CPUTot={cpus} CPULoad={load_s}",
        f"AvailableFeatures={v.text(n, 'features')}",
        f"ActiveFeatures={v.text(n, 'features')}",
        f"Gres={gres}",
        f"{addr} Version={v.text(n, 'version', 'N/A')}",
        f"OS={v.text(n, 'os', 'N/A')} ",
        f"RealMemory={real} AllocMem={alloc_mem} "
        f"FreeMem={free if isinstance(free, int) else 'N/A'} "
        f"Sockets={v.num(n, 'sockets', 1)} Boards={v.num(n, 'boards', 1)}",
        f"State={node_state_scontrol(n)} ThreadsPerCore={v.num(n, 'threads_per_core', 1)} "
        f"TmpDisk=0 Weight={v.num(n, 'weight', 1)} Owner=N/A MCS_label=N/A",
        f"Partitions={','.join(str(p) for p in parts)} ",
        f"BootTime={_ts(n.get('boot_time'), 'None')} "
        f"SlurmdStartTime={_ts(n.get('slurmd_start_time'), 'None')}",
        f"LastBusyTime={_ts(n.get('last_busy'), 'None')}",
        f"CfgTRES={','.join(cfg)}",
        f"AllocTRES={','.join(used)}",
        "CapWatts=n/a",
        "CurrentWatts=0 AveWatts=0",
        "ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s",
    ]
    if n.get("reason"):
        who = n.get("reason_user") or "Unknown"
        lines.append(f"Reason={n['reason']} [{who}@{_ts(n.get('reason_time'))}]")
    return lines


def render_node(n: Record, oneliner: bool = False) -> str:
    return render(node_lines(n), oneliner)


def partition_lines(p: Record, total_mem_mb: int | None = None) -> list[str]:
    """The lines of ``scontrol show partition`` (golden 082)."""
    groups: Any = p.get("allow_groups") or "ALL"
    if isinstance(groups, list):
        groups = ",".join(groups) or "ALL"
    max_nodes = p.get("max_nodes")
    default_time = p.get("default_time_min")
    cpus = v.num(p, "total_cpus")
    tres = [f"cpu={cpus}"]
    if total_mem_mb:
        tres.append(f"mem={format_mem_mb(total_mem_mb)}")
    tres += [f"node={v.num(p, 'total_nodes')}", f"billing={cpus}"]
    return [
        f"PartitionName={v.text(p, 'name', '')}",
        f"AllowGroups={groups} AllowAccounts=ALL AllowQos=ALL",
        f"AllocNodes=ALL Default={'YES' if p.get('default') else 'NO'} QoS=N/A",
        f"DefaultTime={_limit(default_time) if isinstance(default_time, int) else 'NONE'} "
        "DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO",
        f"MaxNodes={max_nodes if isinstance(max_nodes, int) else 'UNLIMITED'} "
        f"MaxTime={_limit(p.get('max_time_min'))} MinNodes={v.num(p, 'min_nodes')} LLN=NO "
        "MaxCPUsPerNode=UNLIMITED",
        f"Nodes={v.text(p, 'nodes')}",
        f"PriorityJobFactor={v.num(p, 'priority_job_factor', 1)} "
        f"PriorityTier={v.num(p, 'priority_tier', 1)} RootOnly=NO ReqResv=NO "
        f"OverSubscribe={v.text(p, 'oversubscribe', 'NO')}",
        "OverTimeLimit=NONE PreemptMode=OFF",
        f"State={v.text(p, 'state', 'UP')} TotalCPUs={cpus} "
        f"TotalNodes={v.num(p, 'total_nodes')} SelectTypeParameters=NONE",
        "JobDefaults=(null)",
        "DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED",
        f"TRES={','.join(tres)}",
    ]


def render_partition(p: Record, oneliner: bool = False, total_mem_mb: int | None = None) -> str:
    return render(partition_lines(p, total_mem_mb), oneliner)


_SEC = frozenset({
    "AcctGatherNodeFreq", "BatchStartTimeout", "CompleteWait", "ExtSensorsFreq",
    "GetEnvTimeout", "GroupUpdateTime", "HealthCheckInterval", "InactiveLimit",
    "KillWait", "MessageTimeout", "MinJobAge", "ResumeTimeout", "SchedulerTimeSlice",
    "SlurmctldTimeout", "SlurmdTimeout", "SuspendTimeout", "TCPTimeout",
    "UnkillableStepTimeout", "WaitTime",
})
_UNITS: dict[str, str] = {
    "EpilogMsgTime": "usec", "OverTimeLimit": "min", "ResvOverRun": "min",
    "ResumeRate": "nodes/min", "SuspendRate": "nodes/min", "VSizeFactor": "percent",
    **{k: "sec" for k in _SEC},
}


def config_value(key: str, value: Any) -> str:
    """``MinJobAge`` 300 → ``"300 sec"``; None → ``(null)``; lists joined by commas."""
    if value is None or value == "":
        return "(null)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ",".join(str(x) for x in value)
    if isinstance(value, int) and key in _UNITS:
        return f"{value} {_UNITS[key]}"
    return str(value)


def config_lines(config: Mapping[str, Any]) -> list[str]:
    """``Key = Value`` lines, keys padded to 23 columns, in case-insensitive order."""
    return [f"{key:<23} = {config_value(key, config[key])}"
            for key in sorted(config, key=str.lower)]
