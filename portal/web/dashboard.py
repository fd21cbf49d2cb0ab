"""The landing page: my jobs at a glance and how busy the cluster is."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.web import backend
from portal.web.access import queue_jobs
from portal.web.cluster import node_rows
from portal.web.csp import csp
from portal.web.present import cluster_usage, job_row, mine_first

RECENT = 8


@login_required
@csp
def dashboard(request: HttpRequest) -> HttpResponse:
    jobs = queue_jobs(request.user).prefetch_related("steps")
    mine = [job_row(r) for r in backend.job_records(jobs)]
    counts = {"RUNNING": 0, "PENDING": 0}
    for row in mine:
        if row["state"] in counts:
            counts[row["state"]] += 1
    nodes = node_rows()
    return render(request, "portal/dashboard.html", {
        "nav": "dashboard", "rows": mine_first(mine, RECENT), "all_rows": mine, "counts": counts,
        "usage": cluster_usage(nodes), "nodes": nodes,
    })
