"""``squeue -s/--steps[=LIST]``: the running job steps (Slurm 22.05's ``_print_job_steps``).

The steps come with the job records of one ``GET /api/jobs/`` (running jobs only);
``squeue/print.c`` ``_filter_step`` chooses among them by -j, -p, the step list,
-w and -u (-A, -n, -q and -t have no effect on steps), and the header is printed
even when no step is left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from drover.cli.formats import steps as sf
from drover.cli.formats.engine import Layout, parse_names, parse_percent
from drover.cli.jobids import JobSpec, parse_job_spec
from drover.cli.slurmargs import split_job_ids, split_list
from drover.cli.squeue import (
    Query,
    api_errors,
    api_params,
    describe_error,
    repeat,
    unknown_users,
)

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from drover.cli.formats.engine import Record
    from drover.cli.squeue import Fetch

_RUNNING = {"RUNNING", "SUSPENDED", "COMPLETING"}  # the jobs that can have running steps


class StepQuery:
    """The step filters of the command line; ValueError names a bad step id."""

    def __init__(self, args: Any) -> None:
        self.jobs = [parse_job_spec(j) for j in split_job_ids(args.jobs)]
        self.steps: list[JobSpec] = []
        for text in split_list(args.steps):
            spec = parse_job_spec(text) if "." in text else None
            if spec is None or spec.step is None:
                raise ValueError(text if "." in text else f"{text}.??")
            self.steps.append(spec)
        self.partitions = split_list(args.partition)
        self.users = split_list(args.user)
        self.nodes = set(sf.hosts(",".join(split_list(args.nodelist))))

    def matches(self, r: Record) -> bool:
        if self.jobs and not any(s.matches(r) for s in self.jobs):
            return False
        if self.partitions and str(r.get("partition")) not in self.partitions:
            return False
        if self.steps and not any(s.step == r["step"] and s.matches(r) for s in self.steps):
            return False
        if self.nodes and not self.nodes & set(sf.hosts(str(r.get("nodes") or ""))):
            return False
        return not self.users or str(r.get("user")) in self.users \
            or str(r.get("uid")) in self.users

    def api_params(self) -> dict[str, str]:
        """The job filters the controller applies: running jobs, of these ids and users."""
        q = Query()
        q.users, q.partitions, q.states = self.users, self.partitions, set(_RUNNING)
        q.jobs = self.jobs or self.steps
        return api_params(q)


def build_layout(fmt: str | None, fmt_names: str | None) -> tuple[Layout, list[str]]:
    if fmt_names:
        cols, unknown = parse_names(fmt_names, sf.NAMES, width_mark=":", default_width=20)
        return Layout(cols), [f"Invalid job step format specification: {u}" for u in unknown]
    layout, bad = parse_percent(fmt or sf.DEFAULT_FORMAT, sf.LETTERS)
    return layout, [f"Invalid job step format specification: {b}" for b in bad]


def sort_steps(rows: Sequence[Record], spec: str) -> list[Record]:
    """``-S`` over steps (default ``P,i``, as ``sort_step_list``); stable."""
    out = list(rows)
    for key in reversed(split_list(spec)):
        letter = key.lstrip("+-")[:1]
        fn = sf.SORT_KEYS.get(letter)
        if fn is None:
            field = sf.LETTERS.get(letter)
            if field is None:
                continue
            fn = field.get
        out.sort(key=fn, reverse=key.startswith("-"))
    return out


def run_once(args: Any, q: StepQuery, layout: Layout, fetch: Fetch) -> int:
    try:
        jobs = fetch(q.api_params())
    except api_errors() as exc:
        print(f"slurm_get_job_steps error: {describe_error(exc)}", file=sys.stderr)
        return 1
    rows = sort_steps([r for r in sf.step_rows(jobs) if q.matches(r)], args.sort or "P,i")
    lines = [time.ctime()] if args.long and not args.noheader else []
    lines += layout.render(rows, header=not args.noheader)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0


def main_steps(args: Any, fetch: Fetch) -> int:
    try:
        q = StepQuery(args)
    except ValueError as exc:
        print(f"squeue: error: Invalid job_step id: {exc}", file=sys.stderr)
        return 1
    for user in unknown_users(q.users):
        print(f"squeue: error: Invalid user: {user}\n", file=sys.stderr)
    layout, errors = build_layout(args.format, args.Format)
    for e in errors:
        print(f"squeue: error: {e}", file=sys.stderr)
    return repeat(lambda: run_once(args, q, layout, fetch), args.iterate)
