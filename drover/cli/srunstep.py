"""srun's step as the controller records it: asked for before the tasks start
(``POST /api/jobs/{id}/steps/``, Slurm's REQUEST_JOB_STEP_CREATE) and ended when they
have (``PATCH /api/jobs/{id}/steps/{step}/``, REQUEST_STEP_COMPLETE; idempotent).

A controller that refuses the step (the job is not running, or not the caller's)
fails srun, as Slurm's does. One that cannot be reached, or none configured, does
not: the tasks run all the same, as an unrecorded step numbered by a counter kept
beside the job's temporary files, after a warning on stderr. A job keeps working
while its controller is away (the node agent keeps it alive), and so do its sruns;
such a step is missing from sacct and sstat, and its number may repeat a recorded
one's.
"""

from __future__ import annotations

import functools
import os
import sys
import time

from drover import api, clientconf

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Sequence

# A step is asked for before any task starts: an unanswering controller must not
# hold the job up for the minute other commands wait.
TIMEOUT_S = 10.0


class StepRefused(Exception):
    """The controller said no; the message is its error text."""


@functools.cache
def _client() -> api.Client:
    """One connection for the step's creation and its end."""
    return api.Client(clientconf.load(), timeout=TIMEOUT_S)


def _warn(text: str) -> None:
    print(f"srun: warning: {text}", file=sys.stderr, flush=True)


def create(job_id: str, name: str, ntasks: int, cpus_per_task: int | None) -> tuple[int, bool]:
    """(step id, whether the controller recorded it); StepRefused when it refused."""
    if not job_id.isdigit():
        raise StepRefused("Invalid job id specified")
    body = {"name": name, "ntasks": ntasks, "cpus_per_task": cpus_per_task or 1}
    try:
        answer = _client().post(f"/api/jobs/{job_id}/steps/", body)
    except api.ApiError as exc:
        raise StepRefused(exc.error) from None
    except (api.ApiUnreachable, clientconf.ClientConfError) as exc:
        _warn(f"Unable to create step for job {job_id}: {exc}; running it unrecorded")
        return local_step_id(job_id), False
    return int(answer["step"]), True


def end(job_id: str, step: int, codes: Sequence[int]) -> None:
    """Report the end of the tasks whose wait statuses are ``codes`` (Popen's: -N for
    signal N) with their CPU time and largest resident set (this process's children)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    exit_code, signum = exit_and_signal(codes)
    body = {
        "exit_code": exit_code,
        "signal": signum,
        "end_time": time.time(),
        "cpu_time_s": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_kb": int(usage.ru_maxrss),  # kilobytes on Linux
    }
    try:
        _client().patch(f"/api/jobs/{job_id}/steps/{step}/", body)
    except (api.ApiError, api.ApiUnreachable, clientconf.ClientConfError) as exc:
        _warn(f"Unable to record the end of step {job_id}.{step}: {exc}")


def exit_and_signal(codes: Sequence[int]) -> tuple[int, int]:
    """The tasks' end as Slurm records it: the largest exit code, the first killing signal."""
    return (max((c for c in codes if c > 0), default=0),
            next((-c for c in codes if c < 0), 0))


def local_step_id(job_id: str) -> int:
    """Unrecorded steps count up per job (0, 1, ...), in a small file beside the job's temp."""
    import fcntl
    import tempfile  # only here: it imports a dozen modules srun does not need otherwise

    path = os.path.join(tempfile.gettempdir(), f"drover-steps-{os.getuid()}-{job_id}")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return 0
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read().strip()
        step = int(text) + 1 if text.isdigit() else 0
        f.seek(0)
        f.truncate()
        f.write(str(step))
    return step
