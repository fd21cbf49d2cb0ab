"""Job id arguments as squeue, scancel and scontrol take them.

``12`` (a job, or a whole array by its base id), ``12_3`` (one array task),
``12_[1-3,7]`` (some tasks), ``12.batch``/``12.0`` (a step; the step part is
kept for the caller). Array task ranges: ``2-9``, ``1,3,5``, ``0-10:2``,
with an optional ``%N`` throttle that does not change the set.
"""

from __future__ import annotations

from collections.abc import Mapping

from drover.lazyre import Pattern

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

_SPEC_RE = Pattern(r"^(\d+)(?:_(\d+|\[[0-9,\-:%]+\]))?(?:\.(\w+))?$")


class JobSpec:
    """A job id as the commands take it: ``12``, ``12_3``, ``12_[1-3]``, ``12.batch``.

    A plain class: ``dataclasses`` would cost every squeue/scancel run ~10 ms.
    """

    __slots__ = ("job_id", "tasks", "step")

    def __init__(self, job_id: int, tasks: frozenset[int] | None = None,
                 step: str | None = None) -> None:
        self.job_id = job_id
        self.tasks = tasks  # None: the job, or the whole array
        self.step = step

    def _key(self) -> tuple[int, frozenset[int] | None, str | None]:
        return (self.job_id, self.tasks, self.step)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"JobSpec({self.job_id!r}, {self.tasks!r}, {self.step!r})"

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


def task_range(text: str) -> str:
    """An array's task list without brackets or throttle: ``[2-9%2]`` → ``2-9``."""
    return text.strip().strip("[]").split("%", 1)[0]


def expand_task_range(text: str) -> list[int]:
    """``[2-9%2]`` → 2..9; ``1,3,5``; ``0-10:2`` → 0,2,...,10. Raises ValueError."""
    body = task_range(text)
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
