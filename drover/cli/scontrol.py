"""``scontrol``: show and change jobs, nodes, partitions (Slurm 22.05's words).

    scontrol [-o] [-d] [-Q] show job [ID] | step [ID[.STEP]] | node [NAME] | partition [NAME]
             | config | hostnames [LIST] | hostlist LIST
    scontrol ping | version | token [username=U] [lifespan=S]
    scontrol hold|uhold|release|requeue ID[,ID...] [ID...]
    scontrol update JobId=N TimeLimit=.. Partition=.. Name=.. Nice=.. Priority=.. Comment=..
             NumNodes=.. NumTasks=.. NumCPUs=.. CPUsPerTask=.. MinMemoryNode=.. Features=..
             Gres=.. ReqNodeList=.. ExcNodeList=.. Account=.. WorkDir=.. Requeue=.. ...
    scontrol update NodeName=LIST State=DRAIN|DOWN|RESUME|IDLE [Reason=..]
    scontrol create|update|delete|show reservation ... (drover/cli/reservation.py)

The controller is reached through :class:`Ctl` (an interface tests replace).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from drover.cli import reservation
from drover.cli.formats import records as rf
from drover.cli.formats import values as v
from drover.cli.jobids import parse_job_spec
from drover.cli.slurmargs import VERSION_LINE, split_job_ids
from drover.hostlist import HostlistError, compress, expand

Record = Mapping[str, Any]


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...
    def post(self, path: str, body: Any) -> Any: ...
    def patch(self, path: str, body: Any) -> Any: ...


class Opts:
    def __init__(self) -> None:
        self.oneliner = False
        self.details = False
        self.quiet = False
        self.verbose = 0


def _errors() -> tuple[type[Exception], ...]:
    from drover.cli.squeue import api_errors

    return api_errors()


def _why(exc: Exception) -> str:
    from drover.cli.squeue import describe_error

    return describe_error(exc)


def _status(exc: Exception) -> int:
    return int(getattr(exc, "status", 0) or 0)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


# --- show -----------------------------------------------------------------------------

def show_job(ctl: Ctl, opts: Opts, ident: str | None) -> int:
    params: dict[str, Any] = {"all_states": "1"}
    if ident:
        try:
            spec = parse_job_spec(ident)
        except ValueError:
            _err("slurm_load_jobs error: Invalid job id specified")
            return 1
        params["job"] = spec.api_id() if spec.tasks and len(spec.tasks) == 1 \
            else str(spec.job_id)
    try:
        jobs = [j for j in ctl.get("/api/jobs/", params).get("jobs", []) if isinstance(j, dict)]
    except _errors() as exc:
        _err(f"slurm_load_jobs error: {_why(exc)}")
        return 1
    if ident:
        jobs = [j for j in jobs if spec.matches(j)]
        if not jobs:
            _err("slurm_load_jobs error: Invalid job id specified")
            return 1
    if not jobs:
        print("No jobs in the system")
        return 0
    sys.stdout.write("".join(rf.render_job(j, opts.oneliner) for j in jobs))
    return 0


# Slurm's NO_VAL: the step part of "Job step 12.4294967294 not found" for a bare job id
_NO_STEP = "4294967294"


def show_step(ctl: Ctl, opts: Opts, ident: str | None) -> int:
    """Running steps, as ``scontrol_print_step``: one job's (``12``), one step
    (``12.0``, ``10_3.batch``) or all; Slurm's words when none is found."""
    from drover.cli.formats import steps as sf

    params: dict[str, Any] = {"state": "R,S,CG"}
    if ident:
        try:
            spec = parse_job_spec(ident)
        except ValueError:
            _err("slurm_get_job_steps error: Invalid job id specified")
            return 1
        params = {"all_states": "1", "job": str(spec.job_id)}
    try:
        jobs = [j for j in ctl.get("/api/jobs/", params).get("jobs", []) if isinstance(j, dict)]
    except _errors() as exc:
        _err(f"slurm_get_job_steps error: {_why(exc)}")
        return 1
    rows = sf.step_rows(jobs)
    if ident:
        if not any(spec.matches(j) for j in jobs):
            _err("slurm_get_job_steps error: Invalid job id specified")
            return 1
        rows = [r for r in rows if spec.matches(r) and spec.step in (None, r["step"])]
        if not rows:
            print(f"Job step {spec.api_id()}.{spec.step or _NO_STEP} not found")
            return 1
    if not rows:
        print("No job steps in the system")
        return 0
    sys.stdout.write("".join(rf.render(sf.step_lines(r), opts.oneliner) for r in rows))
    return 0


def show_node(ctl: Ctl, opts: Opts, ident: str | None) -> int:
    try:
        nodes = [n for n in ctl.get("/api/nodes/").get("nodes", []) if isinstance(n, dict)]
    except _errors() as exc:
        _err(f"slurm_load_node error: {_why(exc)}")
        return 1
    if ident:
        try:
            wanted = expand(ident)
        except HostlistError:
            wanted = [ident]
        by_name = {str(n.get("name")): n for n in nodes}
        missing = [w for w in wanted if w not in by_name]
        if missing and len(wanted) == 1:
            print(f"Node {ident} not found")
            return 1
        nodes = [by_name[w] for w in wanted if w in by_name]
    if not nodes:
        print("No nodes in the system")
        return 0
    sys.stdout.write("".join(rf.render_node(n, opts.oneliner) for n in nodes))
    return 0


def show_partition(ctl: Ctl, opts: Opts, ident: str | None) -> int:
    try:
        parts = [p for p in ctl.get("/api/partitions/").get("partitions", [])
                 if isinstance(p, dict)]
    except _errors() as exc:
        _err(f"slurm_load_partitions error: {_why(exc)}")
        return 1
    try:
        nodes = {str(n.get("name")): n for n in ctl.get("/api/nodes/").get("nodes", [])}
    except _errors():
        nodes = {}
    if ident:
        parts = [p for p in parts if p.get("name") == ident]
        if not parts:
            print(f"Partition {ident} not found")
            return 1
    if not parts:
        print("No partitions in the system")
        return 0
    out = []
    for p in parts:
        names = p.get("node_names") or []
        mem = sum(v.num(nodes[n], "real_memory_mb") for n in names if n in nodes) or None
        out.append(rf.render_partition(p, opts.oneliner, mem))
    sys.stdout.write("".join(out))
    return 0


def ping_line(ctl: Ctl) -> tuple[str, int]:
    try:
        answer = ctl.get("/api/ping/")
    except _errors():
        return "Slurmctld(primary) at controller is DOWN", 1
    leader = str(answer.get("leader") or "localhost")
    state = str(answer.get("ping") or "UP")
    return f"Slurmctld(primary) at {leader} is {state}", 0 if state == "UP" else 1


def show_config(ctl: Ctl) -> int:
    try:
        config = ctl.get("/api/config/").get("config", {})
    except _errors() as exc:
        _err(f"slurm_load_ctl_conf error: {_why(exc)}")
        return 1
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    lines = [f"Configuration data as of {stamp}", *rf.config_lines(config), ""]
    line, _ = ping_line(ctl)
    print("\n".join([*lines, line]))
    return 0


def show_hostnames(arg: str | None) -> int:
    text = arg or os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST")
    if not text:
        _err("scontrol: error: host list is empty")
        return 1
    try:
        names = expand(text)
    except HostlistError:
        _err(f"scontrol: error: Invalid hostlist: {text}")
        return 1
    for n in names:
        print(n)
    return 0


def show_hostlist(arg: str | None, sort: bool = False) -> int:
    if not arg:
        _err("scontrol: error: host list is empty")
        return 1
    try:
        names = [n for part in arg.split(",") for n in expand(part)] if "[" not in arg \
            else expand(arg)
    except HostlistError:
        _err(f"scontrol: error: Invalid hostlist: {arg}")
        return 1
    print(compress(sorted(names) if sort else names))
    return 0


def show(ctl_factory: Callable[[], Ctl], opts: Opts, words: Sequence[str]) -> int:
    if not words:
        _err("scontrol: error: too few arguments for keyword:show")
        return 1
    what = words[0].lower()
    ident = words[1] if len(words) > 1 else None
    if ident and "=" in ident:
        ident = ident.split("=", 1)[1]
    if what in ("hostnames", "hostname"):
        return show_hostnames(ident)
    if what in ("hostlist", "hostlistsorted"):
        return show_hostlist(ident, sort=what == "hostlistsorted")
    if what in ("job", "jobs", "jobid"):
        return show_job(ctl_factory(), opts, ident)
    if what in ("step", "steps", "stepid"):
        return show_step(ctl_factory(), opts, ident)
    if what in ("node", "nodes", "nodename"):
        return show_node(ctl_factory(), opts, ident)
    if what in ("partition", "partitions", "partitionname"):
        return show_partition(ctl_factory(), opts, ident)
    if what in ("config", "conf", "configuration"):
        return show_config(ctl_factory())
    if what in ("reservation", "reservations", "reservationname", "res"):
        return reservation.show(ctl_factory(), opts.oneliner, ident)
    _err(f"scontrol: error: invalid entity: {words[0]} for keyword:show")
    return 1


# --- job actions ----------------------------------------------------------------------

def job_action(ctl: Ctl, action: str, ids: Sequence[str]) -> int:
    """hold / release / requeue each id; Slurm's two-line error for each failure."""
    if not ids:
        _err(f"scontrol: error: too few arguments for keyword:{action}")
        return 1
    path = {"uhold": "hold", "hold": "hold", "release": "release",
            "requeue": "requeue", "requeue_hold": "requeue"}[action]
    rc = 0
    for arg in ids:
        arg = arg.split("=", 1)[1] if "=" in arg else arg
        try:
            specs = [parse_job_spec(text) for text in split_job_ids(arg)]
        except ValueError:
            specs = []
        if not specs or any(spec.step is not None for spec in specs):
            # Slurm checks each argument whole (update_job.c ``_is_job_id``): a step id or a
            # stray character refuses all of it; hold and release add their perror line.
            _err(f"Invalid job id specified for job {arg}")
            if path != "requeue":
                _err("slurm_suspend error: Invalid job id specified")
            rc = 1
            continue
        for job_id in (target for spec in specs for target in spec.api_ids()):
            try:
                ctl.post(f"/api/jobs/{job_id}/{path}/", {})
            except _errors() as exc:
                why = _why(exc)
                _err(f"{why} for job {job_id}")
                verb = "slurm_requeue" if path == "requeue" else "slurm_suspend"
                _err(f"{verb} error: {why}")
                rc = 1
    return rc


def _pairs(words: Sequence[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for w in words:
        key, eq, val = w.partition("=")
        out.append((key, val if eq else ""))
    return out


_JOB_KEYS: dict[str, str] = {
    "partition": "partition", "name": "name", "jobname": "name", "nice": "nice",
    "priority": "priority", "comment": "comment", "account": "account", "qos": "qos",
    "dependency": "dependency", "features": "constraint", "reqnodelist": "nodelist",
    "nodelist": "nodelist", "excnodelist": "exclude", "starttime": "begin_time",
    "reservation": "reservation", "reservationname": "reservation", "gres": "gres",
    "trespernode": "gres", "wckey": "wckey", "workdir": "cwd", "stdout": "stdout",
    "stderr": "stderr", "mailtype": "mail_type", "mailuser": "mail_user",
}


def _count(val: str) -> int:
    """A whole number, as Slurm's parse_uint32 reads one."""
    if not val.isdecimal():
        raise ValueError(val)
    return int(val)


def _positive(val: str) -> int:
    number = _count(val)
    if number < 1:
        raise ValueError(val)
    return number


def _node_count(val: str) -> dict[str, Any]:
    """NumNodes=N (exactly N, as sbatch -N), N-M, or N- (no maximum)."""
    first, dash, rest = val.partition("-")
    low = _count(first)
    return {"nodes_min": low, "nodes_max": _count(rest) if rest else (None if dash else low)}


def _cpu_count(val: str) -> dict[str, Any]:
    """NumCPUs=N or N-M: the job's least CPU count (no maximum is kept)."""
    low, dash, high = val.partition("-")
    least = _positive(low)
    if dash and _count(high) < least:
        raise ValueError(val)
    return {"min_cpus": least}


def _oversubscribe(val: str) -> dict[str, Any]:
    """YES/NO (any prefix, as Slurm) or a number: NO is an exclusive job."""
    word = val.upper()
    if word and "YES".startswith(word):
        return {"exclusive": False}
    if word and "NO".startswith(word):
        return {"exclusive": True}
    return {"exclusive": _count(val) == 0}


def _time_min(val: str) -> dict[str, Any]:
    from drover.timefmt import parse_time_limit

    return {"time_min_min": parse_time_limit(val) or 0}


def _memory(key: str, other: str) -> Callable[[str], dict[str, Any]]:
    """MinMemoryNode / MinMemoryCPU (MB, or K/M/G/T); one replaces the other, as in Slurm."""
    def convert(val: str) -> dict[str, Any]:
        from drover.units import parse_mem_mb

        return {key: parse_mem_mb(val), other: None}

    return convert


# Key -> (Slurm's words for a bad value, its conversion to the request's keys).
_JOB_VALUES: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "numnodes": ('Invalid numeric value "{val}" for requested node count.', _node_count),
    "reqnodes": ('Invalid numeric value "{val}" for requested node count.', _node_count),
    "numtasks": ("Invalid NumTasks value: {val}", lambda val: {"ntasks": _count(val)}),
    "reqprocs": ("Invalid NumTasks value: {val}", lambda val: {"ntasks": _count(val)}),
    "numcpus": ("Invalid NumCPUs value: {val}", _cpu_count),
    "cpuspertask": ("Invalid CPUsPerTask value: {val}",
                    lambda val: {"cpus_per_task": _positive(val)}),
    "mincpusnode": ("Invalid MinCPUsNode value: {val}",
                    lambda val: {"min_cpus_per_node": _positive(val)}),
    "minmemorynode": ("Invalid MinMemoryNode value: {val}",
                      _memory("mem_per_node_mb", "mem_per_cpu_mb")),
    "minmemorycpu": ("Invalid MinMemoryCPU value: {val}",
                     _memory("mem_per_cpu_mb", "mem_per_node_mb")),
    "requeue": ("Invalid Requeue value: {val}", lambda val: {"requeue": _count(val) > 0}),
    "oversubscribe": ("Invalid OverSubscribe value: {val}", _oversubscribe),
    "shared": ("Invalid OverSubscribe value: {val}", _oversubscribe),
    "timemin": ("Invalid TimeMin value", _time_min),
}


def update_job(ctl: Ctl, ids: str, pairs: Sequence[tuple[str, str]]) -> int:
    from drover.timefmt import TimeFormatError, parse_time_limit

    body: dict[str, Any] = {}
    delta: int | None = None  # TimeLimit=+N / -N: minutes added to each job's limit
    for key, val in pairs:
        k = key.lower()
        if k in ("timelimit", "time"):
            sign = {"+": 1, "-": -1}.get(val[:1], 0)
            try:
                minutes = parse_time_limit(val[1:] if sign else val)
            except (TimeFormatError, ValueError):
                _err("scontrol: error: Invalid TimeLimit value")
                return 1
            if sign:
                delta = sign * (minutes or 0)
            body["time_limit_min"] = minutes
        elif k in ("starttime", "begintime", "eligibletime"):
            from datetime import datetime

            from drover.timefmt import parse_begin

            try:
                begin = parse_begin(val, datetime.now().astimezone())
            except (TimeFormatError, ValueError):
                _err(f"scontrol: error: Invalid StartTime value: {val}")
                return 1
            body["begin_time"] = int(begin.timestamp())
        elif k == "arraytaskthrottle":
            if not val.isdigit():
                _err(f"scontrol: error: Invalid ArrayTaskThrottle value: {val}")
                return 1
            body["array_max_tasks"] = int(val)
        elif k in ("nice", "priority"):
            if k == "nice" and val == "":
                val = "100"  # "Nice" alone: Slurm's default adjustment
            try:
                body[k] = int(val)
            except ValueError:
                _err(f"scontrol: error: Invalid {key} value: {val}")
                return 1
        elif k in _JOB_VALUES:
            message, convert = _JOB_VALUES[k]
            try:
                body.update(convert(val))
            except ValueError:
                _err("scontrol: error: " + message.format(val=val))
                return 1
        elif k in _JOB_KEYS:
            body[_JOB_KEYS[k]] = val
        else:
            _err(f"scontrol: error: Update of this parameter is not supported: {key}={val}")
            return 1
    if not body:
        _err("scontrol: error: No changes specified")
        return 1
    rc = 0
    for text in split_job_ids(ids):
        try:
            spec = parse_job_spec(text)
        except ValueError:
            _err(f"scontrol: error: Invalid job id {text}")
            return 1
        if spec.step is not None:
            # slurmctld's update_job_str reads a job id alone: a step id is not one
            _err(f"Invalid job id specified for job {text}")
            _err("slurm_update error: Invalid job id specified")
            rc = 1
            continue
        targets = spec.api_ids()
        for job_id in targets:
            try:
                changes = body if delta is None else _relative_limit(ctl, job_id, body,
                                                                     delta)
                if changes is None:
                    rc = 1
                    continue
                ctl.patch(f"/api/jobs/{job_id}/", changes)
            except _errors() as exc:
                _err(f"{_why(exc)} for job {job_id}")
                _err(f"slurm_update error: {_why(exc)}")
                rc = 1
    return rc


def _relative_limit(ctl: Ctl, job_id: str, body: dict[str, Any],
                    delta: int) -> dict[str, Any] | None:
    """``body`` with the job's current time limit moved by ``delta`` minutes (an
    UNLIMITED one stays so); None, after Slurm's message, when it would go below 0."""
    current = ctl.get(f"/api/jobs/{job_id}/").get("time_limit_min")
    if not isinstance(current, int) or current <= 0:
        return {**body, "time_limit_min": None}
    if current + delta < 0:
        _err(f"scontrol: error: TimeLimit decrement larger than current time limit "
             f"({-delta} > {current})")
        return None
    return {**body, "time_limit_min": current + delta}


_NODE_STATES = {"DRAIN", "DOWN", "RESUME", "IDLE", "UNDRAIN", "FAIL", "POWER_DOWN", "POWER_UP"}


def update_node(ctl: Ctl, names: str, pairs: Sequence[tuple[str, str]]) -> int:
    state = ""
    reason = ""
    for key, val in pairs:
        k = key.lower()
        if k == "state":
            state = val.upper()
        elif k == "reason":
            reason = val
        else:
            _err(f"scontrol: error: Update of this parameter is not supported: {key}={val}")
            return 1
    if state not in _NODE_STATES:
        _err(f"scontrol: error: Invalid input: State={state or '(null)'}")
        _err("Request aborted")
        return 1
    if state in ("DRAIN", "DOWN", "FAIL") and not reason:
        _err("You must specify a reason when DOWNING or DRAINING a node. Request denied")
        return 1
    try:
        targets = expand(names)
    except HostlistError:
        _err(f"scontrol: error: Invalid node name specified: {names}")
        return 1
    rc = 0
    for name in targets:
        try:
            ctl.patch(f"/api/nodes/{name}/", {"state": state, "reason": reason})
        except _errors() as exc:
            _err(f"slurm_update error: {_why(exc)}")
            rc = 1
    return rc


def update(ctl_factory: Callable[[], Ctl], words: Sequence[str]) -> int:
    if words and words[0].lower() in ("job", "node", "nodename", "jobid", "reservation") and \
            "=" not in words[0] and len(words) > 1:
        words = [f"{words[0]}={words[1]}", *words[2:]]
    pairs = _pairs(words)
    if not pairs:
        _err("scontrol: error: too few arguments for keyword:update")
        return 1
    first = pairs[0][0].lower()
    if first in ("reservationname", "reservation", "resv"):
        return reservation.update(ctl_factory(), words)
    if first in ("jobid", "job"):
        return update_job(ctl_factory(), pairs[0][1], pairs[1:])
    if first in ("nodename", "node"):
        return update_node(ctl_factory(), pairs[0][1], pairs[1:])
    for i, (key, val) in enumerate(pairs):
        if key.lower() in ("jobid", "job"):
            return update_job(ctl_factory(), val, pairs[:i] + pairs[i + 1:])
        if key.lower() in ("nodename", "node"):
            return update_node(ctl_factory(), val, pairs[:i] + pairs[i + 1:])
    _err("scontrol: error: Invalid input: " + " ".join(words))
    _err("Request aborted")
    return 1


def token(ctl: Ctl, words: Sequence[str]) -> int:
    body: dict[str, Any] = {}
    for key, val in _pairs(words):
        k = key.lower()
        if k == "username":
            body["username"] = val
        elif k == "lifespan":
            if val.lower() == "infinite":
                val = str(365 * 86400 * 100)
            if not val.isdigit():
                _err(f"scontrol: error: Invalid lifespan: {val}")
                return 1
            body["lifespan"] = int(val)
        else:
            _err(f"scontrol: error: Invalid parameter: {key}")
            return 1
    try:
        answer = ctl.post("/api/token/", body)
    except _errors() as exc:
        _err(f"scontrol: error: {_why(exc)}")
        return 1
    print(f"SLURM_JWT={answer.get('token', '')}")
    return 0


# --- entry point ----------------------------------------------------------------------

_USAGE = __doc__ or ""


def _api_ctl() -> Ctl:
    from drover.cli.common import client

    return client()


def run(argv: Sequence[str], ctl_factory: Callable[[], Ctl]) -> int:
    opts = Opts()
    words: list[str] = []
    args = list(argv)
    i = 0
    # getopt permutes: options go anywhere, up to "--" or a setdebug/setdebugflags command
    # (whose "-level" and "-flag" words are its own)
    while i < len(args):
        a = args[i]
        if a == "--":
            words.extend(args[i + 1:])
            break
        if not a.startswith("-") or a == "-" or words[:1] and \
                words[0].lower().startswith("setdebug"):
            words.append(a)
        elif a in ("-o", "--oneliner"):
            opts.oneliner = True
        elif a in ("-d", "--details"):
            opts.details = True
        elif a in ("-Q", "--quiet"):
            opts.quiet = True
        elif a.startswith("-v") and set(a[1:]) == {"v"} or a == "--verbose":
            opts.verbose += 1
        elif a in ("-a", "--all", "--local", "--sibling", "--federation"):
            pass
        elif a in ("-M", "--clusters", "-u", "--uid"):
            i += 1
        elif a.startswith("--clusters=") or (a.startswith("-M") and len(a) > 2):
            pass
        elif a in ("-V", "--version"):
            print(VERSION_LINE)
            return 0
        elif a in ("-h", "--help", "--usage"):
            print(_USAGE)
            return 0
        else:
            _err(f"scontrol: unrecognized option '{a}'")
            _err('Try "scontrol --help" for more information')
            return 1
        i += 1
    if not words:
        _err("scontrol: error: no command given (interactive mode is not supported)")
        return 1
    cmd, rest = words[0].lower(), words[1:]
    if cmd == "show":
        return show(ctl_factory, opts, rest)
    if cmd == "ping":
        line, rc = ping_line(ctl_factory())
        print(line)
        return rc
    if cmd == "version":
        print(VERSION_LINE)
        return 0
    if cmd in ("hold", "uhold", "release", "requeue", "requeue_hold"):
        return job_action(ctl_factory(), cmd, rest)
    if cmd == "update":
        return update(ctl_factory, rest)
    if cmd == "token":
        return token(ctl_factory(), rest)
    if cmd in ("create", "delete") and rest and rest[0].lower().split("=")[0] in (
            "reservation", "reservationname", "res"):
        words = rest[1:] if "=" not in rest[0] else rest
        if cmd == "create":
            return reservation.create(ctl_factory(), words)
        return reservation.delete(ctl_factory(), words if "=" in rest[0] else
                                  [f"ReservationName={w}" for w in words[:1]])
    if cmd in ("create", "delete"):
        _err(f"scontrol: error: invalid entity: {rest[0] if rest else ''} for keyword:{cmd}")
        return 1
    _err(f"invalid keyword: {words[0]}")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv, _api_ctl)


if __name__ == "__main__":
    sys.exit(main())
