"""``sacct``: accounting records of jobs and their steps (Slurm 22.05's options and output).

Pure part: :func:`build_rows` (job records → job and step rows) and :func:`render`
(rows → lines in fixed-width, ``-p`` or ``-P`` form). :func:`main` queries
``/api/accounting/jobs/``. Unknown options and stray arguments are rejected
(rc 1), as real sacct does: snakemake relies on that.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from drover.cli.formats import acct as af
from drover.cli.formats import values as v
from drover.cli.formats.engine import Column, parse_names
from drover.cli.jobids import JobSpec, parse_job_spec
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_job_ids, split_list

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
if TYPE_CHECKING:
    Row = dict[str, Any]


def rests_last(jobs: Sequence[Record]) -> list[Record]:
    """Each array's pending rest (``10_[2-8%2]``: the array's first record, so first by
    id) moved after the array's last task, where Slurm lists it (golden 120)."""
    def array(job: Record) -> object:
        return job.get("array_job_id")

    def rest(job: Record) -> bool:
        return bool(job.get("array_task_str")) and array(job) is not None

    last = {array(j): i for i, j in enumerate(jobs) if array(j) is not None and not rest(j)}
    held = {array(j): j for j in jobs if rest(j) and array(j) in last}
    out: list[Record] = []
    for i, job in enumerate(jobs):
        if not (rest(job) and array(job) in held):
            out.append(job)
        if array(job) in held and last[array(job)] == i:
            out.append(held[array(job)])
    return out


def build_rows(jobs: Sequence[Record], *, allocations: bool = False,
               specs: Sequence[JobSpec] = (), states: set[str] | None = None,
               names: Sequence[str] = (), units: v.Units = v.EXACT) -> list[Row]:
    """One row per job, followed by its step rows unless ``allocations`` (``-X``); each
    row prints its sizes in ``units``."""
    rows: list[Row] = []
    for job in jobs:
        if states and v.state(job) not in states:
            continue
        if names and str(job.get("name")) not in names:
            continue
        matching = [s for s in specs if s.matches(job)] if specs else []
        if specs and not matching:
            continue
        only_steps = {s.step for s in matching if s.step is not None}
        whole = not matching or any(s.step is None for s in matching)
        if whole:
            rows.append({"job": job, "step": None, "units": units})
        if allocations:
            continue
        for step in job.get("steps") or []:
            if isinstance(step, dict) and (whole or str(step.get("step")) in only_steps):
                rows.append({"job": job, "step": step, "units": units})
    return rows


def columns_for(spec: str) -> tuple[list[Column], list[str]]:
    return parse_names(spec, af.FIELDS, width_mark="%", plain_right=True, overflow="+")


def render(rows: Sequence[Row], columns: Sequence[Column], *, header: bool = True,
           parsable: bool = False, parsable2: bool = False, delimiter: str = "|") -> list[str]:
    """sacct's three layouts: fixed width (with a ``---`` line), ``-p`` and ``-P``."""
    lines: list[str] = []
    if parsable or parsable2:
        tail = delimiter if parsable else ""
        if header:
            lines.append(delimiter.join(c.field.header for c in columns) + tail)
        for row in rows:
            lines.append(delimiter.join(c.field.get(row) for c in columns) + tail)
        return lines
    if header:
        lines.append("".join(c.cell(c.field.header) + " " for c in columns))
        lines.append("".join("-" * c.width + " " for c in columns))
    for row in rows:
        lines.append("".join(c.cell(c.field.get(row)) + " " for c in columns))
    return lines


# --- json -------------------------------------------------------------------------------

def _status(pair: tuple[int, int]) -> dict[str, Any]:
    rc, sig = pair
    if sig:
        return {"status": "SIGNALED", "return_code": rc, "signal": {"signal_id": sig}}
    return {"status": "SUCCESS" if rc == 0 else "FAILED", "return_code": rc}


def job_json(job: Record) -> dict[str, Any]:
    steps = []
    for s in job.get("steps") or []:
        if not isinstance(s, dict):
            continue
        steps.append({
            "step": {"job_id": v.num(job, "job_id"), "id": f"{job.get('job_id')}.{s.get('step')}",
                     "name": str(s.get("step"))},
            "state": str(s.get("state") or ""), "exit_code": _status(v.exit_pair(s)),
            "nodes": {"range": s.get("nodes") or ""},
            "time": {"start": s.get("start_time") or 0, "end": s.get("end_time") or 0},
            "statistics": {"CPU": {"actual_frequency": 0}},
        })
    return {
        "account": job.get("account") or "",
        "array": {"job_id": v.array_job_id(job) if v.is_array(job) else 0,
                  "task_id": job.get("array_task_id"),
                  "task": v.array_task_range(job) if job.get("array_task_str") else None},
        "cluster": job.get("cluster") or "drover",
        "derived_exit_code": _status(v.exit_pair(job, "derived_exit_code")),
        "exit_code": _status(v.exit_pair(job)),
        "group": job.get("group") or "", "job_id": v.num(job, "job_id"),
        "name": job.get("name") or "", "nodes": job.get("nodes") or "None assigned",
        "partition": job.get("partition") or "", "priority": v.num(job, "priority"),
        "qos": job.get("qos") or "", "user": job.get("user") or "",
        "state": {"current": v.state(job), "reason": v.reason(job)},
        "time": {"elapsed": v.num(job, "run_time_s"), "eligible": job.get("eligible_time") or 0,
                 "end": job.get("end_time") or 0, "start": job.get("start_time") or 0,
                 "submission": job.get("submit_time") or 0, "limit": job.get("time_limit_min")},
        "working_directory": job.get("work_dir") or "",
        "kill_request_user": None if job.get("cancelled_by") is None
        else str(job.get("cancelled_by")),
        "steps": steps,
    }


def render_json(jobs: Sequence[Record]) -> str:
    import json  # only for --json: json imports re at start-up

    from drover.cli.squeue import meta_json

    return json.dumps({"meta": meta_json("openapi/dbv0.0.38", "Slurm OpenAPI DB v0.0.38"),
                       "errors": [], "jobs": [job_json(j) for j in jobs]}, indent=2)


# --- command line ---------------------------------------------------------------------

def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sacct", add_help=False)
    add_version(p)
    p.add_argument("-h", "--help", action="help")
    p.add_argument("-a", "--allusers", action="store_true")
    p.add_argument("-A", "--accounts", action="append")
    p.add_argument("-b", "--brief", action="store_true")
    p.add_argument("-B", "--batch-script", action="store_true")
    p.add_argument("-c", "--completion", action="store_true")
    p.add_argument("-D", "--duplicates", action="store_true")
    p.add_argument("--delimiter", default="|")
    p.add_argument("-e", "--helpformat", action="store_true")
    p.add_argument("-E", "--endtime")
    p.add_argument("--env-vars", action="store_true")
    p.add_argument("-f", "--file")
    p.add_argument("-F", "--flags")
    p.add_argument("-g", "--gid", "--group", dest="group", action="append")
    p.add_argument("-i", "--nnodes")
    p.add_argument("-I", "--ncpus")
    p.add_argument("-j", "--jobs", action="append")
    p.add_argument("--json", action="store_true")
    p.add_argument("--yaml", action="store_true")
    p.add_argument("-k", "--timelimit-min")
    p.add_argument("-K", "--timelimit-max")
    p.add_argument("-l", "--long", action="store_true")
    p.add_argument("-L", "--allclusters", action="store_true")
    p.add_argument("--local", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("--name", action="append")
    p.add_argument("--noconvert", action="store_true")
    p.add_argument("-N", "--nodelist")
    p.add_argument("-o", "--format", "--fields", dest="format", action="append")
    p.add_argument("-p", "--parsable", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("-q", "--qos", action="append")
    p.add_argument("-r", "--partition", action="append")
    p.add_argument("-R", "--reason")
    p.add_argument("-s", "--state", action="append")
    p.add_argument("-S", "--starttime")
    p.add_argument("-T", "--truncate", action="store_true")
    p.add_argument("-u", "--user", "--uid", dest="user", action="append")
    p.add_argument("--units")
    p.add_argument("--usage", action="store_true")
    p.add_argument("--use-local-uid", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-W", "--wckeys")
    p.add_argument("-x", "--associations")
    p.add_argument("-X", "--allocations", action="store_true")
    return p


def _epoch(text: str) -> int:
    from drover.timefmt import parse_timestamp

    return int(parse_timestamp(text).timestamp())


def api_params(args: Any, specs: Sequence[JobSpec], states: set[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    users = split_list(args.user)
    if users:
        params["user"] = ",".join(users)
    if args.allusers:
        params["all_users"] = "1"
    if specs:
        params["job"] = ",".join(dict.fromkeys(
            s.api_id() if s.tasks is not None and len(s.tasks) == 1 else str(s.job_id)
            for s in specs))
    if states:
        params["state"] = ",".join(sorted(v.JOB_STATE_CODES[s] for s in states))
    names = split_list(args.name)
    if names:
        params["name"] = ",".join(names)
    parts = split_list(args.partition)
    if parts:
        params["partition"] = ",".join(parts)
    if args.starttime:
        params["start"] = str(_epoch(args.starttime))
    elif states and not specs:
        # -s without -S: the jobs in those states now (sacct's man page; golden 122)
        params["start"] = str(int(time.time()))
    elif not specs:
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0,
                                                       microsecond=0)
        params["start"] = str(int(midnight.timestamp()))
    if args.endtime:
        params["end"] = str(_epoch(args.endtime))
    return params


if TYPE_CHECKING:
    Fetch = Callable[[Mapping[str, str]], list[Record]]


def fetch_jobs(params: Mapping[str, str]) -> list[Record]:
    from drover.cli.common import client

    answer = client().get("/api/accounting/jobs/", params=dict(params))
    return [j for j in answer.get("jobs", []) if isinstance(j, dict)]


def _field_spec(args: Any) -> str:
    if args.format:
        return ",".join(args.format)
    if args.brief:
        return "JobID,State,ExitCode"
    return af.LONG_FIELDS if args.long else af.DEFAULT_FIELDS


def _helpformat() -> str:
    names = sorted(af.FIELDS, key=str.lower)
    rows = [names[i:i + 4] for i in range(0, len(names), 4)]
    return "\n".join("".join(n.ljust(20) for n in row).rstrip() for row in rows) + "\n"


def size_units(letter: str | None, noconvert: bool) -> v.Units | None:
    """``--units=[KMGTP]`` (its first letter, any case, as Slurm's ``get_unit_type``),
    which overrides ``--noconvert``. None, after Slurm's two messages, when the letter
    names no unit (sacct then exits 1)."""
    if letter is None:
        return v.Units(convert=not noconvert)
    to = "KMGTP".find(letter[:1].upper()) + 1 if letter else 0
    if to:
        return v.Units(to)
    print(f"sacct: error: Invalid unit type '{letter[:1]}'. Possible options are 'KMGTP'",
          file=sys.stderr)
    print("sacct: fatal: Invalid unit type", file=sys.stderr)
    return None


def main(argv: Sequence[str] | None = None, fetch: Fetch | None = None) -> int:
    args = build_parser().parse_args(argv)
    fetch = fetch or fetch_jobs
    units = size_units(args.units, args.noconvert)
    if units is None:
        return 1
    if args.helpformat:
        sys.stdout.write(_helpformat())
        return 0
    specs: list[JobSpec] = []
    for text in split_job_ids(args.jobs):
        try:
            specs.append(parse_job_spec(text))
        except ValueError:
            print(f"sacct: error: Invalid job id: {text}", file=sys.stderr)
            return 1
    states: set[str] = set()
    for word in split_list(args.state):
        st = v.normalize_job_state(word)
        if st is None:
            print(f"sacct: error: Invalid state: {word}", file=sys.stderr)
            return 1
        states.add(st)
    columns, unknown = columns_for(_field_spec(args))
    if unknown:
        print(f"sacct: error: Invalid field requested: \"{unknown[0]}\"", file=sys.stderr)
        return 1
    from drover.cli.squeue import api_errors, describe_error
    from drover.timefmt import TimeFormatError

    try:
        params = api_params(args, specs, states)
    except TimeFormatError as exc:
        print(f"sacct: error: {exc}", file=sys.stderr)
        return 1
    try:
        jobs = fetch(params)
    except api_errors() as exc:
        print(f"sacct: error: {describe_error(exc)}", file=sys.stderr)
        return 1
    if args.json or args.yaml:
        sys.stdout.write(render_json(jobs))
        return 0
    rows = build_rows(rests_last(jobs), allocations=args.allocations, specs=specs, states=states,
                      names=split_list(args.name), units=units)
    lines = render(rows, columns, header=not args.noheader, parsable=args.parsable,
                   parsable2=args.parsable2, delimiter=args.delimiter)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
