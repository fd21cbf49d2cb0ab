"""The route table: one row per endpoint, served under every version (urls.py, openapi.py)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.slurmrest.views import cluster, jobs
from portal.slurmrest.views.base import SlurmRestView


@dataclass(frozen=True)
class Route:
    path: str  # as OpenAPI writes it, under /slurm/<version>/
    regex: str  # the same for re_path
    view: type[SlurmRestView]
    methods: dict[str, str]  # method -> summary
    name: str


ROUTES: tuple[Route, ...] = (
    Route("ping", "ping", cluster.PingView, {"get": "ping test"}, "ping"),
    Route("diag", "diag", cluster.DiagView, {"get": "get diagnostics"}, "diag"),
    Route("job/submit", "job/submit", jobs.JobSubmitView, {"post": "submit new job"},
          "job_submit"),
    Route("job/{job_id}", r"job/(?P<job_id>[0-9_]+)", jobs.JobView,
          {"get": "get job info", "delete": "cancel or signal job"}, "job"),
    Route("jobs", "jobs", jobs.JobsView, {"get": "get list of jobs"}, "jobs"),
    Route("nodes", "nodes", cluster.NodesView, {"get": "get all node info"}, "nodes"),
    Route("node/{node_name}", r"node/(?P<name>[^/]+)", cluster.NodeView,
          {"get": "get node info"}, "node"),
    Route("partitions", "partitions", cluster.PartitionsView,
          {"get": "get all partition info"}, "partitions"),
    Route("partition/{partition_name}", r"partition/(?P<name>[^/]+)", cluster.PartitionView,
          {"get": "get partition info"}, "partition"),
)
