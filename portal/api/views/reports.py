"""/api/accounting/reports/<report>/: sreport's figures (scheduler.reports_load), and
/api/accounting/events/: the node events of ``sacctmgr show event`` (scheduler.node_events).

Query: ``start``, ``end`` (epoch seconds; the CLI rounds them as sreport does;
default yesterday 00:00 to today 00:00, local time), ``tres`` (cpu, mem,
gres/gpu), ``accounts``, ``users`` (comma lists), ``top``, ``group``,
``grouping``, ``flat``.

As in Slurm, any user may read reports; with ``PrivateData=usage`` in slurm.conf a
user who is not an operator sees only their own usage, and not the cluster's.
Events (query: ``nodes``, ``states``, ``start``, ``end``) are open to every user
too, unless ``PrivateData=events``: then to operators only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.reports import DEFAULT_GROUPING, Window
from scheduler import config, node_events, reports_load
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError


def _csv(request: Request, key: str) -> list[str]:
    return [s.strip() for s in str(request.query_params.get(key) or "").split(",") if s.strip()]


def _int(request: Request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise SlurmError("REST_FAIL_PARSING", f"{key} must be an integer") from None


def _epoch(request: Request, key: str) -> int | None:
    return None if request.query_params.get(key) in (None, "") else _int(request, key, 0)


def _flag(request: Request, key: str) -> bool:
    return str(request.query_params.get(key) or "").lower() in {"1", "true", "yes"}


def _default_window(now: datetime) -> tuple[int, int]:
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((today - timedelta(days=1)).timestamp()), int(today.timestamp())


def _private(kind: str) -> bool:
    private = config.settings_map().get("PrivateData", "")
    return kind in {p.strip().lower() for p in private.split(",")}


class ReportView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="sreport: utilization, account-by-user, user-by-account, "
                           "top-users, job-sizes")
    def get(self, request: Request, report: str) -> Response:
        if report not in reports_load.REPORTS:
            raise SlurmError("REST_FAIL_PARSING", f"unknown report {report!r}; one of "
                             + ", ".join(reports_load.REPORTS))
        tres = str(request.query_params.get("tres") or "cpu").lower()
        if tres not in reports_load.TRES:
            raise SlurmError("REST_FAIL_PARSING", f"unknown TRES {tres!r}; one of "
                             + ", ".join(reports_load.TRES))
        now = timezone.now()
        start, end = _default_window(now)
        window = Window(_int(request, "start", start), _int(request, "end", end))
        if window.seconds <= 0:
            raise SlurmError("REST_FAIL_PARSING", "end must be after start")
        users = _csv(request, "users")
        if _private("usage") and not is_operator(request.user):
            if report == "utilization":
                raise SlurmError("ACCESS_DENIED")
            users = [request.user.get_username()]
        try:
            grouping = [int(g) for g in _csv(request, "grouping")] or list(DEFAULT_GROUPING)
        except ValueError:
            raise SlurmError("REST_FAIL_PARSING", "grouping must be integers") from None
        return Response(reports_load.build(
            report, window, tres, int(now.timestamp()), accounts=_csv(request, "accounts"),
            users=users, top=_int(request, "top", 10), group=_flag(request, "group"),
            grouping=grouping, flat=_flag(request, "flat")))


class EventsView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="sacctmgr show event: node events")
    def get(self, request: Request) -> Response:
        if _private("events") and not is_operator(request.user):
            raise SlurmError("ACCESS_DENIED")
        states = [s.upper() for s in _csv(request, "states")]
        unknown = [s for s in states if s not in node_events.STATES]
        if unknown:
            raise SlurmError("REST_FAIL_PARSING", f"unknown state {unknown[0]!r}; one of "
                             + ", ".join(node_events.STATES))
        return Response({"events": node_events.event_records(
            config.settings_map()["ClusterName"], nodes=_csv(request, "nodes"), states=states,
            start=_epoch(request, "start"), end=_epoch(request, "end"))})
