"""Cluster status: partitions and nodes (sinfo / scontrol show node in a browser)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.web import backend
from portal.web.csp import csp
from portal.web.present import cluster_usage, node_row, partition_row
from scheduler.models import Node, Partition


def node_rows() -> list[dict[str, Any]]:
    return [node_row(backend.node_record(n))
            for n in Node.objects.prefetch_related("partitions").order_by("name")]


@login_required
@csp
def cluster(request: HttpRequest) -> HttpResponse:
    nodes = node_rows()
    partitions = [partition_row(backend.partition_record(p))
                  for p in Partition.objects.prefetch_related("nodes").order_by("id")]
    return render(request, "portal/cluster.html", {
        "nav": "cluster", "nodes": nodes, "partitions": partitions,
        "usage": cluster_usage(nodes),
    })
