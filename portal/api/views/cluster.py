"""/api/nodes/, /api/partitions/, /api/config/, /api/ping/, /api/token/, /api/diag/."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.auth import mint_token
from scheduler import config, stats
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.actions.nodes import do_update_node, get_node
from scheduler.models import Node, Partition
from scheduler.records import node_record, node_records, partition_record


class NodesView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="List nodes (sinfo, scontrol show node)")
    def get(self, request: Request) -> Response:
        nodes = Node.objects.prefetch_related("partitions").order_by("name")
        return Response({"nodes": node_records(nodes)})


class NodeDetailView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, name: str) -> Response:
        return Response(node_record(get_node(name)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Change a node's state (scontrol update nodename=...)")
    def patch(self, request: Request, name: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        state, reason = data.get("state"), data.get("reason") or ""
        if not isinstance(state, str) or not isinstance(reason, str):
            raise SlurmError("INVALID_NODE_STATE", "state and reason must be strings")
        node = do_update_node(request.user, get_node(name), state, reason)
        return Response(node_record(node))


class PartitionsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        parts = Partition.objects.prefetch_related("nodes").order_by("id")
        return Response({"partitions": [partition_record(p) for p in parts]})


class ConfigView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="scontrol show config")
    def get(self, request: Request) -> Response:
        return Response({"config": config.settings_map()})


class PingView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="scontrol ping")
    def get(self, request: Request) -> Response:
        return Response({"ping": "UP", "leader": config.get("SlurmctldHost") or "localhost"})


class TokenView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="scontrol token [username=U] [lifespan=S]")
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        me = request.user.get_username()
        username = data.get("username") or me
        lifespan = data.get("lifespan") or settings.JWT_DEFAULT_LIFESPAN_S
        if not isinstance(username, str):
            raise SlurmError("REST_FAIL_PARSING", "username must be a string")
        if isinstance(lifespan, bool) or not isinstance(lifespan, int) or lifespan <= 0:
            raise SlurmError("REST_FAIL_PARSING", "lifespan must be a positive number of seconds")
        operator = is_operator(request.user)
        if username != me and not operator:
            raise SlurmError("ACCESS_DENIED", "only operators may mint tokens for other users")
        longest = settings.JWT_MAX_LIFESPAN_S
        if longest and lifespan > longest and not operator:
            raise SlurmError("ACCESS_DENIED", f"lifespan over {longest} seconds "
                             "(DROVER_JWT_MAX_LIFESPAN) is for operators")
        return Response({"token": mint_token(username, lifespan)})


class DiagView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sdiag")
    def get(self, request: Request) -> Response:
        return Response({"statistics": stats.figures()})

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="sdiag --reset")
    def post(self, request: Request) -> Response:
        if not is_operator(request.user):
            raise SlurmError("ACCESS_DENIED", "only operators may reset the statistics")
        stats.reset()
        return Response({"statistics": stats.figures()})
