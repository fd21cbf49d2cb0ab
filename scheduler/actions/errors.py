"""Slurm's error numbers and ``slurm_strerror`` texts (slurm/slurm_errno.h, slurm_errno.c).

An action raises ``SlurmError(ERRNO_NAME, *detail)``; the REST layer renders it as
``{"errors": [{"error": text, "error_number": n, "detail": [...]}]}`` with
``http_status``. The command line prints each detail line, then the text.
"""

from __future__ import annotations

# name -> (number, text, HTTP status)
ERRORS: dict[str, tuple[int, str, int]] = {
    "SLURM_ERROR": (-1, "Unspecified error", 400),
    "INVALID_PARTITION_NAME": (2000, "Invalid partition name specified", 400),
    "DEFAULT_PARTITION_NOT_SET": (2001, "No partition specified or system default partition",
                                  400),
    "ACCESS_DENIED": (2002, "Access/permission denied", 403),
    "JOB_MISSING_REQUIRED_PARTITION_GROUP": (
        2003, "User's group not permitted to use this partition", 400),
    "REQUESTED_NODES_NOT_IN_PARTITION": (2004, "Requested nodes not in this partition", 400),
    "TOO_MANY_REQUESTED_CPUS": (2005, "More processors requested than permitted", 400),
    "INVALID_NODE_COUNT": (2006, "Node count specification invalid", 400),
    "MAX_JOB_COUNT": (2007, "MaxJobCount limit reached", 400),
    "JOB_SCRIPT_MISSING": (2009, "Job script not specified", 400),
    "USER_ID_MISSING": (2010, "Invalid user id", 400),
    "REQUESTED_NODE_CONFIG_UNAVAILABLE": (2014, "Requested node configuration is not available",
                                          400),
    "NODES_BUSY": (2016, "Requested nodes are busy", 409),
    "INVALID_JOB_ID": (2017, "Invalid job id specified", 404),
    "INVALID_NODE_NAME": (2018, "Invalid node name specified", 404),
    "TRANSITION_STATE_NO_UPDATE": (2020, "Job can not be altered now, try again later", 409),
    "ALREADY_DONE": (2021, "Job/step already completing or completed", 409),
    "JOB_PENDING": (2024, "Job is pending execution", 409),
    "BAD_TASK_COUNT": (2025, "Task count specification invalid", 400),
    "INVALID_NODE_STATE": (2028, "Invalid node state specified", 400),
    "INVALID_FEATURE": (2029, "Invalid feature specification", 400),
    "DISABLED": (2037, "Requested operation is presently disabled", 409),
    "DEPENDENCY": (2038, "Job dependency problem", 400),
    "INVALID_ACCOUNT": (2045, "Invalid account or account/partition combination specified",
                        400),
    "ACCOUNTING_POLICY": (2050, "Job violates accounting/QOS policy (job submit limit, user's "
                          "size and/or time limits)", 400),
    "INVALID_TIME_LIMIT": (2051, "Requested time limit is invalid (missing or exceeds some limit)",
                           400),
    "RESERVATION_ACCESS": (2052, "Access denied to requested reservation", 403),
    "RESERVATION_INVALID": (2053, "Requested reservation is invalid", 400),
    "INVALID_TIME_VALUE": (2054, "Invalid time specified", 400),
    "RESERVATION_BUSY": (2055, "Requested reservation is in use", 409),
    "RESERVATION_NOT_USABLE": (2056, "Requested reservation not usable now", 400),
    "RESERVATION_OVERLAP": (2057, "Requested reservation overlaps with another reservation",
                            409),
    "MISSING_WORK_DIR": (
        2063, "Job cannot be submitted without the current working directory specified.", 400),
    "INVALID_QOS": (2066, "Invalid qos specification", 400),
    "PARTITION_NOT_AVAIL": (2070, "Required partition not available (inactive or drain)", 400),
    "INVALID_GRES": (2072, "Invalid generic resource (gres) specification", 400),
    "JOB_NOT_PENDING": (2073, "Job is no longer pending execution", 409),
    "INVALID_ARRAY": (2081, "Invalid job array specification", 400),
    "JOB_NOT_RUNNING": (2085, "Job is not running", 409),
    "INVALID_NICE": (2123, "Invalid --nice value", 400),
    "INVALID_TIME_MIN_LIMIT": (
        2124, "Invalid time-min specification (exceeds job's time or other limits)", 400),
    "JOBS_RUNNING_ON_ASSOC": (7001, "Job(s) active, cancel job(s) before remove", 409),
    "REST_INVALID_QUERY": (9000, "Query empty or not RFC7320 compliant", 400),
    "REST_FAIL_PARSING": (9001, "Failure during parsing", 400),
    "REST_INVALID_JOBS_DESC": (9002, "Jobs description entry not found, empty or not dictionary "
                               "or list", 400),
    "REST_AUTH_FAIL": (9008, "Authentication failure", 401),
}


class SlurmError(Exception):
    """An action refused: ``name`` is a key of ERRORS; ``detail`` lines say what exactly."""

    def __init__(self, name: str, *detail: str) -> None:
        number, text, status = ERRORS[name]
        super().__init__(text)
        self.name = name
        self.error_number = number
        self.error = text
        self.detail = [d for d in detail if d]
        self.http_status = status

    def as_dict(self) -> dict[str, object]:
        return {"error": self.error, "error_number": self.error_number, "detail": self.detail}

    def __repr__(self) -> str:
        return f"SlurmError({self.name!r}, {self.detail!r})"
