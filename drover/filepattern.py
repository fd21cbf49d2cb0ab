"""Slurm's filename patterns for ``--output``, ``--error`` and ``--input``.

``%j`` job id, ``%J`` job id[.step], ``%A`` array master id (the job id when
not an array task), ``%a`` array task id (``4294967294``, Slurm's NO_VAL, when
not an array task), ``%x`` job name, ``%u`` user, ``%N`` first node's short
name, ``%n`` node index, ``%t`` task id, ``%s`` step id, ``%%`` a percent sign.
A number between ``%`` and the letter zero-pads (``%3a`` → ``007``). As in
Slurm, a pattern holding a backslash is taken literally, minus its backslashes.
"""

from __future__ import annotations

from drover.lazyre import Pattern

TYPE_CHECKING = False  # importing typing costs a command start-up time
if TYPE_CHECKING:
    import re

NO_VAL = 4294967294
_FIELD_RE = Pattern(r"%(\d*)([jJAaxuNnts%])")


def default_output(is_array: bool) -> str:
    """The file sbatch writes to when no ``-o`` is given."""
    return "slurm-%A_%a.out" if is_array else "slurm-%j.out"


def expand(pattern: str, *, job_id: int, array_job_id: int | None = None,
           array_task_id: int | None = None, user: str = "", job_name: str = "",
           node: str = "", task_id: int = 0, step_id: int | None = None,
           num_nodes: int = 1) -> str:
    """Fill in a pattern for one job (and task/step); ``num_nodes`` is accepted for
    callers that know it, the node index of a batch script is always 0."""
    if "\\" in pattern:
        return pattern.replace("\\", "")
    del num_nodes  # the batch script runs on the first node: %n is 0
    array_id = array_job_id if array_task_id is not None and array_job_id else job_id
    values: dict[str, int | str] = {
        "j": job_id,
        "J": job_id if step_id is None else f"{job_id}.{step_id}",
        "A": array_id,
        "a": NO_VAL if array_task_id is None else array_task_id,
        "x": job_name,
        "u": user,
        "N": node.split(".", 1)[0],
        "n": 0,
        "t": task_id,
        "s": "batch" if step_id is None else step_id,
    }

    def fill(m: re.Match[str]) -> str:
        width, key = m.group(1), m.group(2)
        if key == "%":
            return "%"
        value = values[key]
        if width and isinstance(value, int):
            return str(value).zfill(int(width))
        return str(value)

    return _FIELD_RE.sub(fill, pattern)
