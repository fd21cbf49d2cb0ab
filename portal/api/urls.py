"""REST API routes (docs/architecture.md). Each path answers with and without its trailing slash."""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import agentapi
from portal.api.errors import unknown_url
from portal.api.views import accounting_admin as acct
from portal.api.views import cluster, jobs, priority, reports, reservations

JOB = r"(?P<job_id>[^/]+)"

urlpatterns = [
    re_path(r"^jobs/?$", jobs.JobsView.as_view(), name="api-jobs"),
    re_path(rf"^jobs/{JOB}/?$", jobs.JobDetailView.as_view(), name="api-job"),
    re_path(rf"^jobs/{JOB}/steps/?$", jobs.JobStepsView.as_view(), name="api-job-steps"),
    re_path(rf"^jobs/{JOB}/steps/(?P<step>[^/]+)/?$", jobs.JobStepView.as_view(),
            name="api-job-step"),
    re_path(rf"^jobs/{JOB}/signal/?$", jobs.JobSignalView.as_view(), name="api-job-signal"),
    re_path(rf"^jobs/{JOB}/hold/?$", jobs.JobHoldView.as_view(), name="api-job-hold"),
    re_path(rf"^jobs/{JOB}/release/?$", jobs.JobReleaseView.as_view(), name="api-job-release"),
    re_path(rf"^jobs/{JOB}/requeue/?$", jobs.JobRequeueView.as_view(), name="api-job-requeue"),
    re_path(rf"^jobs/{JOB}/allocation/?$", jobs.JobAllocationView.as_view(), name="api-job-alloc"),
    re_path(r"^nodes/?$", cluster.NodesView.as_view(), name="api-nodes"),
    re_path(r"^nodes/(?P<name>[^/]+)/?$", cluster.NodeDetailView.as_view(), name="api-node"),
    re_path(r"^partitions/?$", cluster.PartitionsView.as_view(), name="api-partitions"),
    re_path(r"^reservations/?$", reservations.ReservationsView.as_view(),
            name="api-reservations"),
    re_path(r"^reservations/(?P<name>[^/]+)/delete/?$",
            reservations.ReservationDeleteView.as_view(), name="api-reservation-delete"),
    re_path(r"^reservations/(?P<name>[^/]+)/?$", reservations.ReservationDetailView.as_view(),
            name="api-reservation"),
    re_path(r"^config/?$", cluster.ConfigView.as_view(), name="api-config"),
    re_path(r"^ping/?$", cluster.PingView.as_view(), name="api-ping"),
    re_path(r"^diag/?$", cluster.DiagView.as_view(), name="api-diag"),
    re_path(r"^token/?$", cluster.TokenView.as_view(), name="api-token"),
    re_path(r"^accounting/jobs/?$", jobs.AccountingJobsView.as_view(),
            name="api-accounting-jobs"),
    re_path(r"^accounting/cluster/?$", acct.ClusterView.as_view(), name="api-acct-cluster"),
    re_path(r"^accounting/accounts/?$", acct.AccountsView.as_view(), name="api-acct-accounts"),
    re_path(r"^accounting/users/?$", acct.UsersView.as_view(), name="api-acct-users"),
    re_path(r"^accounting/associations/?$", acct.AssociationsView.as_view(),
            name="api-acct-associations"),
    re_path(r"^accounting/qos/?$", acct.QosView.as_view(), name="api-acct-qos"),
    re_path(r"^accounting/reports/(?P<report>[^/]+)/?$", reports.ReportView.as_view()),
    re_path(r"^accounting/events/?$", reports.EventsView.as_view(), name="api-acct-events"),
    re_path(r"^accounting/modify/?$", acct.ModifyView.as_view(), name="api-acct-modify"),
    re_path(r"^accounting/delete/?$", acct.DeleteView.as_view(), name="api-acct-delete"),
    re_path(r"^priority/?$", priority.PriorityView.as_view(), name="api-priority"),
    re_path(r"^shares/?$", priority.SharesView.as_view(), name="api-shares"),
    re_path(r"^agent/register/?$", agentapi.register, name="agent-register"),
    re_path(r"^agent/sync/?$", agentapi.sync, name="agent-sync"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^.*$", unknown_url),
]
