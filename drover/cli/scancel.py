"""``scancel``: cancel or signal jobs (Slurm 22.05's options and messages).

``scancel 12 10_3 10 -s USR2``; filters ``-u -n -t -p -A -q -w --me`` pick jobs from
the queue. A job that is unknown or already finished is not an error (real
scancel is silent and exits 0; ``-v`` reports it). Never waits on the jobs.

``scancel 12.0`` acts on step 0 alone: the id goes to the controller as it is,
and a step the controller cannot find or address is reported and fails, as
22.05's ``_cancel_step_id`` reports it ("Kill job error on job step id ...").
As in 22.05, a step id is a number (``12.batch`` is an invalid job id).
"""

from __future__ import annotations

import signal as _signal
import sys
from collections.abc import Callable, Mapping, Sequence

from drover.cli.formats import values as v
from drover.cli.jobids import JobSpec, parse_job_spec, task_range
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_job_ids, split_list

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
# errors real scancel keeps quiet about unless -v (an unknown id: only a job's)
_UNKNOWN = "Invalid job id specified"
_DONE = "Job/step already completing or completed"


def parse_signal(text: str) -> tuple[str, int]:
    """``USR2``/``SIGUSR2``/``12``/``sigterm`` → ("USR2", 12). ValueError if unknown."""
    t = text.strip().upper()
    if t.isdigit():
        num = int(t)
        try:
            return _signal.Signals(num).name.removeprefix("SIG"), num
        except ValueError:
            raise ValueError(text) from None
    name = t.removeprefix("SIG")
    try:
        return name, int(_signal.Signals["SIG" + name])
    except KeyError:
        raise ValueError(text) from None


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("scancel", add_help=False)
    add_version(p)
    p.add_argument("--help", action="help")
    p.add_argument("ids", nargs="*")
    p.add_argument("-A", "--account", action="append")
    p.add_argument("-b", "--batch", action="store_true")
    p.add_argument("-c", "--cron", action="store_true")
    p.add_argument("-f", "--full", action="store_true")
    p.add_argument("-H", "--hurry", action="store_true")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("--me", action="store_true")
    p.add_argument("-n", "--name", "--jobname", dest="name", action="append")
    p.add_argument("-p", "--partition", action="append")
    p.add_argument("-q", "--qos", action="append")
    p.add_argument("-Q", "--quiet", action="store_true")
    p.add_argument("-R", "--reservation")
    p.add_argument("--sibling")
    p.add_argument("-s", "--signal")
    p.add_argument("-t", "--state", action="append")
    p.add_argument("-u", "--user", action="append")
    p.add_argument("--usage", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-w", "--nodelist", action="append")
    p.add_argument("--wckey")
    return p


def _filters(args: Any) -> dict[str, list[str]]:
    users = split_list(args.user)
    if args.me:
        import getpass  # only for --me: it costs ~5 ms to import

        users.append(getpass.getuser())
    return {k: vals for k, vals in {
        "user": users, "name": split_list(args.name), "state": split_list(args.state),
        "partition": split_list(args.partition), "account": split_list(args.account),
        "qos": split_list(args.qos), "nodelist": split_list(args.nodelist),
    }.items() if vals}


def _record_matches(r: Record, f: Mapping[str, list[str]]) -> bool:
    if "user" in f and str(r.get("user")) not in f["user"] and str(r.get("uid")) not in f["user"]:
        return False
    if "name" in f and str(r.get("name")) not in f["name"]:
        return False
    if "state" in f:
        wanted = {v.normalize_job_state(s) for s in f["state"]}
        if v.state(r) not in wanted:
            return False
    for key in ("partition", "account", "qos"):
        if key in f and str(r.get(key)) not in f[key]:
            return False
    if "nodelist" in f:
        from drover.hostlist import expand

        have = set(expand(str(r.get("nodes") or ""))) if r.get("nodes") else set()
        want = {n for expr in f["nodelist"] for n in expand(expr)}
        if not have & want:
            return False
    return True


def targets(specs: Sequence[JobSpec], filters: Mapping[str, list[str]],
            queue: Sequence[Record] | None) -> list[str]:
    """The ids to act on, in order: named ids (each task of ``10_[1-3]``), or the jobs of
    the queue that pass the filters (and the named ids, when both are given)."""
    if not filters:
        return [_with_step(i, s.step) for s in specs for i in s.api_ids()]
    out: list[str] = []
    for r in queue or []:
        if not _record_matches(r, filters):
            continue
        named = [s for s in specs if s.matches(r)]
        if specs and not named:
            continue
        ident = str(v.num(r, "job_id"))
        if r.get("array_task_id") is not None:
            ident = f"{v.array_job_id(r)}_{r['array_task_id']}"
        elif r.get("array_task_str"):  # an array's pending rest, not its running tasks
            ident = f"{v.array_job_id(r)}_[{task_range(str(r['array_task_str']))}]"
        for step in [s.step for s in named] or [None]:
            full = _with_step(ident, step)
            if full not in out:
                out.append(full)
    return out


def _with_step(ident: str, step: str | None) -> str:
    return ident if step is None else f"{ident}.{step}"


# (job id, signal or None to cancel, scope: "steps", "batch" (-b) or "full" (-f))
Signal = Callable[[str, str | None, str], None]
if TYPE_CHECKING:
    Queue = Callable[[Mapping[str, str]], list[Record]]


def _api_signal(job_id: str, sig: str | None, scope: str) -> None:
    from drover.cli.common import client

    client().post(f"/api/jobs/{job_id}/signal/", {"signal": sig, "scope": scope})


def _api_queue(params: Mapping[str, str]) -> list[Record]:
    from drover.cli.squeue import fetch_jobs

    return fetch_jobs(params)


def main(argv: Sequence[str] | None = None, send: Signal | None = None,
         queue: Queue | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)  # getopt: ids and options mixed
    send = send or _api_signal
    queue = queue or _api_queue
    specs: list[JobSpec] = []
    for text in split_job_ids(args.ids):
        try:
            spec = parse_job_spec(text)
            if spec.step is not None and not spec.step.isdecimal():
                raise ValueError(text)
        except ValueError:
            print(f"scancel: error: Invalid job id {text}", file=sys.stderr)
            return 1
        specs.append(spec)
    sig: str | None = None
    num = 9
    if args.signal is not None:
        try:
            sig, num = parse_signal(args.signal)
        except ValueError:
            print(f"scancel: error: Invalid job signal: {args.signal}", file=sys.stderr)
            return 1
    filters = _filters(args)
    for s in filters.get("state", []):
        if v.normalize_job_state(s) is None:
            print(f"scancel: error: Invalid job state specified: {s}", file=sys.stderr)
            return 1
    from drover.cli.squeue import api_errors, describe_error, unknown_users

    for user in unknown_users(filters.get("user", [])):
        print(f"scancel: error: Invalid user name: {user}", file=sys.stderr)
        return 1
    if not specs and not filters:
        print("scancel: error: No job identification provided", file=sys.stderr)
        return 1

    records: list[Record] | None = None
    if filters:
        params = {k: ",".join(vals) for k, vals in filters.items()
                  if k in ("user", "name", "partition")}
        try:
            records = queue(params)
        except api_errors() as exc:
            print(f"scancel: error: {describe_error(exc)}", file=sys.stderr)
            return 1
    # A signal reaches the job's steps only, unless -b (the batch shell alone) or -f
    # (the shell, its children and the steps); -f wins over -b, as in Slurm.
    scope = "full" if args.full else "batch" if args.batch else "steps"
    rc = 0
    for job_id in targets(specs, filters, records):
        step = "." in job_id
        if args.verbose:
            verb = ("Terminating step" if step and sig in (None, "KILL") else
                    f"Signal {num} to step" if step else
                    "Terminating job" if sig is None else
                    f"Signal {num} to batch job" if scope == "batch" else f"Signal {num} to job")
            print(f"scancel: {verb} {job_id}", file=sys.stderr)
        try:
            send(job_id, sig, scope)
        except api_errors() as exc:
            text = describe_error(exc)
            benign = text == _DONE or (text == _UNKNOWN and not step)
            if not args.quiet and (args.verbose or not benign):
                what = "job step id" if step else "job id"
                print(f"scancel: error: Kill job error on {what} {job_id}: {text}",
                      file=sys.stderr)
            if not benign:
                rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
