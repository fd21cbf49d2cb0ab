"""sbatch's options: the command line, ``#SBATCH`` lines and ``SBATCH_*`` variables.

``parse_sbatch`` turns them into the job description of docs/architecture.md.
Precedence is Slurm's (``man sbatch``, INPUT ENVIRONMENT VARIABLES): the
command line overrides ``SBATCH_*`` variables, which override ``#SBATCH``
lines. Options are read like getopt_long does for sbatch: ``--opt=v``,
``--opt v``, unambiguous prefixes of long names, ``-Jname``/``-J name``,
clustered flags, and the first non-option word is the script (the rest are
its arguments). Every valid sbatch option is accepted, even those Drover does
not act on. Errors carry Slurm's exact stderr lines and exit status.
"""

from __future__ import annotations

import os

from drover import units
from drover.lazyre import Pattern
from drover.timefmt import TimeFormatError, parse_begin, parse_time_limit

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence  # collections costs ~1.7 ms
    from datetime import datetime  # only --begin needs the module: imported there
    from typing import Any

PROG = "sbatch"
VERSION = "slurm 22.05.8"
WRAP_HEADER = "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n"
TRY_HELP = f'Try "{PROG} --help" for more information'
USAGE = f"Usage: {PROG} [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]"


class OptionError(ValueError):
    """sbatch must stop: ``stderr`` lines to print (and ``stdout`` ones), then exit ``code``."""

    def __init__(self, stderr: Sequence[str], code: int = 1, stdout: Sequence[str] = ()) -> None:
        self.stderr = list(stderr)
        self.stdout = list(stdout)
        self.code = code
        text = " ".join(_strip_prog(line) for line in self.stderr) or " ".join(self.stdout)
        super().__init__(text)


JobOptsError = OptionError  # the name the portal uses


def _strip_prog(line: str) -> str:
    for prefix in (f"{PROG}: error: ", f"{PROG}: "):
        if line.startswith(prefix):
            return line[len(prefix):]
    return line


def _error(message: str, code: int = 255) -> OptionError:
    return OptionError([f"{PROG}: error: {message}"], code)


# --- the option table ----------------------------------------------------------------
# long name, short letter, argument (1 required, 0 none, 2 optional), destination.
# Destination "" means accepted and ignored.

_OPTIONS: tuple[tuple[str, str, int, str], ...] = (
    ("account", "A", 1, "account"), ("acctg-freq", "", 1, ""), ("array", "a", 1, "array"),
    ("batch", "", 1, ""), ("bb", "", 1, ""), ("bbf", "", 1, ""), ("begin", "b", 1, "begin"),
    ("chdir", "D", 1, "chdir"), ("workdir", "", 1, "chdir"),
    ("cluster-constraint", "", 1, ""), ("clusters", "M", 1, "clusters"),
    ("cluster", "", 1, "clusters"), ("comment", "", 1, "comment"),
    ("constraint", "C", 1, "constraint"), ("container", "", 1, ""),
    ("container-id", "", 1, ""), ("contiguous", "", 0, ""), ("core-spec", "S", 1, ""),
    ("cores-per-socket", "", 1, ""), ("cpu-freq", "", 1, ""), ("cpus-per-gpu", "", 1, ""),
    ("cpus-per-task", "c", 1, "cpus_per_task"), ("deadline", "", 1, ""),
    ("delay-boot", "", 1, ""), ("dependency", "d", 1, "dependency"),
    ("distribution", "m", 1, ""), ("error", "e", 1, "stderr"), ("exclude", "x", 1, "exclude"),
    ("exclusive", "", 2, "exclusive"), ("export", "", 1, "export"),
    ("export-file", "", 1, "export_file"), ("extra", "", 1, ""),
    ("extra-node-info", "B", 1, ""), ("get-user-env", "", 2, ""), ("gid", "", 1, ""),
    ("gpu-bind", "", 1, ""), ("gpu-freq", "", 1, ""), ("gpus", "G", 1, "gpus"),
    ("gpus-per-node", "", 1, "gpus_per_node"), ("gpus-per-socket", "", 1, ""),
    ("gpus-per-task", "", 1, ""), ("gres", "", 1, "gres"), ("gres-flags", "", 1, ""),
    ("help", "h", 0, "help"), ("hint", "", 1, ""), ("hold", "H", 0, "hold"),
    ("ignore-pbs", "", 0, ""), ("input", "i", 1, "stdin"), ("job-name", "J", 1, "name"),
    ("kill-on-invalid-dep", "", 1, ""), ("licenses", "L", 1, ""),
    ("mail-type", "", 1, "mail_type"), ("mail-user", "", 1, "mail_user"),
    ("mcs-label", "", 1, ""), ("mem", "", 1, "mem"), ("mem-bind", "", 1, ""),
    ("mem-per-cpu", "", 1, "mem_per_cpu"), ("mem-per-gpu", "", 1, "mem_per_gpu"),
    ("mincpus", "", 1, ""), ("network", "", 1, ""), ("nice", "", 2, "nice"),
    ("no-kill", "k", 2, ""), ("no-requeue", "", 0, "no_requeue"),
    ("nodefile", "F", 1, ""), ("nodelist", "w", 1, "nodelist"), ("nodes", "N", 1, "nodes"),
    ("ntasks", "n", 1, "ntasks"), ("ntasks-per-core", "", 1, ""),
    ("ntasks-per-gpu", "", 1, ""), ("ntasks-per-node", "", 1, "ntasks_per_node"),
    ("ntasks-per-socket", "", 1, ""), ("oom-kill-step", "", 2, ""),
    ("open-mode", "", 1, "open_mode"), ("output", "o", 1, "stdout"),
    ("overcommit", "O", 0, ""), ("oversubscribe", "s", 0, ""), ("parsable", "", 0, "parsable"),
    ("partition", "p", 1, "partition"), ("power", "", 1, ""), ("prefer", "", 1, ""),
    ("priority", "", 1, ""), ("profile", "", 1, ""), ("propagate", "", 2, ""),
    ("qos", "q", 1, "qos"), ("quiet", "Q", 0, "quiet"), ("reboot", "", 0, ""),
    ("requeue", "", 0, "requeue"), ("reservation", "", 1, "reservation"),
    ("segment", "", 1, ""), ("signal", "", 1, "signal"), ("sockets-per-node", "", 1, ""),
    ("spread-job", "", 0, ""), ("stepmgr", "", 0, ""), ("switches", "", 1, ""),
    ("test-only", "", 0, "test_only"), ("thread-spec", "", 1, ""),
    ("threads-per-core", "", 1, ""), ("time", "t", 1, "time"), ("time-min", "", 1, "time_min"),
    ("tmp", "", 1, ""), ("tres-bind", "", 1, ""), ("tres-per-task", "", 1, ""),
    ("uid", "", 1, ""), ("usage", "", 0, "help"), ("use-min-nodes", "", 0, ""),
    ("verbose", "v", 0, "verbose"), ("version", "V", 0, "version"), ("wait", "W", 0, "wait"),
    ("wait-all-nodes", "", 1, ""), ("wckey", "", 1, "wckey"), ("wrap", "", 1, "wrap"),
)
LONG = {o[0]: o for o in _OPTIONS}
SHORT = {o[1]: o for o in _OPTIONS if o[1]}
# salloc takes sbatch's options but a script's (and --array, --wrap), plus its own.
_SALLOC_OWN = (("bell", "", 0, ""), ("no-bell", "", 0, ""), ("immediate", "I", 2, ""),
               ("kill-command", "K", 2, "kill_command"), ("no-shell", "", 0, "no_shell"),
               ("x11", "", 2, ""))
_NOT_SALLOC = {"array", "batch", "error", "export", "export-file", "ignore-pbs", "input",
               "open-mode", "output", "parsable", "requeue", "no-requeue", "test-only",
               "wait", "wrap"}
SALLOC_LONG = {**{k: o for k, o in LONG.items() if k not in _NOT_SALLOC},
               **{o[0]: o for o in _SALLOC_OWN}}
SALLOC_SHORT = {o[1]: o for o in SALLOC_LONG.values() if o[1]}
# srun outside a job asks for an allocation with salloc's options but salloc's own; its
# -i/-o/-e/--export are the tasks' and -K/-W mean other things; the rest is the step's.
_SRUN_OWN = (("cpu-bind", "", 1, ""), ("cpu_bind", "", 1, ""), ("error", "e", 1, "task_error"),
             ("exact", "", 0, ""), ("export", "", 1, ""), ("input", "i", 1, "task_input"),
             ("jobid", "", 1, "jobid"), ("kill-on-bad-exit", "K", 2, ""), ("label", "l", 0, ""),
             ("mpi", "", 1, ""), ("multi-prog", "", 0, ""), ("output", "o", 1, "task_output"),
             ("overlap", "", 0, ""), ("pty", "", 0, "pty"), ("unbuffered", "u", 0, ""),
             ("wait", "W", 1, ""))
SRUN_LONG = {**{k: o for k, o in SALLOC_LONG.items()
                if k not in ("bell", "no-bell", "kill-command", "no-shell")},
             **{o[0]: o for o in _SRUN_OWN}}
SRUN_SHORT = {o[1]: o for o in SRUN_LONG.values() if o[1]}
_TABLES = {"sbatch": (LONG, SHORT), "salloc": (SALLOC_LONG, SALLOC_SHORT),
           "srun": (SRUN_LONG, SRUN_SHORT)}

# SBATCH_* input variables: variable → long option (a flag is set by any value).
ENV_OPTIONS = {
    "SBATCH_ACCOUNT": "account", "SBATCH_ACCTG_FREQ": "acctg-freq",
    "SBATCH_ARRAY_INX": "array", "SBATCH_BATCH": "batch", "SBATCH_CLUSTERS": "clusters",
    "SBATCH_CONSTRAINT": "constraint", "SBATCH_CONTAINER": "container",
    "SBATCH_CORE_SPEC": "core-spec", "SBATCH_CPUS_PER_GPU": "cpus-per-gpu",
    "SBATCH_DELAY_BOOT": "delay-boot", "SBATCH_DISTRIBUTION": "distribution",
    "SBATCH_ERROR": "error", "SBATCH_EXCLUSIVE": "exclusive", "SBATCH_EXPORT": "export",
    "SBATCH_GET_USER_ENV": "get-user-env", "SBATCH_GPU_BIND": "gpu-bind",
    "SBATCH_GPU_FREQ": "gpu-freq", "SBATCH_GPUS": "gpus",
    "SBATCH_GPUS_PER_NODE": "gpus-per-node", "SBATCH_GPUS_PER_TASK": "gpus-per-task",
    "SBATCH_GRES": "gres", "SBATCH_GRES_FLAGS": "gres-flags", "SBATCH_HINT": "hint",
    "SBATCH_IGNORE_PBS": "ignore-pbs", "SBATCH_INPUT": "input", "SBATCH_JOB_NAME": "job-name",
    "SBATCH_MEM_BIND": "mem-bind", "SBATCH_MEM_PER_CPU": "mem-per-cpu",
    "SBATCH_MEM_PER_GPU": "mem-per-gpu", "SBATCH_MEM_PER_NODE": "mem",
    "SBATCH_NETWORK": "network", "SBATCH_NO_KILL": "no-kill",
    "SBATCH_NO_REQUEUE": "no-requeue", "SBATCH_OPEN_MODE": "open-mode",
    "SBATCH_OUTPUT": "output", "SBATCH_OVERCOMMIT": "overcommit",
    "SBATCH_PARTITION": "partition", "SBATCH_POWER": "power", "SBATCH_PROFILE": "profile",
    "SBATCH_QOS": "qos", "SBATCH_REQ_SWITCH": "switches", "SBATCH_REQUEUE": "requeue",
    "SBATCH_RESERVATION": "reservation", "SBATCH_SIGNAL": "signal",
    "SBATCH_SPREAD_JOB": "spread-job", "SBATCH_THREAD_SPEC": "thread-spec",
    "SBATCH_TIMELIMIT": "time", "SBATCH_USE_MIN_NODES": "use-min-nodes",
    "SBATCH_WAIT": "wait", "SBATCH_WAIT_ALL_NODES": "wait-all-nodes",
    "SBATCH_WCKEY": "wckey",
}
# Options that replace each other, whichever source sets them.
_GROUPS = ({"mem", "mem_per_cpu", "mem_per_gpu"}, {"requeue", "no_requeue"})


# Plain classes, not dataclasses: ``dataclasses`` imports ``inspect``, ~10 ms of
# every sbatch run (this module is on its start-up path).

class CommandLine:
    """The command line split: options, then the script and its arguments."""

    def __init__(self, options: dict[str, Any], script_path: str | None,
                 script_args: list[str]) -> None:
        self.options = options
        self.script_path = script_path
        self.script_args = script_args


class SbatchRequest:
    """What sbatch sends (``job_desc``) and how it behaves after (``--parsable``, ``--wait``...)."""

    def __init__(self, job_desc: dict[str, Any], parsable: bool = False, quiet: bool = False,
                 test_only: bool = False, wait: bool = False, verbose: int = 0,
                 clusters: str | None = None, script_path: str | None = None,
                 warnings: list[str] | None = None) -> None:
        self.job_desc = job_desc
        self.parsable = parsable
        self.quiet = quiet
        self.test_only = test_only
        self.wait = wait
        self.verbose = verbose
        self.clusters = clusters
        self.script_path = script_path
        self.warnings = [] if warnings is None else warnings


# --- getopt_long, the sbatch way -----------------------------------------------------

def _unrecognized(word: str) -> OptionError:
    return OptionError([f"{PROG}: unrecognized option '{word}'", TRY_HELP], 255)


def _lookup_long(word: str, table: Mapping[str, tuple[str, str, int, str]]
                 ) -> tuple[str, str, int, str]:
    name = word[2:].split("=", 1)[0]
    if name in table:
        return table[name]
    matches = [n for n in table if n.startswith(name)] if name else []
    targets = {table[n][3] or n for n in matches}
    if len(targets) == 1:
        return table[matches[0]]
    if len(matches) > 1:
        choices = " ".join(f"'--{n}'" for n in matches)
        raise OptionError([f"{PROG}: option '--{name}' is ambiguous; possibilities: {choices}",
                           TRY_HELP], 255)
    raise _unrecognized(word)


def _scan(argv: Sequence[str], *, stop_at_script: bool, prog: str = "sbatch"
          ) -> tuple[list[tuple[tuple[str, str, int, str], str]], int]:
    """(option, value) pairs in order, and the index of the first non-option word;
    with ``prog``'s options (sbatch's, salloc's or srun's)."""
    long, short = _TABLES[prog]
    found: list[tuple[tuple[str, str, int, str], str]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return found, i + 1
        if word.startswith("--"):
            has_arg = "=" in word
            opt = _lookup_long(word, long)
            if opt[2] == 0 and has_arg:
                raise OptionError([f"{PROG}: option '--{opt[0]}' doesn't allow an argument",
                                   TRY_HELP], 255)
            if has_arg:
                value = word.split("=", 1)[1]
            elif opt[2] == 1:
                if i + 1 >= len(argv):
                    raise OptionError([f"{PROG}: option '--{opt[0]}' requires an argument",
                                       TRY_HELP], 255)
                i += 1
                value = argv[i]
            else:
                value = ""
            found.append((opt, value))
        elif word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                letter = word[j]
                if letter not in short:
                    raise OptionError([f"{PROG}: invalid option -- '{letter}'", TRY_HELP], 255)
                opt = short[letter]
                rest = word[j + 1:]
                if opt[2] == 0:
                    found.append((opt, ""))
                    j += 1
                    continue
                if rest or opt[2] == 2:
                    found.append((opt, rest))
                elif i + 1 < len(argv):
                    i += 1
                    found.append((opt, argv[i]))
                else:
                    raise OptionError([f"{PROG}: option requires an argument -- '{letter}'",
                                       TRY_HELP], 255)
                break
        elif stop_at_script:
            return found, i
        i += 1
    return found, len(argv)


# --- from words to option values -----------------------------------------------------

def _set(store: dict[str, Any], opt: tuple[str, str, int, str], value: str,
         now: datetime | None) -> None:
    dest = opt[3]
    if not dest:
        return
    if dest in ("help", "version"):
        lines = [USAGE] if dest == "help" else [VERSION]
        raise OptionError([], 0, lines)
    for group in _GROUPS:
        if dest in group:
            for other in group - {dest}:
                store.pop(other, None)
    store[dest] = _convert(dest, value, now)


def _convert(dest: str, value: str, now: datetime | None) -> Any:
    converter = _CONVERTERS.get(dest)
    return value if converter is None else converter(value, now)


def _time(name: str) -> Any:
    def convert(value: str, now: datetime | None) -> int | None:
        try:
            minutes = parse_time_limit(value)
        except TimeFormatError:
            raise _error(f"Invalid --{name} specification") from None
        return None if minutes == 0 else minutes

    return convert


def _mem(name: str) -> Any:
    def convert(value: str, now: datetime | None) -> int:
        try:
            return units.parse_mem_mb(value)
        except units.UnitError:
            raise _error(f"Invalid --{name} specification") from None

    return convert


def _count(name: str) -> Any:
    def convert(value: str, now: datetime | None) -> int:
        text = value.strip()
        if not text.isdigit() or int(text) < 1:
            raise _error(f'Invalid numeric value "{value}" for --{name}.')
        return int(text)

    return convert


def _nodes(value: str, now: datetime | None) -> tuple[int, int | None]:
    """``N``, ``N-M`` or ``N-`` (no maximum), spaces allowed around each part."""
    first, dash, rest = value.partition("-")
    first, rest = first.strip(), rest.strip()
    if (not first.isdecimal() or (rest and not rest.isdecimal()) or int(first) < 1
            or (rest and int(rest) < int(first))):
        raise _error(f"invalid node count `{value}'")
    lo = int(first)
    hi = int(rest) if rest else (None if dash else lo)
    return lo, hi


def _begin(value: str, now: datetime | None) -> int:
    if now is None:
        from datetime import datetime

        now = datetime.now().astimezone()
    try:
        return int(parse_begin(value, now).timestamp())
    except TimeFormatError:
        raise _error(f"Invalid time specification {value}") from None


def _open_mode(value: str, now: datetime | None) -> str:
    mode = value.strip().lower()
    if mode in ("a", "append"):
        return "append"
    if mode in ("t", "truncate"):
        return "truncate"
    raise _error(f"Invalid --open-mode argument: {value}")


_SIGNALS = frozenset({"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL",
    "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
    "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"})


_SIGNAL_SPEC = Pattern(r"^(?:([BR]+):)?([A-Za-z0-9]+)(?:@(\d+))?$")


def _signal(value: str, now: datetime | None) -> str:
    m = _SIGNAL_SPEC.match(value.strip())
    if m is None:
        raise _error("Invalid --signal specification")
    name = m.group(2).upper().removeprefix("SIG")
    if name.isdigit():
        if not 1 <= int(name) <= 64:
            raise _error("Invalid --signal specification")
    elif name not in _SIGNALS:
        raise _error("Invalid --signal specification")
    prefix = f"{m.group(1)}:" if m.group(1) else ""
    return f"{prefix}{name}@{m.group(3) or 60}"


def _nice(value: str, now: datetime | None) -> int:
    if value == "":
        return 100
    try:
        return int(value)
    except ValueError:
        raise _error(f"Invalid nice value {value}") from None


def _array(value: str, now: datetime | None) -> str:
    try:
        parse_array_spec(value)
    except ValueError:
        raise OptionError([f"{PROG}: error: Batch job submission failed: "
                           "Invalid job array specification"], 1) from None
    return value.strip()


def _flag(value: str, now: datetime | None) -> bool:
    return True


def _exclusive(value: str, now: datetime | None) -> bool:
    """``--exclusive[=user|mcs]`` share no node with other jobs (the user and mcs forms
    are kept as the stricter whole-node form); ``=oversubscribe`` shares."""
    mode = value.strip().lower()
    if mode in ("", "exclusive", "user", "mcs"):
        return True
    if mode == "oversubscribe":
        return False
    raise _error("Invalid --exclusive specification")


_MAIL_TYPES = frozenset({"NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND",
                         "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80",
                         "TIME_LIMIT_50", "ARRAY_TASKS"})


def _mail_type(value: str, now: datetime | None) -> str:
    words = [w.strip().upper() for w in value.split(",")]
    if not value.strip() or any(w not in _MAIL_TYPES for w in words):
        raise _error(f"--mail-type={value} invalid")
    return ",".join(words)


def _verbose(value: str, now: datetime | None) -> int:
    return 1


_CONVERTERS: dict[str, Any] = {
    "time": _time("time"), "time_min": _time("time-min"), "mem": _mem("mem"),
    "mem_per_cpu": _mem("mem-per-cpu"), "mem_per_gpu": _mem("mem-per-gpu"),
    "nodes": _nodes, "ntasks": _count("ntasks"), "cpus_per_task": _count("cpus-per-task"),
    "ntasks_per_node": _count("ntasks-per-node"), "begin": _begin, "open_mode": _open_mode,
    "signal": _signal, "nice": _nice, "array": _array, "hold": _flag, "exclusive": _exclusive,
    "mail_type": _mail_type,
    "requeue": _flag, "no_requeue": _flag, "parsable": _flag, "test_only": _flag,
    "quiet": _flag, "wait": _flag, "verbose": _verbose, "no_shell": _flag, "pty": _flag,
}


# --- arrays --------------------------------------------------------------------------

_ARRAY_ITEM = Pattern(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")


class ArraySpec:
    """``0-10:2,15%3`` → ranges ((0, 10, 2), (15, 15, 1)), throttle 3."""

    __slots__ = ("ranges", "throttle")

    def __init__(self, ranges: tuple[tuple[int, int, int], ...],
                 throttle: int | None = None) -> None:
        self.ranges = ranges
        self.throttle = throttle

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ArraySpec)
                and (self.ranges, self.throttle) == (other.ranges, other.throttle))

    def __hash__(self) -> int:
        return hash((self.ranges, self.throttle))

    def __repr__(self) -> str:
        return f"ArraySpec({self.ranges!r}, {self.throttle!r})"

    def ids(self) -> list[int]:
        return sorted({i for lo, hi, step in self.ranges for i in range(lo, hi + 1, step)})

    def __str__(self) -> str:
        parts = []
        for lo, hi, step in self.ranges:
            parts.append(str(lo) if lo == hi and step == 1 else
                         f"{lo}-{hi}" + (f":{step}" if step != 1 else ""))
        return ",".join(parts) + (f"%{self.throttle}" if self.throttle is not None else "")


def parse_array_spec(spec: str) -> ArraySpec:
    """Syntax of ``--array`` (``0-2``, ``1,3,5``, ``0-10:2``, ``0-15%4``); ValueError if bad.

    The size against MaxArraySize is the controller's check.
    """
    text, pct, limit = spec.strip().partition("%")
    throttle = None
    if pct:
        if not limit.isdigit():
            raise ValueError(f"bad throttle in {spec!r}")
        throttle = int(limit)
    ranges = []
    for part in text.split(","):
        m = _ARRAY_ITEM.match(part.strip())
        if m is None:
            raise ValueError(f"bad array range {part!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        step = int(m.group(3)) if m.group(3) is not None else 1
        if hi < lo or step < 1:
            raise ValueError(f"bad array range {part!r}")
        ranges.append((lo, hi, step))
    return ArraySpec(tuple(ranges), throttle)


# --- --export ------------------------------------------------------------------------

def _split_export(spec: str) -> list[str]:
    """Commas separate items, except inside quotes; quotes around values are removed."""
    items: list[str] = []
    current = ""
    quote = ""
    for ch in spec:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [i for i in (x.strip() for x in items) if i]


def resolve_export(spec: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The job's environment per ``--export`` (Slurm 22.05 semantics).

    ALL (the default): the whole submitting environment. NONE: only its SLURM_*
    variables. A list without ALL: SLURM_* variables plus the named ones
    (``NAME`` copies it from the environment, ``NAME=value`` sets it).
    ``ALL,NAME=value``: everything, plus or overriding those.
    """
    items = _split_export(spec) if spec else ["ALL"]
    upper = [i.upper() for i in items]
    if "ALL" in upper:
        env = dict(environ)
    else:
        env = {k: v for k, v in environ.items() if k.startswith("SLURM_")}
    for item in items:
        if item.upper() in ("ALL", "NONE", "NIL"):
            continue
        name, eq, value = item.partition("=")
        if eq:
            env[name] = value
        elif name in environ:
            env[name] = environ[name]
    return env


def _export_file(path: str, cwd: str) -> dict[str, str]:
    full = path if os.path.isabs(path) else os.path.join(cwd, path)
    try:
        with open(full, "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        raise _error(f"Unable to read --export-file {path}") from None
    sep = "\0" if "\0" in data else "\n"
    out: dict[str, str] = {}
    for item in data.split(sep):
        name, eq, value = item.partition("=")
        if eq and name:
            out[name] = value
    return out


# --- script directives ---------------------------------------------------------------

def script_directives(script: str) -> list[list[str]]:
    """The words of each ``#SBATCH`` line, up to the first command line of the script."""
    out: list[list[str]] = []
    for n, line in enumerate(script.splitlines()):
        if n == 0 and line.startswith("#!"):
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if line.startswith("#SBATCH"):
            out.append(_directive_words(line[len("#SBATCH"):]))
    return out


def _directive_words(text: str) -> list[str]:
    """Words as a shell would split them (quotes, backslashes); ``#`` starts a comment."""
    words: list[str] = []
    current: str | None = None
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < len(text):
                i += 1
                current = (current or "") + text[i]
            else:
                current = (current or "") + ch
        elif ch in "\"'":
            quote = ch
            current = current or ""
        elif ch == "\\" and i + 1 < len(text):
            i += 1
            current = (current or "") + text[i]
        elif ch.isspace():
            if current is not None:
                words.append(current)
            current = None
        elif ch == "#" and current is None:
            break
        else:
            current = (current or "") + ch
        i += 1
    if current is not None:
        words.append(current)
    return words


def check_script(script: str) -> None:
    """Slurm's checks on the script text itself."""
    if not script:
        raise _error("Batch script is empty!", 1)
    if script.strip() == "" or not script.startswith("#!"):
        raise OptionError([
            f"{PROG}: error: This does not look like a batch script.  The first",
            f"{PROG}: error: line must start with #! followed by the path to an interpreter.",
            f"{PROG}: error: For instance: #!/bin/sh",
        ], 1)
    if "\r\n" in script:
        raise OptionError([
            f"{PROG}: error: Batch script contains DOS line breaks (\\r\\n)",
            f"{PROG}: error: instead of expected UNIX line breaks (\\n).",
        ], 1)
    if "\0" in script:
        raise _error("The Slurm controller does not allow scripts that contain a NULL "
                     "character '\\0'.", 1)


def wrap_script(command: str) -> str:
    return f"{WRAP_HEADER}{command}\n"


# --- the whole thing -----------------------------------------------------------------

def parse_command_line(argv: Sequence[str], now: datetime | None = None,
                       prog: str = "sbatch") -> CommandLine:
    """Options of ``prog``'s command line (checked), the script path (salloc's and srun's
    command) and its arguments."""
    found, end = _scan(argv, stop_at_script=True, prog=prog)
    store: dict[str, Any] = {}
    for opt, value in found:
        _set(store, opt, value, now)
    rest = list(argv[end:])
    return CommandLine(store, rest[0] if rest else None, rest[1:])


def _script_options(script: str, now: datetime | None) -> dict[str, Any]:
    store: dict[str, Any] = {}
    for words in script_directives(script):
        found, _ = _scan(words, stop_at_script=False)
        for opt, value in found:
            _set(store, opt, value, now)
    return store


def _merge(*stores: dict[str, Any]) -> dict[str, Any]:
    """Later stores win; an option of an exclusive group drops the others of its group."""
    merged: dict[str, Any] = {}
    for store in stores:
        for group in _GROUPS:
            if group & store.keys():
                for key in group - store.keys():
                    merged.pop(key, None)
        merged.update(store)
    return merged


def parse_sbatch(argv: list[str], script_text: str | None, environ: Mapping[str, str],
                 cwd: str, *, now: datetime | None = None) -> SbatchRequest:
    """Everything sbatch knows before it talks to the controller.

    ``argv`` is sbatch's arguments (without the program name); ``script_text``
    the script already read (None with ``--wrap``, or to fail as sbatch does
    without one). Raises :class:`OptionError`. ``--begin`` times count from ``now``,
    else from when each is read.
    """
    line = parse_command_line(argv, now)
    cli = line.options
    env_opts = _prefixed_env_options("SBATCH_", LONG, environ, now)
    wrap = cli.get("wrap", env_opts.get("wrap"))
    if wrap is not None:
        if line.script_path is not None:
            raise _error("Script arguments not permitted with --wrap option", 1)
        script = wrap_script(wrap)
    else:
        script = script_text or ""
    check_script(script)
    opts = _merge(_script_options(script, now) if wrap is None else {}, env_opts, cli)
    work_dir = os.path.abspath(os.path.join(cwd, opts["chdir"]) if "chdir" in opts else cwd)
    desc = _job_desc(opts, script, work_dir, environ)
    desc["argv"] = list(line.script_args)
    desc["submit_dir"] = os.path.abspath(cwd)
    if line.script_path and line.script_path not in ("-", "/dev/stdin"):
        desc["command"] = os.path.abspath(os.path.join(cwd, line.script_path))
    if "name" not in desc:
        if wrap is not None:
            desc["name"] = "wrap"
        elif line.script_path and line.script_path not in ("-", "/dev/stdin"):
            desc["name"] = os.path.basename(line.script_path)
    return SbatchRequest(
        job_desc=desc, parsable=bool(opts.get("parsable")), quiet=bool(opts.get("quiet")),
        test_only=bool(opts.get("test_only")), wait=bool(opts.get("wait")),
        verbose=int(opts.get("verbose", 0)), clusters=opts.get("clusters"),
        script_path=line.script_path)


class SallocRequest:
    """What salloc sends (``job_desc``), the command it runs after, and how."""

    def __init__(self, job_desc: dict[str, Any], command: list[str], no_shell: bool,
                 kill_command: str | None, quiet: bool) -> None:
        self.job_desc = job_desc
        self.command = command
        self.no_shell = no_shell
        self.kill_command = kill_command  # -K's signal ("" for the default), None without -K
        self.quiet = quiet


def parse_salloc(argv: list[str], environ: Mapping[str, str], cwd: str,
                 default_command: Sequence[str], *,
                 now: datetime | None = None) -> SallocRequest:
    """salloc's request: an allocation (no script) and the command to run in it.

    Options as sbatch reads them, from the command line and ``SALLOC_*`` variables
    (the ``SBATCH_*`` names with salloc's prefix). With no command (and no
    ``--no-shell``) it is ``default_command``. Raises :class:`OptionError` (its lines
    name sbatch).
    """
    line = parse_command_line(argv, now, prog="salloc")
    opts = _merge(_prefixed_env_options("SALLOC_", SALLOC_LONG, environ, now), line.options)
    command = [line.script_path, *line.script_args] if line.script_path else []
    no_shell = bool(opts.get("no_shell"))
    if not command and not no_shell:
        command = list(default_command)
    return SallocRequest(allocation_desc(opts, command, cwd), command, no_shell,
                         opts.get("kill_command"), bool(opts.get("quiet")))


def srun_allocation(line: CommandLine, environ: Mapping[str, str], cwd: str, *,
                    now: datetime | None = None) -> dict[str, Any]:
    """The allocation srun asks for outside a job: its command line's options (``line``,
    from ``parse_command_line(argv, prog="srun")``) over ``SLURM_*`` input variables.
    Raises :class:`OptionError`."""
    command = [line.script_path, *line.script_args] if line.script_path else []
    opts = _merge(_prefixed_env_options("SLURM_", SRUN_LONG, environ, now), line.options)
    return allocation_desc(opts, command, cwd)


def _prefixed_env_options(prefix: str, table: Mapping[str, tuple[str, str, int, str]],
                          environ: Mapping[str, str], now: datetime | None) -> dict[str, Any]:
    """Options from the ``SBATCH_*`` input variables, or the same under another command's
    prefix (``SALLOC_``, ``SLURM_``), those of them ``table`` has."""
    store: dict[str, Any] = {}
    for var, long_name in ENV_OPTIONS.items():
        value = environ.get(prefix + var.removeprefix("SBATCH_"))
        if value is not None and long_name in table:
            opt = table[long_name]
            _set(store, opt, "" if opt[2] == 0 else value, now)
    return store


def allocation_desc(opts: Mapping[str, Any], command: Sequence[str],
                    cwd: str) -> dict[str, Any]:
    """The job description of an allocation (no script) for ``command``, named after it
    as salloc and srun do."""
    work_dir = os.path.abspath(os.path.join(cwd, opts["chdir"]) if "chdir" in opts else cwd)
    desc = _job_desc(opts, "", work_dir, {})  # the command runs in its own environment
    for key in ("script", "requeue", "test_only"):
        del desc[key]
    desc["allocation"] = True
    desc["submit_dir"] = os.path.abspath(cwd)
    if command:
        desc["command"] = " ".join(command)
        desc.setdefault("name", os.path.basename(command[0]))
    return desc


_PASS_THROUGH = ("name", "partition", "account", "qos", "dependency", "array", "constraint",
                 "exclude", "comment", "mail_type", "mail_user", "wckey", "reservation",
                 "stdout", "stderr", "stdin", "open_mode", "signal", "cpus_per_task",
                 "ntasks", "ntasks_per_node", "nice")


def _job_desc(opts: Mapping[str, Any], script: str, work_dir: str,
              environ: Mapping[str, str]) -> dict[str, Any]:
    env = resolve_export(opts.get("export"), environ)
    if "export_file" in opts:
        env.update(_export_file(opts["export_file"], work_dir))
    desc: dict[str, Any] = {"script": script, "cwd": work_dir, "environment": env}
    for key in _PASS_THROUGH:
        if key in opts:
            desc[key] = opts[key]
    if "nodes" in opts:
        desc["nodes_min"], desc["nodes_max"] = opts["nodes"]
    if "nodelist" in opts:
        desc["nodelist"] = _node_names(opts["nodelist"], work_dir)
    if "mem" in opts:
        desc["mem_per_node_mb"] = opts["mem"]
    if "mem_per_cpu" in opts:
        desc["mem_per_cpu_mb"] = opts["mem_per_cpu"]
    if "time" in opts:
        desc["time_limit_min"] = opts["time"]
    if "time_min" in opts:
        desc["time_min_min"] = opts["time_min"]
    if "begin" in opts:
        desc["begin_time"] = opts["begin"]
    gres = _gres(opts, desc.get("nodes_min"))
    if gres:
        desc["gres"] = gres
    for flag in ("hold", "exclusive", "test_only"):
        desc[flag] = bool(opts.get(flag))
    desc["requeue"] = True if "requeue" in opts else False if "no_requeue" in opts else None
    return desc


def _node_names(value: str, work_dir: str) -> str:
    """``-w`` takes names, or a file of names when the value holds a ``/``."""
    if "/" not in value:
        return value
    path = os.path.join(work_dir, value)
    try:
        with open(path) as f:
            return ",".join(f.read().split())
    except OSError:
        return value


def _gres(opts: Mapping[str, Any], nodes: int | None) -> str:
    """``--gres`` plus GPUs asked with ``--gpus-per-node``/``--gpus`` (spread over nodes)."""
    items = [g for g in str(opts.get("gres", "")).split(",") if g and g.lower() != "none"]
    if "gpus_per_node" in opts:
        items.append(f"gpu:{opts['gpus_per_node']}")
    elif "gpus" in opts:
        kind, _, count = str(opts["gpus"]).rpartition(":")
        if count.isdigit():
            per_node = -(-int(count) // max(1, nodes or 1))
            items.append(f"gpu:{kind}:{per_node}" if kind else f"gpu:{per_node}")
    return ",".join(items)
