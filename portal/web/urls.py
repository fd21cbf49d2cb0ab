"""The web portal's pages (views split by page, one module each)."""

from __future__ import annotations

from django.urls import path

from portal.web import auth, cluster, composer, dashboard, jobs

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("compose/", composer.compose, name="compose"),
    path("jobs/", jobs.queue, name="queue"),
    path("jobs/<str:job_id>/", jobs.detail, name="job-detail"),
    path("jobs/<str:job_id>/cancel/", jobs.cancel, name="job-cancel"),
    path("cluster/", cluster.cluster, name="cluster"),
]
