"""sinfo's fields and node-state words.

sinfo prints *rows*: a group of nodes of one partition that print alike.
A row is ``{"partition": <partition record or {}>, "nodes": [<node record>...]}``;
every getter here is a function of a row. Grouping is done by the command
(``drover.cli.sinfo``): rows whose non-aggregate cells print the same merge,
which is Slurm's rule (it compares only the fields being displayed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from drover.cli.formats import values as v
from drover.cli.formats.engine import Field
from drover.hostlist import compress
from drover.timefmt import format_time_limit, format_timestamp

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from drover.cli.formats.engine import Record

# long name -> compact name (sinfo %T / %t)
_COMPACT: dict[str, str] = {
    "allocated": "alloc", "mixed": "mix", "idle": "idle", "down": "down",
    "drained": "drain", "draining": "drng", "completing": "comp", "failing": "failg",
    "fail": "fail", "future": "futr", "unknown": "unk", "reserved": "resv",
    "maint": "maint", "planned": "plnd", "inval": "inval", "blocked": "block",
    "perfctrs": "npc", "reboot^": "boot", "power_down": "pow_dn", "powering_up": "pow_up",
}
# state flag -> the one-character suffix sinfo appends (first match wins)
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("NOT_RESPONDING", "*"), ("NO_RESPOND", "*"), ("POWERED_DOWN", "~"),
    ("POWERING_UP", "#"), ("POWER_DOWN", "!"), ("POWERING_DOWN", "%"),
    ("MAINTENANCE", "$"), ("REBOOT_REQUESTED", "@"), ("REBOOT_ISSUED", "^"),
    ("PLANNED", "-"),
)
_BUSY = frozenset({"ALLOCATED", "MIXED", "COMPLETING", "DRAINING"})
# Slurm's base-state enum, the order "sinfo" sorts by (descending)
STATE_RANK: dict[str, int] = {
    "UNKNOWN": 0, "DOWN": 1, "IDLE": 2, "DRAINED": 2, "DRAIN": 2, "ALLOCATED": 3,
    "DRAINING": 3, "ERROR": 4, "MIXED": 5, "FUTURE": 6,
}


def _flags(node: Record) -> set[str]:
    raw = node.get("state_flags") or []
    return {str(f).upper() for f in raw} if isinstance(raw, list) else set()


def node_state_long(node: Record) -> str:
    """sinfo ``%T`` without suffix: ``allocated``, ``drained``, ``draining``..."""
    st = str(node.get("state") or "UNKNOWN").upper()
    flags = _flags(node)
    if st in ("DRAIN", "DRAINED") or ("DRAIN" in flags and st not in _BUSY):
        return "drained"
    if st == "DRAINING" or "DRAIN" in flags:
        return "draining"
    if "FAIL" in flags or st in ("FAIL", "FAILING"):
        return "failing" if st in _BUSY or st == "FAILING" else "fail"
    if "COMPLETING" in flags:
        return "completing"
    if "MAINT" in flags:
        return "maint"
    if "RESERVED" in flags and st == "IDLE":
        return "reserved"
    if st == "POWERED_DOWN":
        return "idle"
    return st.lower()


def node_suffix(node: Record) -> str:
    flags = _flags(node)
    if str(node.get("state") or "").upper() == "POWERED_DOWN":
        flags.add("POWERED_DOWN")
    for flag, mark in _SUFFIXES:
        if flag in flags:
            return mark
    return ""


def node_state_compact(node: Record) -> str:
    long = node_state_long(node)
    return _COMPACT.get(long, long[:5]) + node_suffix(node)


def node_state_full(node: Record) -> str:
    return node_state_long(node) + node_suffix(node)


def node_state_scontrol(node: Record) -> str:
    """``State=`` of ``scontrol show node``: ``IDLE``, ``IDLE+DRAIN``, ``DOWN+NOT_RESPONDING``."""
    st = str(node.get("state") or "UNKNOWN").upper()
    flags = [str(f).upper() for f in (node.get("state_flags") or [])]
    base = str(node.get("base_state") or "").upper()
    if base and st in ("DRAIN", "DRAINED", "DRAINING"):
        st, flags = base, ["DRAIN", *flags]
    elif st in ("DRAIN", "DRAINED"):
        st, flags = "IDLE", ["DRAIN", *flags]
    elif st == "DRAINING":
        busy = v.num(node, "alloc_cpus") >= v.num(node, "cpus", 1)
        st, flags = ("ALLOCATED" if busy else "MIXED"), ["DRAIN", *flags]
    seen: list[str] = []
    for f in flags:
        if f not in seen and f != st:
            seen.append(f)
    return "+".join([st, *seen])


def state_matches(node: Record, wanted: set[str]) -> bool:
    """``sinfo -t`` filter: long or compact names, ``drain`` for both drain states."""
    long = node_state_long(node)
    names = {long, _COMPACT.get(long, long)}
    if long in ("drained", "draining"):
        names.add("drain")
    if node_suffix(node) == "*":
        names.update({"no_respond", "not_responding"})
    return bool(names & wanted) or "all" in wanted


# --- row getters -------------------------------------------------------------------

if TYPE_CHECKING:
    Row = Record


def _nodes(row: Row) -> Sequence[Record]:
    nodes = row.get("nodes") or []
    return nodes if isinstance(nodes, list) else []


def _part(row: Row) -> Record:
    p = row.get("partition")
    return p if isinstance(p, dict) else {}


def _first(row: Row) -> Record:
    nodes = _nodes(row)
    return nodes[0] if nodes else {}


def _range(key: str) -> Callable[[Row], str]:
    """Slurm prints ``N`` when all nodes agree, else ``MIN+``."""
    def get(row: Row) -> str:
        vals = [v.num(n, key) for n in _nodes(row)]
        if not vals:
            return "0"
        lo, hi = min(vals), max(vals)
        return str(lo) if lo == hi else f"{lo}+"
    return get


def _other(node: Record) -> bool:
    long = node_state_long(node)
    return long in ("down", "drained", "draining", "fail", "failing", "future", "unknown") \
        or node_suffix(node) == "*"


def _cpus_aiot(row: Row) -> str:
    a = i = o = t = 0
    for n in _nodes(row):
        total = v.num(n, "cpus")
        alloc = v.num(n, "alloc_cpus")
        t += total
        if _other(n):
            o += total - alloc
            a += alloc
        else:
            a += alloc
            i += total - alloc
    return f"{a}/{i}/{o}/{t}"


def _nodes_aiot(row: Row, with_other: bool) -> str:
    a = i = o = 0
    for n in _nodes(row):
        long = node_state_long(n)
        if _other(n):
            o += 1
        elif long in ("allocated", "mixed", "completing"):
            a += 1
        else:
            i += 1
    return f"{a}/{i}/{o}/{a + i + o}" if with_other else f"{a}/{i}"


def _nodelist(row: Row) -> str:
    names = [str(n.get("name", "")) for n in _nodes(row)]
    return compress(names) if names else ""


def _partition_star(row: Row) -> str:
    p = _part(row)
    name = str(p.get("name") or "")
    return name + "*" if p.get("default") else name


def _avail(row: Row) -> str:
    st = str(_part(row).get("state") or "UP").lower()
    return "inact" if st == "inactive" else st


def _limit(key: str, unlimited: str) -> Callable[[Row], str]:
    def get(row: Row) -> str:
        m = _part(row).get(key)
        return format_time_limit(m) if isinstance(m, int) else unlimited
    return get


def _job_size(row: Row) -> str:
    p = _part(row)
    lo = v.num(p, "min_nodes", 1) or 1
    hi = p.get("max_nodes")
    return f"{lo}-{hi if isinstance(hi, int) else 'infinite'}"


def _groups(row: Row) -> str:
    g: Any = _part(row).get("allow_groups")
    if not g or g == "ALL":
        return "all"
    return ",".join(g) if isinstance(g, list) else str(g)


def _node_text(key: str, empty: str = "(null)") -> Callable[[Row], str]:
    return lambda row: v.text(_first(row), key, empty)


def _reason_time(row: Row) -> str:
    t = _first(row).get("reason_time")
    return format_timestamp(t) if isinstance(t, (int, float)) and t > 0 else "Unknown"


def _sct(row: Row) -> str:
    n = _first(row)
    return f"{v.num(n, 'sockets', 1)}:{v.num(n, 'cores_per_socket', 1)}:" \
        f"{v.num(n, 'threads_per_core', 1)}"


def _load(row: Row) -> str:
    loads = [float(n.get("cpu_load") or 0) for n in _nodes(row)]
    if not loads:
        return "N/A"
    lo, hi = min(loads), max(loads)
    return f"{lo:.2f}" if lo == hi else f"{lo:.2f}-{hi:.2f}"


def _f(header: str, get: Callable[[Row], str]) -> Field:
    return Field(header, get)


def _ptext(key: str, empty: str) -> Callable[[Row], str]:
    return lambda row: v.text(_part(row), key, empty)


LETTERS: dict[str, Field] = {
    "a": _f("AVAIL", _avail),
    "A": _f("NODES(A/I)", lambda row: _nodes_aiot(row, False)),
    "b": _f("ACTIVE_FEATURES", _node_text("features")),
    "B": _f("MAX_CPUS_PER_NODE", lambda row: "UNLIMITED"),
    "c": _f("CPUS", _range("cpus")),
    "C": _f("CPUS(A/I/O/T)", _cpus_aiot),
    "d": _f("TMP_DISK", lambda row: "0"),
    "D": _f("NODES", lambda row: str(len(_nodes(row)))),
    "e": _f("FREE_MEM", _range("free_memory_mb")),
    "E": _f("REASON", _node_text("reason", "none")),
    "f": _f("AVAIL_FEATURES", _node_text("features")),
    "F": _f("NODES(A/I/O/T)", lambda row: _nodes_aiot(row, True)),
    "g": _f("GROUPS", _groups),
    "G": _f("GRES", _node_text("gres")),
    "h": _f("OVERSUBSCRIBE", _ptext("oversubscribe", "NO")),
    "H": _f("TIMESTAMP", _reason_time),
    "I": _f("PRIO_JOB_FACTOR", _ptext("priority_job_factor", "1")),
    "l": _f("TIMELIMIT", _limit("max_time_min", "infinite")),
    "L": _f("DEFAULTTIME", _limit("default_time_min", "n/a")),
    "m": _f("MEMORY", _range("real_memory_mb")),
    "M": _f("PREEMPT_MODE", lambda row: "OFF"),
    "n": _f("HOSTNAMES", _nodelist),
    "N": _f("NODELIST", _nodelist),
    "o": _f("NODE_ADDR", _nodelist),
    "O": _f("CPU_LOAD", _load),
    "p": _f("PRIO_TIER", _ptext("priority_tier", "1")),
    "P": _f("PARTITION", _partition_star),
    "r": _f("ROOT", lambda row: "no"),
    "R": _f("PARTITION", _ptext("name", "")),
    "s": _f("JOB_SIZE", _job_size),
    "S": _f("ALLOCNODES", lambda row: "all"),
    "t": _f("STATE", lambda row: node_state_compact(_first(row))),
    "T": _f("STATE", lambda row: node_state_full(_first(row))),
    "u": _f("USER", _node_text("reason_user", "Unknown")),
    "U": _f("USER", _node_text("reason_user", "Unknown")),
    "v": _f("VERSION", _node_text("version", "N/A")),
    "w": _f("WEIGHT", _range("weight")),
    "X": _f("SOCKETS", _range("sockets")),
    "Y": _f("CORES", _range("cores_per_socket")),
    "z": _f("S:C:T", _sct),
    "Z": _f("THREADS", _range("threads_per_core")),
}
# Cells that summarise a group rather than identify it: they never split a group.
AGGREGATE = frozenset("ACDFNno" "eO")

DEFAULT_FORMAT = "%#P %.5a %.10l %.6D %.6t %N"
LONG_FORMAT = "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N"
NODE_FORMAT = "%#N %.6D %#P %6t"
NODE_LONG_FORMAT = "%#N %.6D %.#P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E"
SUMMARIZE_FORMAT = "%#P %.5a %.10l %.16F %N"
REASON_FORMAT = "%20E %9u %19H %N"
REASON_LONG_FORMAT = "%20E %12U %19H %.6t %N"
