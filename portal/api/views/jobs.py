"""/api/jobs/: submit, list, show, update, steps (sstat's running ones; srun's create and
end), signal/cancel (a job or one step), hold, release, requeue, and salloc's allocation
(polled, then relinquished)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.views.queries import accounting_jobs, parse_fields, queue_jobs, recent_cutoff
from scheduler import config
from scheduler.actions import allocations
from scheduler.actions import jobs as job_actions
from scheduler.actions import steps as step_actions
from scheduler.actions.access import can_act_on
from scheduler.actions.errors import SlurmError
from scheduler.actions.submit import do_submit_job
from scheduler.models import FINISHED_STATES, Job, JobState, JobStep
from scheduler.records import (
    accounted,
    job_record,
    job_records,
    job_rows,
    ordered_steps,
    step_record,
    step_usage_record,
)


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise SlurmError("REST_INVALID_JOBS_DESC")
    return dict(data)


def visible_job(user: Any, spec: str) -> Job:
    """The row ``spec`` names ("12", "12_3"), if ``user`` may see it and it is still listed."""
    base, task = job_actions.parse_job_spec(spec)
    rows = [j for j in job_actions.jobs_for_spec(spec) if can_act_on(user, j)]
    if task is None:
        rows = [j for j in rows if j.id == base] or rows[:1]
    job = rows[0] if rows else None
    if job is None or (job.state in FINISHED_STATES and job.end_time is not None
                       and job.end_time < recent_cutoff()):
        raise SlurmError("INVALID_JOB_ID", f"Unable to find JobId={spec}")
    return job


class JobsView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Submit a batch job (sbatch)")
    def post(self, request: Request) -> Response:
        with config.cached():  # a submission reads ten parameters: one query
            result = do_submit_job(request.user, _body(request))
        body: dict[str, Any] = {"job_id": result.job_id}
        if result.test_only is not None:
            body["test_only"] = result.test_only
        return Response(body, status=200 if result.test_only is not None else 201)

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="List jobs (squeue)")
    def get(self, request: Request) -> Response:
        fields = parse_fields(request.query_params.get("fields"))
        jobs = queue_jobs(request.user, request.query_params, fields)
        if fields is not None:  # the compact answer: only these keys, one list per job
            return Response({"fields": fields, "rows": job_rows(jobs, fields)})
        return Response({"jobs": job_records(jobs)})


class JobDetailView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Show one job (scontrol show job)")
    def get(self, request: Request, job_id: str) -> Response:
        return Response(job_record(visible_job(request.user, job_id)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Update a job (scontrol update job)")
    def patch(self, request: Request, job_id: str) -> Response:
        job = job_actions.rows_to_act_on(request.user, job_id)[0]
        job = job_actions.do_update_job(request.user, job, _body(request))
        return Response(job_record(job))


class JobStepsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The running steps of a job and their latest usage (sstat)")
    def get(self, request: Request, job_id: str) -> Response:
        job = visible_job(request.user, job_id)
        steps = JobStep.objects.filter(job=job, state=JobState.RUNNING) \
            if job.state in job_actions.RUNNING_STATES else []
        return Response({"job_id": job.id, "state": job.state,
                         "steps": ordered_steps(step_usage_record(s) for s in steps)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Create a step of a running job (srun)")
    def post(self, request: Request, job_id: str) -> Response:
        step = step_actions.do_create_step(request.user, job_id, _body(request))
        return Response({"job_id": step.job_id, **step_record(step)}, status=201)


class JobStepView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Report a step's end (srun); idempotent")
    def patch(self, request: Request, job_id: str, step: str) -> Response:
        row = step_actions.do_end_step(request.user, job_id, step, _body(request))
        return Response({"job_id": row.job_id, **step_record(row)})


class JobSignalView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Cancel (signal null) or signal a job (scancel); "
                           "scope: steps (default), batch (-b) or full (-f)")
    def post(self, request: Request, job_id: str) -> Response:
        body = _body(request)
        spec, step = step_actions.split_step_spec(job_id)
        if step is not None:  # scancel N.S: that step alone
            step_actions.do_signal_step(request.user, spec, step, body.get("signal"))
        else:
            job_actions.do_cancel_jobs(request.user, job_id, body.get("signal"),
                                       str(body.get("scope") or "steps"))
        return Response({})


class JobHoldView(APIView):  # type: ignore[misc]
    job_action = staticmethod(job_actions.do_hold_job)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, job_id: str) -> Response:
        job_actions.do_for_spec(type(self).job_action, request.user, job_id)
        return Response({})


class JobReleaseView(JobHoldView):
    job_action = staticmethod(job_actions.do_release_job)


class JobRequeueView(JobHoldView):
    job_action = staticmethod(job_actions.do_requeue_job)


class AccountingJobsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Job accounting records (sacct)")
    def get(self, request: Request) -> Response:
        jobs = job_records(accounting_jobs(request.user, request.query_params))
        return Response({"jobs": [accounted(j) for j in jobs]})


class JobAllocationView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="An allocation's state and, once granted, its environment (salloc)")
    def get(self, request: Request, job_id: str) -> Response:
        with config.cached():
            return Response(allocations.allocation_record(
                allocations.allocation_of(request.user, job_id)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Relinquish an allocation with its command's exit status (salloc)")
    def post(self, request: Request, job_id: str) -> Response:
        job = allocations.do_relinquish_allocation(request.user, job_id, _body(request))
        return Response({"job_id": job.id, "state": job.state})
