"""Standard Workload Format (SWF) traces: 18 whitespace-separated fields per job.

Source: the Parallel Workloads Archive's format definition
(https://www.cs.huji.ac.il/labs/parallel/workload/swf.html). Header lines start
with ``;`` and read ``; Key: value`` (``MaxNodes``, ``MaxProcs``, ...). A missing
value is ``-1``; numbers may be written with decimals (``552.21``).

The fields used here (1-based): 1 job id, 2 submit time, 4 run time, 5 allocated
processors (8, requested processors, when 5 is -1), 9 requested time (the time
limit; when -1 the run time stands in for it: perfect estimates), 12 user,
13 group, 15 queue, 16 partition. Field 3 (the trace's own wait) is ignored: the
simulator computes its own.

Dropped records (counted in :attr:`Trace.dropped`): run time <= 0 and no
processor count. A job that ran longer than it asked for is cut at its limit, as
the controller kills it there: ``run = min(run, limit)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


class SwfError(ValueError):
    """A malformed record: ``"<file>:<line>: <problem>"``."""


@dataclass(frozen=True, slots=True)
class SwfJob:
    id: int
    submit: int
    run: int  # seconds it runs in the simulation (already cut at ``limit``)
    procs: int
    limit: int  # the requested time: the job's time limit and the scheduler's estimate
    user: int = -1
    group: int = -1
    queue: int = -1
    partition: int = -1
    trace_run: int = 0  # the run time as written (before the cut)


@dataclass(frozen=True, slots=True)
class Trace:
    jobs: tuple[SwfJob, ...]
    header: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    records: int = 0

    @property
    def max_procs(self) -> int | None:
        """The machine's processors from the header: MaxProcs, else MaxNodes."""
        for key in ("MaxProcs", "MaxNodes"):
            value = _header_int(self.header, key)
            if value is not None and value > 0:
                return value
        return None

    def head(self, n: int) -> Trace:
        """The first ``n`` jobs (in file order)."""
        return Trace(self.jobs[:n], self.header, self.dropped, self.records)


def _header_int(header: dict[str, str], key: str) -> int | None:
    raw = header.get(key)
    if raw is None:
        return None
    try:
        return int(float(raw.split()[0]))
    except (ValueError, IndexError):
        return None


def _num(text: str) -> int:
    return round(float(text))


def parse(lines: Iterable[str], filename: str = "<swf>") -> Trace:
    """Read a trace; records keep file order."""
    header: dict[str, str] = {}
    jobs: list[SwfJob] = []
    dropped = {"run<=0": 0, "no procs": 0}
    records = 0
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(";"):
            key, sep, value = line[1:].partition(":")
            if sep and key.strip() and " " not in key.strip():
                header.setdefault(key.strip(), value.strip())
            continue
        fields = line.split()
        if len(fields) < 9:
            raise SwfError(f"{filename}:{lineno}: {len(fields)} fields, expected 18")
        try:
            values = [_num(f) for f in fields[:18]]
        except ValueError as e:
            raise SwfError(f"{filename}:{lineno}: not a number ({e})") from None
        values += [-1] * (18 - len(values))
        records += 1
        run = values[3]
        if run <= 0:
            dropped["run<=0"] += 1
            continue
        procs = values[4] if values[4] > 0 else values[7]
        if procs <= 0:
            dropped["no procs"] += 1
            continue
        limit = values[8] if values[8] > 0 else run
        jobs.append(SwfJob(id=values[0], submit=values[1], run=min(run, limit), procs=procs,
                           limit=limit, user=values[11], group=values[12], queue=values[14],
                           partition=values[15], trace_run=run))
    return Trace(tuple(jobs), header, dropped, records)


def load(path: str | Path) -> Trace:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse(f, str(path))
