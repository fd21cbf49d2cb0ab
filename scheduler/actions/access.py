"""Who may do what: owners act on their own jobs, operators on everything.

An operator is a Django staff or superuser account, ``root``, or the user the
controller runs as (Slurm's SlurmUser). Everyone else sees and acts on only
their own jobs (PrivateData=jobs in Slurm terms).
"""

from __future__ import annotations

import os
import pwd
from functools import lru_cache
from typing import Any

from scheduler.actions.errors import SlurmError
from scheduler.models import Job


@lru_cache(maxsize=1)
def _controller_user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "root"


def is_operator(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    return user.get_username() in {"root", _controller_user()}


def can_act_on(user: Any, job: Job) -> bool:
    return is_operator(user) or job.user == user.get_username()


def check_job_access(user: Any, job: Job) -> None:
    """Raise ACCESS_DENIED unless ``user`` owns ``job`` or is an operator."""
    if not can_act_on(user, job):
        raise SlurmError("ACCESS_DENIED")


def actor_uid(user: Any) -> int:
    """The Unix uid of an acting user (recorded as cancelled_by); -1 when unknown."""
    try:
        return pwd.getpwnam(user.get_username()).pw_uid
    except KeyError:
        return 0 if is_operator(user) else -1
