"""``squeue``: list jobs in the queue (Slurm 22.05's options and output).

The pure part is :func:`select_jobs` + :func:`render_jobs` (records in, lines out);
:func:`main` parses options, asks the controller (``GET /api/jobs/``) and prints.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence

from drover.cli.formats import jobs as jf
from drover.cli.formats import values as v
from drover.cli.formats.engine import Layout, parse_names, parse_percent
from drover.cli.jobids import JobSpec, expand_task_range, parse_job_spec
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_job_ids, split_list

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]


class Query:
    """What to show: the filters of the command line, already split and normalized.

    A plain class: ``dataclasses`` would cost every squeue run ~10 ms.
    """

    def __init__(self) -> None:
        self.users: list[str] = []
        self.jobs: list[JobSpec] = []
        self.partitions: list[str] = []
        self.names: list[str] = []
        self.accounts: list[str] = []
        self.qos: list[str] = []
        self.states: set[str] | None = None  # None: the default (active) set; empty: all
        self.pending_only = False

    def all_states(self) -> bool:
        return self.states is not None and not self.states or bool(self.jobs and not self.states)


def parse_states(text: str) -> set[str]:
    """``-t PD,running`` → {"PENDING", "RUNNING"}; ``all`` → the empty set (no filter)."""
    out: set[str] = set()
    for word in split_list(text):
        if word.lower() == "all":
            return set()
        st = v.normalize_job_state(word)
        if st is None:
            raise ValueError(word)
        out.add(st)
    return out


def _matches(q: Query, r: Record) -> bool:
    st = v.state(r)
    if q.states is None:
        if not q.jobs and st not in v.ACTIVE_STATES:
            return False
    elif q.states and st not in q.states:
        return False
    if q.pending_only and st != "PENDING":
        return False
    if q.users and str(r.get("user")) not in q.users and str(r.get("uid")) not in q.users:
        return False
    if q.partitions and not set(str(r.get("partition") or "").split(",")) & set(q.partitions):
        return False
    if q.names and str(r.get("name")) not in q.names:
        return False
    if q.accounts and str(r.get("account")) not in q.accounts:
        return False
    if q.qos and str(r.get("qos")) not in q.qos:
        return False
    return not q.jobs or any(s.matches(r) for s in q.jobs)


def expand_arrays(records: Sequence[Record], only: Sequence[JobSpec] = ()) -> list[Record]:
    """``-r``: one record per pending array task instead of ``10_[2-9%2]``."""
    out: list[Record] = []
    for r in records:
        rest = r.get("array_task_str")
        if r.get("array_task_id") is None and rest:
            try:
                tasks = expand_task_range(str(rest))
            except ValueError:
                out.append(r)
                continue
            for t in tasks:
                task = {**r, "array_task_id": t, "array_task_str": None}
                if not only or any(s.matches(task) for s in only):
                    out.append(task)
        else:
            out.append(r)
    return out


def select_jobs(records: Sequence[Record], q: Query, array: bool = False) -> list[Record]:
    chosen = [r for r in records if _matches(q, r)]
    return expand_arrays(chosen, q.jobs) if array else chosen


# --- sorting (-S) --------------------------------------------------------------------

def _num_key(key: str) -> Callable[[Record], Any]:
    return lambda r: v.num(r, key)


_SORT_KEYS: dict[str, Callable[[Record], Any]] = {
    "i": lambda r: (v.array_job_id(r), v.num(r, "array_task_id", -1)),
    "A": _num_key("job_id"),
    "p": _num_key("priority"), "Q": _num_key("priority"),
    "D": _num_key("num_nodes"), "C": _num_key("num_cpus"),
    "M": _num_key("run_time_s"), "l": _num_key("time_limit_min"),
    "S": lambda r: v.num(r, "start_time") or v.num(r, "sched_start_time"),
    "e": _num_key("end_time"), "V": _num_key("submit_time"),
    "y": _num_key("nice"),
}


def sort_jobs(records: Sequence[Record], spec: str) -> list[Record]:
    """Slurm's ``-S``: comma list of field letters, ``-`` for descending; stable."""
    out = list(records)
    for key in reversed(split_list(spec)):
        desc = key.startswith("-")
        letter = key.lstrip("+-")[:1]
        fn = _SORT_KEYS.get(letter)
        if fn is None:
            fld = jf.LETTERS.get(letter)
            if fld is None:
                continue
            fn = fld.get
        out.sort(key=fn, reverse=desc)
    return out


# --- formatting ----------------------------------------------------------------------

def build_layout(fmt: str | None, fmt_names: str | None, long: bool = False,
                 start: bool = False) -> tuple[Layout, list[str]]:
    """The layout for ``-o``/``-O``/``-l``/``--start``; and error lines for bad fields."""
    if fmt_names:
        cols, unknown = parse_names(fmt_names, jf.NAMES, width_mark=":", default_width=20)
        return Layout(cols), [f"Invalid job format field: {u}" for u in unknown]
    if fmt is None:
        fmt = jf.START_FORMAT if start else jf.LONG_FORMAT if long else jf.DEFAULT_FORMAT
    layout, bad = parse_percent(fmt, jf.LETTERS)
    return layout, [f"Invalid job format specification: {b}" for b in bad]


def render_jobs(records: Sequence[Record], layout: Layout, header: bool = True) -> list[str]:
    return layout.render(records, header)


def default_sort(start: bool) -> str:
    return "S" if start else "P,t,-p"


# --- json ---------------------------------------------------------------------------

def job_json(r: Record) -> dict[str, Any]:
    """One job in the shape of slurmrestd v0.0.38 (what ``squeue --json`` prints)."""
    rc, sig = v.exit_pair(r)
    drc, _ = v.exit_pair(r, "derived_exit_code")
    arr = v.is_array(r)
    return {
        "account": r.get("account") or "",
        "array_job_id": v.array_job_id(r) if arr else 0,
        "array_task_id": r.get("array_task_id"),
        "array_max_tasks": v.array_throttle(r),
        "array_task_string": (v.array_task_range(r) or "") if r.get("array_task_str") else "",
        "batch_flag": r.get("batch_flag") is not False,
        "batch_host": r.get("batch_host") or "",
        "cluster": r.get("cluster") or "",
        "command": r.get("command") or "",
        "comment": r.get("comment") or "",
        "cpus_per_task": r.get("cpus_per_task"),
        "dependency": r.get("dependency") or "",
        "derived_exit_code": drc,
        "eligible_time": v.num(r, "eligible_time"),
        "end_time": v.num(r, "end_time"),
        "excluded_nodes": r.get("exc_nodes") or "",
        "exit_code": rc if not sig else 128 + sig,
        "features": r.get("constraint") or "",
        "group_id": r.get("gid"),
        "group_name": r.get("group") or "",
        "job_id": v.num(r, "job_id"),
        "job_state": v.state(r),
        "name": r.get("name") or "",
        "nodes": r.get("nodes") or "",
        "nice": r.get("nice"),
        "cpus": r.get("num_cpus"),
        "node_count": r.get("num_nodes"),
        "tasks": r.get("num_tasks"),
        "partition": r.get("partition") or "",
        "memory_per_node": r.get("mem_per_node_mb"),
        "memory_per_cpu": r.get("mem_per_cpu_mb"),
        "priority": v.num(r, "priority"),
        "qos": r.get("qos") or "",
        "required_nodes": r.get("req_nodes") or "",
        "requeue": r.get("requeue") is not False,
        "restart_cnt": v.num(r, "restarts"),
        "start_time": v.num(r, "start_time"),
        "state_reason": v.reason(r),
        "standard_error": r.get("stderr") or "",
        "standard_input": r.get("stdin") or "",
        "standard_output": r.get("stdout") or "",
        "submit_time": v.num(r, "submit_time"),
        "time_limit": r.get("time_limit_min"),
        "user_id": r.get("uid"),
        "user_name": r.get("user") or "",
        "current_working_directory": r.get("work_dir") or "",
    }


def meta_json(plugin: str = "openapi/v0.0.38",
              name: str = "Slurm OpenAPI v0.0.38") -> dict[str, Any]:
    return {"plugin": {"type": plugin, "name": name},
            "Slurm": {"version": {"major": 22, "micro": 8, "minor": 5}, "release": "22.05.8"}}


def render_json(records: Sequence[Record]) -> str:
    import json  # only for --json: json imports re at start-up

    return json.dumps({"meta": meta_json(), "errors": [],
                       "jobs": [job_json(r) for r in records]}, indent=2)


# --- command line ---------------------------------------------------------------------

def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("squeue", add_help=False)
    add_version(p)
    p.add_argument("-A", "--account", action="append")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-r", "--array", action="store_true")
    p.add_argument("--array-unique", action="store_true")
    p.add_argument("-h", "--noheader", action="store_true")
    p.add_argument("--help", action="help")
    p.add_argument("--hide", action="store_true")
    p.add_argument("-i", "--iterate", type=int)
    p.add_argument("-j", "--jobs", action="append", nargs="?", const="")
    p.add_argument("--json", action="store_true")
    p.add_argument("--yaml", action="store_true")
    p.add_argument("-L", "--licenses")
    p.add_argument("-l", "--long", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("--me", action="store_true")
    p.add_argument("-n", "--name", action="append")
    p.add_argument("--noconvert", action="store_true")
    p.add_argument("-o", "--format")
    p.add_argument("-O", "--Format")
    p.add_argument("--only-job-state", action="store_true")
    p.add_argument("-p", "--partition", action="append")
    p.add_argument("-P", "--priority", action="store_true")
    p.add_argument("-q", "--qos", action="append")
    p.add_argument("-R", "--reservation")
    p.add_argument("-S", "--sort")
    p.add_argument("-s", "--steps", action="append", nargs="?", const="")
    p.add_argument("--start", action="store_true")
    p.add_argument("-t", "--states")
    p.add_argument("-u", "--user", action="append")
    p.add_argument("--usage", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-w", "--nodelist", action="append")
    p.add_argument("--federation", action="store_true")
    p.add_argument("--local", action="store_true")
    p.add_argument("--sibling", action="store_true")
    return p


def make_query(args: Any) -> Query:
    """Build the query; ValueError names a bad job id or state."""
    q = Query()
    users = split_list(args.user)
    if args.me:
        import getpass  # only for --me: it costs ~5 ms to import

        users.append(getpass.getuser())
    q.users = users
    q.jobs = [parse_job_spec(j) for j in split_job_ids(args.jobs)]
    q.partitions = split_list(args.partition)
    q.names = split_list(args.name)
    q.accounts = split_list(args.account)
    q.qos = split_list(args.qos)
    if args.states is not None:
        q.states = parse_states(args.states)
    q.pending_only = bool(args.start)
    return q


def unknown_users(users: Sequence[str]) -> list[str]:
    """The names of ``users`` that are neither a uid nor a user of this host."""
    import pwd

    out = []
    for user in users:
        if user.isdigit():
            continue
        try:
            pwd.getpwnam(user)
        except KeyError:
            out.append(user)
    return out


def api_params(q: Query) -> dict[str, str]:
    params: dict[str, str] = {}
    if q.users:
        params["user"] = ",".join(q.users)
    if q.jobs:
        params["job"] = ",".join(str(s.job_id) for s in q.jobs)
    if q.partitions:
        params["partition"] = ",".join(q.partitions)
    if q.names:
        params["name"] = ",".join(q.names)
    if q.states:
        params["state"] = ",".join(sorted(v.JOB_STATE_CODES[s] for s in q.states))
    if q.all_states() or (q.states and not q.states <= v.ACTIVE_STATES):
        params["all_states"] = "1"
    return params


# The record keys each filter of a Query reads (``_matches``).
_FILTER_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user", "uid"), "partitions": ("partition",), "names": ("name",),
    "accounts": ("account",), "qos": ("qos",),
}


def wanted_keys(args: Any, q: Query, layout: Layout) -> list[str] | None:
    """The record keys this run reads (filters, sort, columns); None: all of them.

    squeue sends them as ``fields=`` and gets the compact answer: a tenth of the
    bytes of 1,000 whole records, and less work on both sides.
    """
    if args.json or args.yaml or args.sort:
        return None
    keys = set(jf.BASE_KEYS)
    for attr, filter_keys in _FILTER_KEYS.items():
        if getattr(q, attr):
            keys.update(filter_keys)
    if args.start:
        keys.update(("start_time", "sched_start_time"))  # its default sort
    else:
        keys.update(jf.DEFAULT_SORT_KEYS)
    for col in layout.columns:
        if col.field.keys is None:
            return None
        keys.update(col.field.keys)
    return sorted(keys)


def fetch_jobs(params: Mapping[str, str]) -> list[Record]:
    """``GET /api/jobs/``: whole records, or with ``fields`` the compact answer
    (``{"fields": [...], "rows": [[...], ...]}``) turned back into records."""
    from drover.cli.common import client

    answer = client().get("/api/jobs/", params=dict(params))
    if not isinstance(answer, dict):
        return []
    if "rows" in answer:
        names = answer.get("fields") or []
        return [dict(zip(names, row, strict=False)) for row in answer["rows"]
                if isinstance(row, list)]
    return [j for j in answer.get("jobs", []) if isinstance(j, dict)]


def describe_error(exc: Exception) -> str:
    """Slurm's words for a failed request: the controller's error, or "Unable to contact"."""
    from drover.api import ApiError
    from drover.cli.common import UNREACHABLE

    return exc.error if isinstance(exc, ApiError) else UNREACHABLE


def api_errors() -> tuple[type[Exception], ...]:
    """The client's failure exceptions (imported only when something failed)."""
    from drover.api import ApiError, ApiUnreachable

    return (ApiError, ApiUnreachable)


if TYPE_CHECKING:
    Fetch = Callable[[Mapping[str, str]], list[Record]]


def run_once(args: Any, q: Query, layout: Layout, fetch: Fetch) -> int:
    params = api_params(q)
    keys = wanted_keys(args, q, layout)
    if keys is not None:
        params["fields"] = ",".join(keys)
    try:
        records = fetch(params)
    except api_errors() as exc:
        print(f"slurm_load_jobs error: {describe_error(exc)}", file=sys.stderr)
        return 1
    jobs = select_jobs(records, q, array=args.array)
    if len(q.jobs) == 1 and not jobs and not (args.json or args.yaml):
        print("slurm_load_jobs error: Invalid job id specified", file=sys.stderr)
        return 1
    jobs = sort_jobs(jobs, args.sort or default_sort(args.start))
    if args.json or args.yaml:
        sys.stdout.write(render_json(jobs))
        sys.stdout.flush()
        return 0
    lines = []
    if args.long and not args.noheader:
        lines.append(time.ctime())
    lines += render_jobs(jobs, layout, header=not args.noheader)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None, fetch: Fetch | None = None) -> int:
    """The command; ``fetch`` (params → job records) replaces the controller in tests."""
    fetch = fetch or fetch_jobs
    args = build_parser().parse_args(argv)
    if args.steps is not None:
        from drover.cli.squeue_steps import main_steps

        return main_steps(args, fetch)
    try:
        q = make_query(args)
    except ValueError as exc:
        if args.states is not None and any(
                v.normalize_job_state(w) is None and w.lower() != "all"
                for w in split_list(args.states)):
            print(f"squeue: error: Invalid job state specified: {exc}", file=sys.stderr)
        else:
            print(f"squeue: error: Invalid job id: {exc}", file=sys.stderr)
        return 1
    for user in unknown_users(q.users):  # said, then filtered on (matching no job)
        print(f"squeue: error: Invalid user: {user}\n", file=sys.stderr)
    layout, errors = build_layout(args.format, args.Format, args.long, args.start)
    for e in errors:
        print(f"squeue: error: {e}", file=sys.stderr)
    return repeat(lambda: run_once(args, q, layout, fetch), args.iterate)


def repeat(once: Callable[[], int], every: int | None) -> int:
    """``once()``, and with ``-i`` again every ``every`` seconds until it fails or ^C."""
    if not every:
        return once()
    try:
        while True:
            rc = once()
            if rc:
                return rc
            print()
            time.sleep(max(every, 1))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
