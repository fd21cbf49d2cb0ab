"""job/submit, job/{id} (GET, DELETE), jobs."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.views.jobs import visible_job
from portal.api.views.queries import queue_jobs
from portal.slurmrest.serializers.jobs import job_object
from portal.slurmrest.serializers.submit import to_description
from portal.slurmrest.serializers.values import no_val
from portal.slurmrest.views.base import SlurmRestView
from scheduler.actions import jobs as job_actions
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.records import job_record, job_records

# slurmrestd's DELETE sends SIGKILL unless told otherwise: that is a plain cancel here.
_CANCEL_SIGNALS = {"", "9", "KILL", "SIGKILL"}


class JobSubmitView(SlurmRestView):
    source = "slurm_submit_batch_job()"

    def post(self, request: Request, plugin: str) -> Response:
        result = do_submit_job(request.user, to_description(request.data))
        answer: dict[str, Any] = {"job_id": result.job_id, "step_id": "batch",
                                  "job_submit_user_msg": ""}
        if not self.plugin.no_val:
            answer["step_id"] = "BATCH"  # golden 105
        if self.plugin.submit_result:
            answer = {"result": {**answer, "error_code": 0, "error": ""}, **answer}
        return self.reply(**answer)

    def render_exception(self, exc: Exception, context: dict[str, Any]) -> Response | None:
        response = super().render_exception(exc, context)
        if response is not None and not self.plugin.no_val and isinstance(exc, SlurmError):
            # v0.0.38's submit names its failure's number "error_code" (golden 106); the
            # usual keys stay too, for the clients that read them (SLURM-COMPAT.md, 31)
            response.data["errors"] = [{"error_code": e["error_number"], **e}
                                       for e in response.data["errors"]]
        return response


class JobView(SlurmRestView):
    source = "slurm_load_job"
    empty = {"jobs": []}

    def get(self, request: Request, plugin: str, job_id: str) -> Response:
        job = visible_job(request.user, job_id)
        return self.reply(**_jobs_payload(self.plugin, [job_record(job)]))

    def delete(self, request: Request, plugin: str, job_id: str) -> Response:
        self.source, self.empty = "slurm_kill_job()", {}
        signal = request.query_params.get("signal", "").strip().upper()
        job_actions.do_cancel_jobs(request.user, job_id,
                                   None if signal in _CANCEL_SIGNALS else signal)
        return self.reply()


class JobsView(SlurmRestView):
    source = "slurm_load_jobs"
    empty = {"jobs": []}

    def get(self, request: Request, plugin: str) -> Response:
        jobs = queue_jobs(request.user, {"all_states": "1"})
        return self.reply(**_jobs_payload(self.plugin, job_records(jobs)))


def _jobs_payload(version: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"jobs": [job_object(r, version) for r in records]}
    if version.no_val:
        if version.minor >= 40:
            payload["last_backfill"] = no_val(None)
        payload["last_update"] = no_val(None)
    return payload
