"""What every slurmrestd answer carries: ``meta``, ``errors: []``, ``warnings: []``.

Errors are ``{"error", "error_number", "description", "source"}``: Slurm's
``slurm_strerror`` text and number, our detail lines, and the Slurm call that
failed (``slurm_load_job``, ``slurm_submit_batch_job()``, ...), as in golden 107
(v0.0.38's job submit adds the number as ``error_code``, golden 106).
"""

from __future__ import annotations

from typing import Any

from portal.slurmrest.versions import Version, release
from scheduler import config
from scheduler.actions.errors import ERRORS, SlurmError

# slurmrestd answers a failed Slurm call with 500 (golden 114), a bad request with 400.
_CLIENT_ERRORS = {"REST_INVALID_QUERY": 400, "REST_FAIL_PARSING": 400,
                  "REST_INVALID_JOBS_DESC": 400, "REST_AUTH_FAIL": 401}


def meta(version: Version, user: str = "") -> dict[str, Any]:
    major, minor, micro = release()
    text = f"{major}.{minor:02d}.{micro}"
    plugin: dict[str, Any] = {"type": version.plugin_type, "name": f"Slurm OpenAPI {version.name}"}
    if version.minor < 39:
        return {"plugin": plugin, "Slurm": {"version": {"major": major, "micro": micro,
                                                        "minor": minor}, "release": text}}
    plugin["data_parser"] = version.name
    slurm: dict[str, Any] = {"version": {"major": major, "micro": micro, "minor": minor},
                             "release": text}
    if version.minor >= 40:
        plugin["accounting_storage"] = ""
        slurm["version"] = {k: str(v) for k, v in slurm["version"].items()}
        slurm["cluster"] = config.get("ClusterName")
    return {"plugin": plugin, "client": {"source": "", "user": user, "group": ""},
            "Slurm": slurm}


def body(version: Version, user: str = "", **payload: Any) -> dict[str, Any]:
    return {"meta": meta(version, user), "errors": [], "warnings": [], **payload}


def error_item(name: str, description: str = "", source: str = "") -> dict[str, Any]:
    number, text, _ = ERRORS[name]
    return {"description": description or text, "error_number": number, "error": text,
            "source": source}


def slurm_error_item(err: SlurmError, source: str = "") -> dict[str, Any]:
    return error_item(err.name, "; ".join(err.detail), source)


def http_status(err: SlurmError) -> int:
    return _CLIENT_ERRORS.get(err.name, 500)
