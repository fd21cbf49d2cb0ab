"""/api/accounting/{cluster,accounts,users,associations,qos}/ and modify/delete: sacctmgr.

Reads are open to every authenticated user (Slurm's default PrivateData); writes
go through accounting.actions, which allow operators and account coordinators
and answer 403 otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting import actions, records
from portal.api.permissions import is_operator
from scheduler import config
from scheduler.actions.errors import SlurmError
from scheduler.actions.jobs import active_on

T = TypeVar("T")


def _do(request: Request, action: Callable[..., T], *args: Any) -> T:
    """Run an accounting action as the request's user; its refusals become SlurmErrors."""
    actor = actions.Actor(request.user.get_username(), is_operator(request.user))
    try:
        return action(actor, *args)
    except actions.AccountingError as err:
        raise SlurmError(err.name, *err.detail) from None


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise SlurmError("REST_FAIL_PARSING", "expected a JSON object")
    return dict(request.data)


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise SlurmError("REST_FAIL_PARSING", f"{what} must be an object")
    return {k: str(v) for k, v in value.items()}


def _names(body: dict[str, Any]) -> list[str]:
    names = body.get("names")
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and n for n in names):
        raise SlurmError("REST_FAIL_PARSING", "names must be a list of names")
    return names


class ClusterView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr list cluster")
    def get(self, request: Request) -> Response:
        return Response({"clusters": [records.cluster_record(config.settings_map())]})


class AccountsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr list account")
    def get(self, request: Request) -> Response:
        return Response({"accounts": records.account_records()})

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="sacctmgr add account: {names, settings}")
    def post(self, request: Request) -> Response:
        body = _body(request)
        added = _do(request, actions.do_add_accounts, _names(body),
                                        _strings(body.get("settings"), "settings"))
        return Response({"added": added, "associations": records.association_records()
                         if added else []}, status=201 if added else 200)


class UsersView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr list user")
    def get(self, request: Request) -> Response:
        return Response({"users": records.user_records()})

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="sacctmgr add user: {names, settings}")
    def post(self, request: Request) -> Response:
        body = _body(request)
        added = _do(request, actions.do_add_users, _names(body),
                                     _strings(body.get("settings"), "settings"))
        return Response({"added": added}, status=201 if added else 200)


class AssociationsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr show assoc")
    def get(self, request: Request) -> Response:
        return Response({"associations": records.association_records()})


class QosView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr show qos")
    def get(self, request: Request) -> Response:
        return Response({"qos": records.qos_records()})

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="sacctmgr add qos: {names, settings}")
    def post(self, request: Request) -> Response:
        body = _body(request)
        added = _do(request, actions.do_add_qos, _names(body),
                                   _strings(body.get("settings"), "settings"))
        return Response({"added": added}, status=201 if added else 200)


class ModifyView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="sacctmgr modify: {kind, where, settings}")
    def post(self, request: Request) -> Response:
        body = _body(request)
        changed = _do(request, actions.do_modify, str(body.get("kind", "")),
                                    _strings(body.get("where"), "where"),
                                    _strings(body.get("settings"), "settings"))
        return Response({"modified": changed})


class DeleteView(APIView):  # type: ignore[misc]
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="sacctmgr delete: {kind, where}")
    def post(self, request: Request) -> Response:
        body = _body(request)
        deleted = _do(request, actions.do_delete, str(body.get("kind", "")),
                      _strings(body.get("where"), "where"), active_on)
        return Response({"deleted": deleted})
