"""/api/reservations/: list, create, show, update, delete (scontrol ... reservation)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler.actions import reservations as actions
from scheduler.actions.errors import SlurmError


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise SlurmError("REST_FAIL_PARSING", "expected a JSON object")
    return dict(request.data)


class ReservationsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="List reservations")
    def get(self, request: Request) -> Response:
        return Response({"reservations": actions.reservation_records()})

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Create a reservation (scontrol create reservation)")
    def post(self, request: Request) -> Response:
        row = actions.do_create_reservation(request.user, _body(request))
        return Response(actions.reservation_record(row), status=201)


class ReservationDetailView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Show a reservation")
    def get(self, request: Request, name: str) -> Response:
        return Response(actions.reservation_record(actions.get_reservation(name)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Update a reservation (scontrol update reservation)")
    def patch(self, request: Request, name: str) -> Response:
        row = actions.do_update_reservation(request.user, name, _body(request))
        return Response(actions.reservation_record(row))

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Delete a reservation")
    def delete(self, request: Request, name: str) -> Response:
        actions.do_delete_reservation(request.user, name)
        return Response({})


class ReservationDeleteView(APIView):  # type: ignore[misc]
    """POST form of delete, for clients without DELETE (the command line's)."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Delete a reservation (scontrol delete reservation)")
    def post(self, request: Request, name: str) -> Response:
        actions.do_delete_reservation(request.user, name)
        return Response({})
