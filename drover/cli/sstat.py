"""``sstat``: the usage of running job steps (Slurm 22.05's options, output and messages).

The figures are the node agent's latest sample of each running step, sent with
its heartbeats (``GET /api/jobs/{id}/steps/``), so they are up to one heartbeat
old. As Slurm's sstat: ``-j N`` shows the job's lowest running step other than
the batch and extern steps, so a batch job without srun steps prints only the
header (``-j N.batch`` or ``-a`` show the batch step); a job with no running
step gets ``No steps running for job N``, an unknown (or another user's) job
``couldn't get steps for job N``, both on stderr while the command goes on and
exits 0. Output is sacct's (``drover.cli.sacct.render``); a ``-o`` name matches
the first field it begins, as sstat's does. ``--noconvert`` prints sizes in bytes;
sstat has no ``--units``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

from drover.cli.formats import stat as sf
from drover.cli.formats import values as v
from drover.cli.formats.engine import Column, parse_width
from drover.cli.sacct import render
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_job_ids

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
    Fetch = Callable[[str], Record]

NO_JOBS = "You didn't give me any jobs to stat."
SPECIAL_STEPS = frozenset({"batch", "extern", "interactive"})


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sstat", add_help=False)
    add_version(p)
    p.add_argument("-h", "--help", action="help")
    p.add_argument("--usage", action="help")
    p.add_argument("-a", "--allsteps", action="store_true")
    p.add_argument("-e", "--helpformat", action="store_true")
    p.add_argument("-i", "--pidformat", action="store_true")
    p.add_argument("-j", "--jobs", action="append")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("--noconvert", action="store_true")
    p.add_argument("-o", "--format", "--fields", dest="format", action="append")
    p.add_argument("-p", "--parsable", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("job", nargs="?")
    return p


def columns_for(spec: str) -> tuple[list[Column], list[str]]:
    """sstat's ``-o`` list: each name matches the first field (in Slurm's order) whose
    name begins with it, case-insensitively; ``%N`` sets a width (right-justified,
    ``%-N`` left). Returns the columns and the names that match nothing."""
    columns: list[Column] = []
    unknown: list[str] = []
    for item in spec.split(","):
        name, mark, wspec = item.strip().partition("%")
        if not name:
            continue
        key = next((k for k in sf.FIELDS if k.lower().startswith(name.lower())), None)
        if key is None:
            unknown.append(name)
            continue
        fld = sf.FIELDS[key]
        width, right, _rest = parse_width(wspec, plain_right=True) if mark else (0, False, "")
        if not width:
            width, right = fld.width, fld.right
        columns.append(Column(key, fld, width, right, "", "+"))
    return columns, unknown


def helpformat() -> str:
    """The field names four to a line, each padded to 17 (``sstat -e``)."""
    names = list(sf.FIELDS)
    lines = [" ".join(f"{n:<17}" for n in names[i:i + 4]) for i in range(0, len(names), 4)]
    return "\n".join(lines) + "\n"


def select_steps(answer: Record, step: str | None, all_steps: bool) -> list[Record]:
    """The running steps of ``answer`` that ``-j JOB[.STEP]`` (and ``-a``) name."""
    steps: list[Record] = [s for s in answer.get("steps") or [] if isinstance(s, dict)]
    if step is not None:
        return [s for s in steps if str(s.get("step")) == step]
    if all_steps:
        return steps
    numbered = [s for s in steps if str(s.get("step")) not in SPECIAL_STEPS]
    return numbered[:1]  # the lowest running step (the controller lists them in order)


def stat_job(text: str, fetch: Fetch, all_steps: bool,
             units: v.Units = v.EXACT) -> tuple[list[dict[str, Any]], str]:
    """The rows for one ``-j`` item (sizes in ``units``), or an error message (without
    ``sstat: error:``)."""
    job, dot, step = text.partition(".")
    step_name = step.lower() if step.lower() in ("batch", "extern") else step
    try:
        answer = fetch(job)
    except _failures():
        return [], f"couldn't get steps for job {job}"
    steps = [s for s in answer.get("steps") or [] if isinstance(s, dict)]
    job_id = answer.get("job_id", job)
    if not steps:
        if dot:
            return [], f"StepId={job_id}.{step_name} not found running."
        return [], f"No steps running for job {job_id}"
    chosen = select_steps(answer, step_name if dot else None, all_steps)
    if dot and not chosen:
        return [], f"StepId={job_id}.{step_name} not found running."
    return [{"job": {"job_id": job_id}, "step": s, "units": units} for s in chosen], ""


def _failures() -> tuple[type[Exception], ...]:
    from drover.cli.squeue import api_errors

    return api_errors()


def fetch_steps(job: str) -> Record:
    from urllib.parse import quote

    from drover.cli.common import client

    answer: Record = client().get(f"/api/jobs/{quote(job, safe='')}/steps/")
    return answer


def main(argv: Sequence[str] | None = None, fetch: Fetch | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.helpformat:
        sys.stdout.write(helpformat())
        return 0
    given = [*(args.format or [])]
    spec = ",".join(([sf.PID_FIELDS] if args.pidformat else []) + given) or sf.DEFAULT_FIELDS
    columns, unknown = columns_for(spec)
    if unknown:
        print(f'sstat: error: Invalid field requested: "{unknown[0]}"', file=sys.stderr)
        return 1
    jobs = list(dict.fromkeys(split_job_ids(args.jobs) + split_job_ids(args.job)))
    if not jobs:
        print(f"sstat: error: {NO_JOBS}", file=sys.stderr)
        return 1
    fetch = fetch or fetch_steps
    out = sys.stdout
    header = render([], columns, header=not args.noheader, parsable=args.parsable,
                    parsable2=args.parsable2)
    if header:
        out.write("\n".join(header) + "\n")
    units = v.Units(convert=not args.noconvert)
    for text in jobs:
        rows, error = stat_job(text, fetch, args.allsteps, units)
        if error:
            out.flush()
            print(f"sstat: error: {error}", file=sys.stderr, flush=True)
        lines = render(rows, columns, header=False, parsable=args.parsable,
                       parsable2=args.parsable2)
        if lines:
            out.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
