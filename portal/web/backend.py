"""The portal's only doors into the other packages: records, actions, sbatch parsing.

Views and consumers call these; nothing else in portal/web imports
scheduler.actions, scheduler.records or drover.jobopts directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scheduler import events, records
from scheduler.actions import access
from scheduler.actions.errors import SlurmError
from scheduler.models import Job, Node, Partition


class ActionFailed(Exception):
    """A submit or cancel was refused; ``error`` is Slurm's text, ``detail`` its lines.

    ``stage`` is "options" when sbatch's own parsing refused (bad option, not a
    batch script), "submit" when the controller did.
    """

    def __init__(self, error: str, detail: Sequence[str] = (), stage: str = "submit") -> None:
        super().__init__(error)
        self.error = error
        self.detail = list(detail)
        self.stage = stage


def job_record(job: Job) -> dict[str, Any]:
    return records.job_record(job)


def job_records(jobs: Iterable[Job]) -> list[dict[str, Any]]:
    """Records sharing one clock; prefetch ``steps`` on the queryset."""
    return records.job_records(jobs)


def node_record(node: Node) -> dict[str, Any]:
    return records.node_record(node)


def partition_record(p: Partition) -> dict[str, Any]:
    return records.partition_record(p)


def is_operator(user: Any) -> bool:
    """The scheduler's rule (staff, superuser, root, the controller's user), if still active."""
    return bool(user is not None and getattr(user, "is_active", False)
                and access.is_operator(user))


def user_group(username: str) -> str:
    return events.group_name("user", username)


def submit(user: Any, script: str, argv: Sequence[str], *, environ: Mapping[str, str],
           cwd: str, submit_host: str = "") -> int:
    """Parse like sbatch (options, then #SBATCH lines), submit; the new job's id."""
    from drover import jobopts
    from scheduler.actions.submit import do_submit_job

    try:
        request = jobopts.parse_sbatch(list(argv), script, dict(environ), cwd)
    except jobopts.OptionError as exc:
        raise ActionFailed(str(exc), stage="options") from None
    desc = dict(request.job_desc)
    if submit_host and not desc.get("submit_host"):
        desc["submit_host"] = submit_host
    try:
        result = do_submit_job(user, desc)
    except SlurmError as exc:
        raise ActionFailed(exc.error, exc.detail) from None
    return int(result.job_id)


def cancel(user: Any, job: Job) -> None:
    from scheduler.actions.jobs import do_cancel_job

    try:
        do_cancel_job(user, job)
    except SlurmError as exc:
        raise ActionFailed(exc.error, exc.detail) from None

