"""Job id arguments as squeue, scancel and scontrol take them.

``12`` (a job, or a whole array by its base id), ``12_3`` (one array task),
``12_[1-3,7]`` (some tasks), ``12.batch``/``12.0`` (a step; the step part is
kept for the caller). Array task ranges: ``2-9``, ``1,3,5``, ``0-10:2``,
with an optional ``%N`` throttle that does not change the set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SPEC_RE = re.compile(r"^(\d+)(?:_(\d+|\[[0-9,\-:%]+\]))?(?:\.(\w+))?$")


@dataclass(frozen=True)
class JobSpec:
    job_id: int
    tasks: frozenset[int] | None = None  # None: the job, or the whole array
    step: str | None = None

    def api_id(self) -> str:
        """The id for ``/api/jobs/{id}/``: ``12`` or ``12_3`` (one task)."""
        if self.tasks is not None and len(self.tasks) == 1:
            return f"{self.job_id}_{next(iter(self.tasks))}"
        return str(self.job_id)

    def api_ids(self) -> list[str]:
        """One id per task when some tasks were named, else the job id."""
        if self.tasks is None:
            return [str(self.job_id)]
        return [f"{self.job_id}_{t}" for t in sorted(self.tasks)]

    def matches(self, r: Mapping[str, Any]) -> bool:
        """Does this spec name the job record ``r`` (or part of it)?"""
        job_id = r.get("job_id")
        array_id = r.get("array_job_id")
        task = r.get("array_task_id")
        in_array = task is not None or bool(r.get("array_task_str"))
        if self.tasks is None:
            return job_id == self.job_id or (in_array and array_id == self.job_id)
        if not in_array or array_id != self.job_id:
            return False
        if task is not None:
            return int(task) in self.tasks
        pending = set(expand_task_range(str(r.get("array_task_str") or "")))
        return bool(pending & self.tasks)


def expand_task_range(text: str) -> list[int]:
    """``[2-9%2]`` → 2..9; ``1,3,5``; ``0-10:2`` → 0,2,...,10. Raises ValueError."""
    body = text.strip().strip("[]").split("%", 1)[0]
    out: list[int] = []
    for part in filter(None, body.split(",")):
        rng, _, step_s = part.partition(":")
        step = int(step_s) if step_s else 1
        lo_s, dash, hi_s = rng.partition("-")
        lo = int(lo_s)
        hi = int(hi_s) if dash else lo
        if step <= 0 or hi < lo:
            raise ValueError(text)
        out.extend(range(lo, hi + 1, step))
    return out


def parse_job_spec(text: str) -> JobSpec:
    """Parse one job id argument; ValueError when it is not one."""
    m = _SPEC_RE.match(text.strip())
    if m is None:
        raise ValueError(text)
    tasks: frozenset[int] | None = None
    if m.group(2) is not None:
        tasks = frozenset(expand_task_range(m.group(2)))
    return JobSpec(int(m.group(1)), tasks, m.group(3))
