"""The queue (squeue in a browser), a job's page, and cancel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.web import backend
from portal.web.access import get_job_for, is_operator, min_job_age_s, queue_jobs
from portal.web.csp import csp
from portal.web.present import by_job_id, is_active, job_detail, job_row, step_rows
from portal.web.tail import read_tail


@login_required
@csp
def queue(request: HttpRequest) -> HttpResponse:
    operator = is_operator(request.user)
    everyone = operator and request.GET.get("scope") == "all"
    jobs = queue_jobs(request.user, everyone=everyone).prefetch_related("steps")
    rows = by_job_id([job_row(r) for r in backend.job_records(jobs)])
    return render(request, "portal/queue.html", {
        "nav": "queue", "rows": rows, "operator": operator, "everyone": everyone,
        "ws_path": "/ws/queue/?scope=all" if everyone else "/ws/queue/",
        "min_job_age": min_job_age_s(),
    })


@login_required
@csp
def detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_job_for(request.user, job_id)
    record = backend.job_record(job)
    info = job_detail(record)
    outputs = []
    if record.get("state") != "PENDING":
        for stream in ("stdout", "stderr"):
            path = record.get(stream) or ""
            if stream == "stderr" and path == record.get("stdout"):
                continue
            text, problem = read_tail(path, int(record.get("uid", -1)),
                                      finished=not is_active(record.get("state", "")))
            outputs.append({"stream": stream, "path": path, "text": text, "problem": problem})
    return render(request, "portal/job.html", {
        "nav": "queue", "job": info, "outputs": outputs, "steps": step_rows(record),
        "ws_path": f"/ws/jobs/{job.pk}/",
        "script": job.script,
    })


@login_required
@require_POST
def cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_job_for(request.user, job_id)
    if not is_active(job.state):
        messages.info(request, f"Job {job.display_id} has already finished ({job.state}).")
    else:
        try:
            backend.cancel(request.user, job)
        except backend.ActionFailed as exc:
            messages.error(request, f"Cancelling job {job.display_id} failed: {exc.error}")
        else:
            messages.success(request, f"Cancel requested for job {job.display_id}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return redirect("job-detail", job_id=job.display_id)
    return redirect(target)
