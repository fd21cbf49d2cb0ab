"""ping, nodes, node/{name}, partitions, partition/{name}, diag."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from portal.slurmrest.serializers import cluster as shapes
from portal.slurmrest.serializers.values import no_val
from portal.slurmrest.views.base import SlurmRestView
from scheduler import config, stats
from scheduler.actions.errors import SlurmError
from scheduler.actions.nodes import get_node
from scheduler.models import Node, Partition
from scheduler.records import node_record, partition_record


def _stamped(view: SlurmRestView, key: str, items: list[Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {key: items}
    if view.plugin.no_val:
        payload["last_update"] = no_val(int(time.time()))
    return payload


class PingView(SlurmRestView):
    source = "slurm_ping"

    def get(self, request: Request, plugin: str) -> Response:
        host = config.get("SlurmctldHost") or "localhost"
        return self.reply(pings=[shapes.ping(self.plugin, host)])


class NodesView(SlurmRestView):
    source = "slurm_load_node"
    empty = {"nodes": []}

    def get(self, request: Request, plugin: str) -> Response:
        nodes = Node.objects.prefetch_related("partitions").order_by("name")
        items = [shapes.node(self.plugin, node_record(n)) for n in nodes]
        return self.reply(**_stamped(self, "nodes", items))


class NodeView(NodesView):
    def get(self, request: Request, plugin: str, name: str) -> Response:  # type: ignore[override]
        items = [shapes.node(self.plugin, node_record(get_node(name)))]
        return self.reply(**_stamped(self, "nodes", items))


class PartitionsView(SlurmRestView):
    source = "slurm_load_partitions"
    empty = {"partitions": []}

    def get(self, request: Request, plugin: str) -> Response:
        return self.reply(**_stamped(self, "partitions", _partitions(self, None)))


class PartitionView(PartitionsView):
    def get(self, request: Request, plugin: str, name: str) -> Response:  # type: ignore[override]
        items = _partitions(self, name)
        if not items:
            raise SlurmError("INVALID_PARTITION_NAME", f"Unable to find partition {name}")
        return self.reply(**_stamped(self, "partitions", items))


def _partitions(view: SlurmRestView, name: str | None) -> list[dict[str, Any]]:
    parts = Partition.objects.prefetch_related("nodes").order_by("id")
    if name is not None:
        parts = parts.filter(name=name)
    out = []
    for part in parts:
        memory = sum(n.real_memory_mb for n in part.nodes.all())
        out.append(shapes.partition(view.plugin, partition_record(part), memory))
    return out


class DiagView(SlurmRestView):
    source = "slurm_get_statistics"

    def get(self, request: Request, plugin: str) -> Response:
        return self.reply(statistics=shapes.diag(self.plugin, stats.figures()))
