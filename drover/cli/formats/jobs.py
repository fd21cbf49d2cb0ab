"""squeue's fields: the ``-o`` letter table and the ``-O`` name table.

Headers and "not set" words are Slurm 22.05's (``squeue/opts.c``,
``squeue/print.c``). Each getter is a function of one job record (the shape
in docs/architecture.md).
"""

from __future__ import annotations

from drover.cli.formats import values as v
from drover.cli.formats.engine import Field
from drover.timefmt import format_elapsed, format_time_limit, format_timestamp
from drover.units import format_mem_mb

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from drover.cli.formats.engine import Record


def _time_used(r: Record) -> str:
    return format_elapsed(v.num(r, "run_time_s"))


def _time_limit(r: Record) -> str:
    lim = r.get("time_limit_min")
    return format_time_limit(lim if isinstance(lim, int) else None)


def _time_left(r: Record) -> str:
    lim = r.get("time_limit_min")
    if not isinstance(lim, int):
        return "UNLIMITED"
    return format_elapsed(max(lim * 60 - v.num(r, "run_time_s"), 0))


def _stamp(key: str, empty: str = "N/A") -> v.Getter:
    def get(r: Record) -> str:
        t = r.get(key)
        return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else empty
    return get


def _start(r: Record) -> str:
    t = r.get("start_time")
    if isinstance(t, (int, float)) and t > 0:
        return format_timestamp(t)
    t = r.get("sched_start_time")
    return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else "N/A"


def _end(r: Record) -> str:
    return v.expected_end(r, "N/A")


def shows_reason(r: Record) -> bool:
    """Slurm prints ``(Reason)`` instead of nodes for pending, failed, timed-out jobs."""
    return v.state(r) in ("PENDING", "FAILED", "TIMEOUT")


def _reason_list(r: Record) -> str:
    if shows_reason(r):
        return f"({v.reason(r)})"
    return str(r.get("nodes") or "")


def _min_memory(r: Record) -> str:
    req = v.mem_request(r)
    return format_mem_mb(req[0]) if req else "0"


def _priority_float(r: Record) -> str:
    return f"{v.num(r, 'priority') / 4294967295:.8f}"


def _oversubscribe(r: Record) -> str:
    return "NO" if r.get("exclusive") else "OK"


def _task_id(r: Record) -> str:
    return v.array_task_range(r) or "N/A"


def _min_cpus(r: Record) -> str:
    return str(v.num(r, "cpus_per_task", 1) or 1)


def _gres(r: Record) -> str:
    g = r.get("gres")
    return f"gres:{g}" if g and not str(g).startswith("gres") else str(g or "N/A")


def _uid(r: Record) -> str:
    return v.text(r, "uid", "4294967294")


def _reason(r: Record) -> str:
    return v.reason(r)


def _nodes(r: Record) -> str:
    return str(r.get("nodes") or "")


def _sched_nodes(r: Record) -> str:
    return v.text(r, "sched_nodes")


# Record keys that every squeue run reads: the job id forms (%i, -j) and the state
# (-t, the default active set); and those the default sort reads (partition, state,
# priority). squeue adds the keys of the filters it was given (``squeue.wanted_keys``).
ID_KEYS = ("job_id", "array_job_id", "array_task_id", "array_task_str")
BASE_KEYS = (*ID_KEYS, "state")
DEFAULT_SORT_KEYS = ("partition", "state", "priority")


def _f(header: str, get: v.Getter, *keys: str) -> Field:
    """A field and the record keys its getter reads (squeue asks the server for only those)."""
    return Field(header, get, keys=keys)


def _t(header: str, key: str, empty: str = "(null)") -> Field:
    """A text field: ``r[key]``, or ``empty`` when not set (``v.text``)."""
    def get(r: Record) -> str:
        value = r.get(key)
        if value.__class__ is str and value:  # the common case, without a call
            return value
        return v.text(r, key, empty)
    return Field(header, get, keys=(key,))


_TIMES = ("start_time", "sched_start_time", "end_time", "time_limit_min")

LETTERS: dict[str, Field] = {
    "a": _t("ACCOUNT", "account"),
    "A": _f("JOBID", lambda r: str(v.num(r, "job_id")), "job_id"),
    "b": _f("TRES_PER_NODE", _gres, "gres"),
    "B": _t("EXEC_HOST", "batch_host", "n/a"),
    "c": _f("MIN_CPUS", _min_cpus, "cpus_per_task"),
    "C": _f("CPUS", lambda r: str(v.num(r, "num_cpus", 1)), "num_cpus"),
    "d": _f("MIN_TMP_DISK", lambda r: "0"),
    "D": _f("NODES", lambda r: str(v.num(r, "num_nodes", 1)), "num_nodes"),
    "e": _f("END_TIME", _end, *_TIMES),
    "E": _t("DEPENDENCY", "dependency"),
    "f": _t("FEATURES", "constraint"),
    "F": _f("ARRAY_JOB_ID", lambda r: str(v.array_job_id(r)), *ID_KEYS),
    "g": _t("GROUP", "group"),
    "G": _t("GROUP", "gid"),
    "h": _f("OVER_SUBSCRIBE", _oversubscribe, "exclusive"),
    "H": _f("SOCKETS_PER_NODE", lambda r: "*"),
    "i": _f("JOBID", v.display_id, *ID_KEYS),
    "I": _f("CORES_PER_SOCKET", lambda r: "*"),
    "j": _t("NAME", "name", ""),
    "J": _f("THREADS_PER_CORE", lambda r: "*"),
    "k": _t("COMMENT", "comment"),
    "K": _f("ARRAY_TASK_ID", _task_id, *ID_KEYS),
    "l": _f("TIME_LIMIT", _time_limit, "time_limit_min"),
    "L": _f("TIME_LEFT", _time_left, "time_limit_min", "run_time_s"),
    "m": _f("MIN_MEMORY", _min_memory, "mem_per_cpu_mb", "mem_per_node_mb"),
    "M": _f("TIME", _time_used, "run_time_s"),
    "n": _t("REQ_NODES", "req_nodes", ""),
    "N": _f("NODELIST", _nodes, "nodes"),
    "o": _t("COMMAND", "command"),
    "O": _f("CONTIGUOUS", lambda r: "0"),
    "p": _f("PRIORITY", _priority_float, "priority"),
    "P": _t("PARTITION", "partition", ""),
    "q": _t("QOS", "qos"),
    "Q": _f("PRIORITY", lambda r: str(v.num(r, "priority")), "priority"),
    "r": _f("REASON", _reason, "reason"),
    "R": _f("NODELIST(REASON)", _reason_list, "state", "reason", "nodes"),
    "S": _f("START_TIME", _start, "start_time", "sched_start_time"),
    "t": _f("ST", v.state_code, "state"),
    "T": _f("STATE", v.state, "state"),
    "u": _t("USER", "user", ""),
    "U": _f("UID", _uid, "uid"),
    "v": _t("RESERVATION", "reservation"),
    "V": _f("SUBMIT_TIME", _stamp("submit_time"), "submit_time"),
    "w": _t("WCKEY", "wckey"),
    "W": _f("LICENSES", lambda r: "(null)"),
    "x": _t("EXC_NODES", "exc_nodes", ""),
    "X": _f("CORE_SPEC", lambda r: "N/A"),
    "y": _f("NICE", lambda r: str(v.num(r, "nice")), "nice"),
    "Y": _f("SCHEDNODES", _sched_nodes, "sched_nodes"),
    "z": _f("S:C:T", lambda r: "*:*:*"),
    "Z": _t("WORK_DIR", "work_dir"),
}

# squeue -O names (case-insensitive). Values match the letters where both exist;
# JobID is the raw id (13 for 10_0), JobArrayID the %i form.
NAMES: dict[str, Field] = {
    "Account": LETTERS["a"],
    "ArrayJobID": LETTERS["F"],
    "ArrayTaskID": LETTERS["K"],
    "BatchHost": LETTERS["B"],
    "Command": LETTERS["o"],
    "Comment": LETTERS["k"],
    "Contiguous": LETTERS["O"],
    "Dependency": LETTERS["E"],
    "EndTime": LETTERS["e"],
    "ExcNodes": LETTERS["x"],
    "ExitCode": _f("EXIT_CODE", v.exit_code, "exit_code"),
    "Feature": LETTERS["f"],
    "GroupID": _t("GROUP", "gid"),
    "GroupName": LETTERS["g"],
    "JobArrayID": LETTERS["i"],
    "JobID": LETTERS["A"],
    "MinCpus": LETTERS["c"],
    "MinMemory": LETTERS["m"],
    "Name": LETTERS["j"],
    "Nice": LETTERS["y"],
    "NodeList": LETTERS["N"],
    "NumCPUs": LETTERS["C"],
    "NumNodes": LETTERS["D"],
    "NumTasks": _f("TASKS", lambda r: str(v.num(r, "num_tasks", 1)), "num_tasks"),
    "Partition": LETTERS["P"],
    "Priority": LETTERS["p"],
    "PriorityLong": LETTERS["Q"],
    "QOS": LETTERS["q"],
    "Reason": LETTERS["r"],
    "ReasonList": LETTERS["R"],
    "ReqNodes": LETTERS["n"],
    "Reservation": LETTERS["v"],
    "SchedNodes": LETTERS["Y"],
    "StartTime": LETTERS["S"],
    "State": LETTERS["T"],
    "StateCompact": LETTERS["t"],
    "STDERR": _t("STDERR", "stderr"),
    "STDIN": _t("STDIN", "stdin"),
    "STDOUT": _t("STDOUT", "stdout"),
    "SubmitTime": LETTERS["V"],
    "TimeLeft": LETTERS["L"],
    "TimeLimit": LETTERS["l"],
    "TimeUsed": LETTERS["M"],
    "tres-per-node": LETTERS["b"],
    "UserID": LETTERS["U"],
    "UserName": LETTERS["u"],
    "WCKey": LETTERS["w"],
    "WorkDir": LETTERS["Z"],
}

DEFAULT_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
LONG_FORMAT = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
START_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"
