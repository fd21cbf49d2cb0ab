"""Read a real ``slurm.conf``: global parameters, NodeName and PartitionName lines.

Slurm's syntax (``man slurm.conf``): one or more ``Key=Value`` pairs per line,
keys case-insensitive, ``#`` starts a comment (``\\#`` is a literal ``#``), a
``\\`` at the end of a line continues it, values may be double-quoted,
``Include FILE`` reads another file (relative to the including file's
directory; wildcards allowed). ``NodeName=DEFAULT`` and
``PartitionName=DEFAULT`` set defaults for the lines after them. Node names
are hostlist expressions; ``Nodes=ALL`` is every node. ``NodeSet`` names may
be used in a partition's ``Nodes``.

As in Slurm (``parse_config.c``, ``read_config.c``), a key given twice on a
line takes its later value ("specified more than once, latest value used"),
while of the two spellings ``Feature`` and ``Features`` on one NodeName line
``Feature`` is read first, whatever their order; a line's value beats its
``DEFAULT`` line's.

Unknown global keys are kept (Slurm has hundreds); an unknown key on a
NodeName/PartitionName line is an error. Every error is a
:class:`SlurmConfError` reading ``<file>:<line>: <problem>``.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drover import hostlist
from drover.timefmt import TimeFormatError, parse_time_limit


class SlurmConfError(ValueError):
    """A slurm.conf problem: ``"<file>:<line>: <problem>"``."""


NODE_KEYS = {k.lower(): k for k in (
    "NodeName", "NodeHostname", "NodeAddr", "BcastAddr", "Boards", "CoreSpecCount",
    "CoresPerSocket", "CpuBind", "CPUs", "CPUSpecList", "Features", "Feature", "Gres",
    "MemSpecLimit", "Port", "Procs", "RealMemory", "Reason", "Sockets", "SocketsPerBoard",
    "State", "ThreadsPerCore", "TmpDisk", "Weight", "TRESWeights", "Comment", "Extra")}
PARTITION_KEYS = {k.lower(): k for k in (
    "PartitionName", "AllocNodes", "AllowAccounts", "AllowGroups", "AllowQos", "Alternate",
    "CpuBind", "Default", "DefaultTime", "DefCpuPerGPU", "DefMemPerCPU", "DefMemPerGPU",
    "DefMemPerNode", "DenyAccounts", "DenyQos", "DisableRootJobs", "ExclusiveUser",
    "GraceTime", "Hidden", "LLN", "MaxCPUsPerNode", "MaxCPUsPerSocket", "MaxMemPerCPU",
    "MaxMemPerNode", "MaxNodes", "MaxTime", "MinNodes", "Nodes", "OverSubscribe", "Shared",
    "OverTimeLimit", "PowerDownOnIdle", "PreemptMode", "Priority", "PriorityJobFactor",
    "PriorityTier", "QOS", "ReqResv", "ResumeTimeout", "RootOnly", "SelectTypeParameters",
    "SuspendTime", "SuspendTimeout", "State", "TRESBillingWeights")}
NODE_STATES = {"CLOUD", "DOWN", "DRAIN", "FAIL", "FAILING", "FUTURE", "UNKNOWN", "IDLE"}
PARTITION_STATES = {"UP", "DOWN", "DRAIN", "INACTIVE"}
ENTITY_KEYS = {"nodename", "partitionname", "nodeset", "downnodes", "frontendname"}
UNLIMITED = {"UNLIMITED", "INFINITE"}


@dataclass
class NodeConf:
    name: str
    cpus: int = 1
    boards: int = 1
    sockets: int = 1
    cores_per_socket: int = 1
    threads_per_core: int = 1
    real_memory_mb: int = 1
    gres: str = ""
    features: list[str] = field(default_factory=list)
    weight: int = 1
    state: str = "UNKNOWN"
    node_hostname: str = ""
    node_addr: str = ""
    tmp_disk_mb: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    #: ``"<file>:<line>"`` of the line that defined it, for errors found after parsing.
    where: str = field(default="", compare=False, repr=False)
    reason: str = ""  # a DownNodes line's Reason=


@dataclass
class PartitionConf:
    name: str
    node_names: list[str] = field(default_factory=list)
    nodes_expr: str = ""
    default: bool = False
    max_time_min: int | None = None
    default_time_min: int | None = None
    max_nodes: int | None = None
    min_nodes: int = 0
    state: str = "UP"
    allow_groups: list[str] | None = None
    priority_tier: int = 1
    priority_job_factor: int = 1
    oversubscribe: str = "NO"
    extra: dict[str, str] = field(default_factory=dict)
    #: ``"<file>:<line>"`` of the line that defined it, for errors found after parsing.
    where: str = field(default="", compare=False, repr=False)

    @property
    def nodes(self) -> str:
        """The ``Nodes=`` expression as written (``ALL`` included)."""
        return self.nodes_expr


@dataclass
class SlurmConf:
    params: dict[str, str] = field(default_factory=dict)
    nodes: list[NodeConf] = field(default_factory=list)
    partitions: list[PartitionConf] = field(default_factory=list)
    nodesets: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        """A global parameter, looked up case-insensitively."""
        wanted = key.lower()
        for k, v in self.params.items():
            if k.lower() == wanted:
                return v
        return default

    def node(self, name: str) -> NodeConf:
        return next(n for n in self.nodes if n.name == name)

    def partition(self, name: str) -> PartitionConf:
        return next(p for p in self.partitions if p.name == name)

    @property
    def default_partition(self) -> PartitionConf | None:
        return next((p for p in self.partitions if p.default), None)


# --- lexing --------------------------------------------------------------------------

_PAIR_RE = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_/.:-]*)\s*=\s*("(?:[^"]*)"|\'(?:[^\']*)\'|[^\s"\']*)')
_INCLUDE_RE = re.compile(r"^\s*include\s+(\S.*?)\s*$", re.IGNORECASE)


@dataclass
class _Line:
    file: str
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"

    def error(self, problem: str) -> SlurmConfError:
        return SlurmConfError(f"{self.where}: {problem}")


def _strip_comment(text: str) -> str:
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == "#":
            out.append("#")
            i += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
        i += 1
    return "".join(out)


def _logical_lines(text: str, filename: str, depth: int = 0) -> Iterator[_Line]:
    """Comment-free, continuation-joined lines, with Include files spliced in."""
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if not joined:
            continue
        m = _INCLUDE_RE.match(joined)
        if m and "=" not in joined.split(None, 1)[0]:
            yield from _include(m.group(1).strip("\"'"), _Line(filename, start, joined), depth)
            continue
        yield _Line(filename, start, joined)
    if pending.strip():
        yield _Line(filename, start, pending.strip())


def _include(target: str, line: _Line, depth: int) -> Iterator[_Line]:
    if depth > 10:
        raise line.error("Include nested too deeply")
    base = os.path.dirname(line.file) if line.file else "."
    path = target if os.path.isabs(target) else os.path.join(base, target)
    matches = sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]
    if not matches:
        raise line.error(f"Include {target}: no such file")
    for each in matches:
        try:
            text = Path(each).read_text()
        except OSError as exc:
            raise line.error(f"Include {target}: {exc.strerror}") from None
        yield from _logical_lines(text, each, depth + 1)


def _pairs(line: _Line) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    pos = 0
    text = line.text
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _PAIR_RE.match(text, pos)
        if m is None:
            word = text[pos:].split()[0]
            raise line.error(f"missing '=' in {word!r}")
        value = m.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        pairs.append((m.group(1), value))
        pos = m.end()
    return pairs


#: The SchedulerParameters the scheduler reads as numbers, with the least value each takes
#: (``bf_interval=0``: the simulator's backfill at every event).
SCHEDULER_NUMBERS = {"bf_window": 1, "bf_resolution": 1, "bf_interval": 0,
                     "bf_max_job_user": 0, "bf_max_job_assoc": 0, "bf_max_job_part": 0,
                     "bf_max_job_test": 0, "bf_max_job_start": 0, "bf_min_age_reserve": 0,
                     "bf_min_prio_reserve": 0}


def _check_scheduler_parameters(line: _Line, value: str) -> None:
    """Reject a number the scheduler would otherwise ignore (Slurm logs this and goes on
    with its default, which a user reading the file would not expect)."""
    for item in filter(None, (i.strip() for i in value.split(","))):
        key, _, number = item.partition("=")
        least = SCHEDULER_NUMBERS.get(key.strip().lower())
        if least is None:
            continue
        text = number.strip()
        if not text.isdecimal() or int(text) < least:
            raise line.error(f"Invalid SchedulerParameters {key.strip()}: {text}")


# --- parsing -------------------------------------------------------------------------

def parse(text: str, filename: str = "slurm.conf") -> SlurmConf:
    """Parse slurm.conf text; ``filename`` names it in errors and anchors Include paths."""
    conf = SlurmConf()
    node_defaults: dict[str, str] = {}
    part_defaults: dict[str, str] = {}
    partition_lines: list[tuple[_Line, dict[str, str]]] = []
    for line in _logical_lines(text, filename):
        pairs = _pairs(line)
        first = pairs[0][0].lower()
        if first not in ENTITY_KEYS:
            for key, value in pairs:
                if key.lower() == "schedulerparameters":
                    _check_scheduler_parameters(line, value)
                conf.params[_existing_key(conf.params, key)] = value
            continue
        attrs = _entity_attrs(line, pairs, NODE_KEYS if first == "nodename" else
                              PARTITION_KEYS if first == "partitionname" else None)
        name = pairs[0][1]
        if first == "nodename":
            if "Feature" in attrs:  # read before Features=, in either order
                attrs["Features"] = attrs.pop("Feature")
            if name.upper() == "DEFAULT":
                node_defaults.update({k: v for k, v in attrs.items() if k != "NodeName"})
            else:
                conf.nodes.extend(_nodes(line, {**node_defaults, **attrs}, conf))
        elif first == "partitionname":
            if name.upper() == "DEFAULT":
                part_defaults.update({k: v for k, v in attrs.items() if k != "PartitionName"})
            else:
                partition_lines.append((line, {**part_defaults, **attrs}))
        elif first == "nodeset":
            conf.nodesets[pairs[0][1]] = _nodeset(line, dict(pairs[1:]), conf)
        elif first == "downnodes":
            _down_nodes(line, attrs, conf)
    for line, attrs in partition_lines:
        conf.partitions.append(_partition(line, attrs, conf))
    # Slurm: a later Default=YES partition replaces the earlier one as the default.
    for earlier in [p for p in conf.partitions if p.default][:-1]:
        earlier.default = False
    return conf


def load(path: str | os.PathLike[str]) -> SlurmConf:
    """Read and parse a slurm.conf file (OSError when it cannot be read)."""
    p = Path(path)
    return parse(p.read_text(), str(p))


def _existing_key(params: dict[str, str], key: str) -> str:
    lower = key.lower()
    return next((k for k in params if k.lower() == lower), key)


def _entity_attrs(line: _Line, pairs: list[tuple[str, str]],
                  known: dict[str, str] | None) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for key, value in pairs:
        if known is None:
            attrs[key] = value
            continue
        canonical = known.get(key.lower())
        if canonical is None:
            raise line.error(f"unknown key {key!r} on a {pairs[0][0]} line")
        attrs[canonical] = value
    return attrs


def _int(line: _Line, attrs: dict[str, str], key: str, default: int) -> int:
    value = attrs.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise line.error(f"invalid number {key}={value}") from None
    if number < 0:
        raise line.error(f"invalid number {key}={value}")
    return number


def _limit(line: _Line, attrs: dict[str, str], key: str, default: int | None) -> int | None:
    value = attrs.get(key)
    if value is None or value == "":
        return default
    if value.upper() in UNLIMITED:
        return None
    return _int(line, attrs, key, 0)


def _time(line: _Line, attrs: dict[str, str], key: str) -> int | None:
    value = attrs.get(key)
    if value is None or value == "":
        return None
    try:
        return parse_time_limit(value)
    except TimeFormatError:
        raise line.error(f"invalid time {key}={value}") from None


def _expand(line: _Line, expr: str) -> list[str]:
    try:
        return hostlist.expand(expr)
    except hostlist.HostlistError as exc:
        raise line.error(str(exc)) from None


def _nodes(line: _Line, attrs: dict[str, str], conf: SlurmConf) -> list[NodeConf]:
    names = _expand(line, attrs["NodeName"])
    if not names:
        raise line.error("empty NodeName")
    hostnames = _expand(line, attrs.get("NodeHostname", ""))
    addrs = _expand(line, attrs.get("NodeAddr", ""))
    for what, values in (("NodeHostname", hostnames), ("NodeAddr", addrs)):
        if len(values) not in (0, 1, len(names)):
            raise line.error(f"{what} count does not match NodeName count")
    state = attrs.get("State", "UNKNOWN").upper()
    if state.split("+")[0] not in NODE_STATES:
        raise line.error(f"invalid node state State={attrs['State']}")
    boards = _int(line, attrs, "Boards", 1)
    topology_given = any(k in attrs for k in ("Sockets", "SocketsPerBoard", "CoresPerSocket",
                                                "ThreadsPerCore"))
    cpus_key = "CPUs" if "CPUs" in attrs else "Procs"
    if "SocketsPerBoard" in attrs:
        sockets = _int(line, attrs, "SocketsPerBoard", 1) * boards
    else:
        sockets = _int(line, attrs, "Sockets", 1)
    cores = _int(line, attrs, "CoresPerSocket", 1)
    threads = _int(line, attrs, "ThreadsPerCore", 1)
    if cpus_key in attrs:
        cpus = _int(line, attrs, cpus_key, 1)
        if not topology_given:
            sockets, cores, threads = cpus, 1, 1
    elif "SocketsPerBoard" in attrs:
        cpus = sockets * cores * threads
    else:  # man slurm.conf: the product of Boards, Sockets, CoresPerSocket, ThreadsPerCore
        cpus = boards * sockets * cores * threads
    if min(cpus, boards, sockets, cores, threads) < 1:
        raise line.error("CPUs, Boards, Sockets, CoresPerSocket and ThreadsPerCore must be >= 1")
    gres = attrs.get("Gres", "")
    _check_gres(line, gres)
    features = [f for f in attrs.get("Features", "").split(",") if f]
    known = {"NodeName", "NodeHostname", "NodeAddr", "Boards", "Sockets", "SocketsPerBoard",
             "CoresPerSocket", "ThreadsPerCore", "CPUs", "Procs", "RealMemory", "Gres",
             "Features", "Weight", "State", "TmpDisk"}
    extra = {k: v for k, v in attrs.items() if k not in known}
    existing = {n.name for n in conf.nodes}
    out: list[NodeConf] = []
    for i, name in enumerate(names):
        if name in existing:
            raise line.error(f"node {name} is defined twice")
        out.append(NodeConf(
            name=name, cpus=cpus, boards=boards, sockets=sockets, cores_per_socket=cores,
            threads_per_core=threads, real_memory_mb=_int(line, attrs, "RealMemory", 1),
            gres=gres, features=list(features),
            weight=_int(line, attrs, "Weight", 1), state=state,
            node_hostname=_pick(hostnames, i, name), node_addr=_pick(addrs, i, ""),
            tmp_disk_mb=_int(line, attrs, "TmpDisk", 0), extra=dict(extra), where=line.where))
    return out


_GRES_NAME = re.compile(r"[A-Za-z][\w-]*\Z")
_GRES_TYPE = re.compile(r"\w[\w.-]*\Z")
_GRES_COUNT = re.compile(r"\d+[KMGT]?\Z", re.IGNORECASE)


def _check_gres(line: _Line, value: str) -> None:
    """``name[:type][:no_consume][:count][(S:sockets)]``, comma-separated (man slurm.conf)."""
    for item in _split_top_level(value, "()"):
        parts = re.sub(r"\([^()]*\)\Z", "", item).split(":")
        rest = [p for p in parts[1:] if p.lower() != "no_consume"]
        if rest and _GRES_COUNT.match(rest[-1]):
            rest.pop()
        if (not _GRES_NAME.match(parts[0]) or len(rest) > 1
                or any(not _GRES_TYPE.match(p) or p.isdecimal() for p in rest)):
            raise line.error(f"invalid Gres {item!r} (name[:type]:count, e.g. gpu:a100:4)")


#: The states a DownNodes line may give (man slurm.conf).
DOWN_STATES = {"DOWN", "DRAIN", "FAIL", "FAILING", "UNKNOWN"}


def _down_nodes(line: _Line, attrs: dict[str, str], conf: SlurmConf) -> None:
    """``DownNodes=n[1-2] State=DOWN Reason="disk"``: the initial state of nodes defined
    above (UNKNOWN unless given), with its reason."""
    state = attrs.get("State", "UNKNOWN").upper()
    if state not in DOWN_STATES:
        raise line.error(f"invalid DownNodes State={attrs['State']} "
                         f"(one of {', '.join(sorted(DOWN_STATES))})")
    named = set(_resolve_nodes(line, attrs["DownNodes"], conf))
    for node in conf.nodes:
        if node.name in named:
            node.state, node.reason = state, attrs.get("Reason", "")


def _pick(values: list[str], i: int, default: str) -> str:
    if not values:
        return default
    return values[i] if len(values) > 1 else values[0]


def _nodeset(line: _Line, attrs: dict[str, str], conf: SlurmConf) -> list[str]:
    lowered = {k.lower(): v for k, v in attrs.items()}
    if "nodes" in lowered:
        return _resolve_nodes(line, lowered["nodes"], conf)
    if "feature" in lowered:
        return [n.name for n in conf.nodes if lowered["feature"] in n.features]
    raise line.error("NodeSet needs Nodes= or Feature=")


def _resolve_nodes(line: _Line, expr: str, conf: SlurmConf) -> list[str]:
    if expr.upper() == "ALL":
        return [n.name for n in conf.nodes]
    defined = {n.name for n in conf.nodes}
    names: list[str] = []
    for part in _split_top_level(expr):
        if part in conf.nodesets:
            names.extend(conf.nodesets[part])
            continue
        for name in _expand(line, part):
            if name not in defined:
                raise line.error(f"node {name} in Nodes={expr} is not defined by a NodeName line")
            names.append(name)
    return list(dict.fromkeys(names))


def _split_top_level(expr: str, brackets: str = "[]") -> list[str]:
    """``"a[1-2],b,c[3,5]"`` → ``["a[1-2]", "b", "c[3,5]"]``: commas outside brackets."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in expr:
        depth += (ch == brackets[0]) - (ch == brackets[1])
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in (x.strip() for x in parts) if p]


def _yes_no(line: _Line, attrs: dict[str, str], key: str) -> bool:
    value = attrs.get(key, "NO").upper()
    if value not in ("YES", "NO"):
        raise line.error(f"invalid value {key}={attrs[key]} (YES or NO)")
    return value == "YES"


def _oversubscribe(line: _Line, attrs: dict[str, str]) -> str:
    raw = attrs.get("OverSubscribe", attrs.get("Shared", "NO")).upper()
    kind, _, count = raw.partition(":")
    if kind not in ("NO", "EXCLUSIVE", "YES", "FORCE") or (count and not count.isdigit()):
        raise line.error(f"invalid value OverSubscribe={raw}")
    if kind in ("YES", "FORCE"):
        return f"{kind}:{count or 4}"
    if count:
        raise line.error(f"invalid value OverSubscribe={raw}")
    return kind


def _partition(line: _Line, attrs: dict[str, str], conf: SlurmConf) -> PartitionConf:
    expr = attrs.get("Nodes", "")
    state = attrs.get("State", "UP").upper()
    if state not in PARTITION_STATES:
        raise line.error(f"invalid partition state State={attrs['State']}")
    groups = attrs.get("AllowGroups", "ALL")
    priority = _int(line, attrs, "Priority", 1)
    known = {"PartitionName", "Nodes", "Default", "MaxTime", "DefaultTime", "MaxNodes",
             "MinNodes", "State", "AllowGroups", "PriorityTier", "PriorityJobFactor",
             "Priority", "OverSubscribe", "Shared"}
    name = attrs["PartitionName"]
    if any(p.name == name for p in conf.partitions):
        raise line.error(f"partition {name} is defined twice")
    return PartitionConf(
        name=name, node_names=_resolve_nodes(line, expr, conf) if expr else [],
        nodes_expr=expr, default=_yes_no(line, attrs, "Default"),
        max_time_min=_time(line, attrs, "MaxTime"),
        default_time_min=_time(line, attrs, "DefaultTime"),
        max_nodes=_limit(line, attrs, "MaxNodes", None),
        min_nodes=_int(line, attrs, "MinNodes", 0), state=state,
        allow_groups=None if groups.upper() == "ALL" else [g for g in groups.split(",") if g],
        priority_tier=_int(line, attrs, "PriorityTier", priority),
        priority_job_factor=_int(line, attrs, "PriorityJobFactor", priority),
        oversubscribe=_oversubscribe(line, attrs),
        extra={k: v for k, v in attrs.items() if k not in known}, where=line.where)


# --- writing -------------------------------------------------------------------------

def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() or c == "#" for c in value) or value == "" else value


def dumps(conf: SlurmConf) -> str:
    """slurm.conf text that parses back to ``conf`` (one line per node and partition)."""
    lines = [f"{k}={_quote(v)}" for k, v in conf.params.items()]
    for n in conf.nodes:
        words = [f"NodeName={n.name}", f"CPUs={n.cpus}", f"Boards={n.boards}",
                 f"Sockets={n.sockets}", f"CoresPerSocket={n.cores_per_socket}",
                 f"ThreadsPerCore={n.threads_per_core}", f"RealMemory={n.real_memory_mb}",
                 f"Weight={n.weight}", f"State={n.state}", f"TmpDisk={n.tmp_disk_mb}"]
        if n.gres:
            words.append(f"Gres={n.gres}")
        if n.features:
            words.append(f"Features={','.join(n.features)}")
        if n.node_hostname and n.node_hostname != n.name:
            words.append(f"NodeHostname={n.node_hostname}")
        if n.node_addr:
            words.append(f"NodeAddr={n.node_addr}")
        words += [f"{k}={_quote(v)}" for k, v in n.extra.items()]
        lines.append(" ".join(words))
    for p in conf.partitions:
        def limit(v: int | None) -> str:
            return "UNLIMITED" if v is None else str(v)

        words = [f"PartitionName={p.name}", f"Default={'YES' if p.default else 'NO'}",
                 f"MaxTime={limit(p.max_time_min)}", f"MaxNodes={limit(p.max_nodes)}",
                 f"MinNodes={p.min_nodes}", f"State={p.state}",
                 f"AllowGroups={','.join(p.allow_groups) if p.allow_groups else 'ALL'}",
                 f"PriorityTier={p.priority_tier}",
                 f"PriorityJobFactor={p.priority_job_factor}",
                 f"OverSubscribe={p.oversubscribe}"]
        if p.nodes_expr:
            words.append(f"Nodes={p.nodes_expr}")
        if p.default_time_min is not None:
            words.append(f"DefaultTime={p.default_time_min}")
        words += [f"{k}={_quote(v)}" for k, v in p.extra.items()]
        lines.append(" ".join(words))
    return "\n".join(lines) + "\n"
