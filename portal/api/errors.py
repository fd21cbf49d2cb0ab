"""The API's error body: ``{"errors": [{"error", "error_number", "detail": [...]}]}``.

``SlurmError`` from an action keeps its Slurm number, text and HTTP status; DRF's
own exceptions (authentication, parsing, 404) are mapped onto the same shape, and
so is anything else (a 500 with Slurm's "Unspecified error", the exception logged),
so that a client always gets JSON it can read (Django's debug page when DEBUG is on).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from scheduler.actions.errors import ERRORS, SlurmError

log = logging.getLogger(__name__)


def error_body(name: str, *detail: str) -> dict[str, Any]:
    return {"errors": [SlurmError(name, *detail).as_dict()]}


def _details(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{k}: {m}" for k, v in detail.items() for m in _details(v)]
    if isinstance(detail, list):
        return [m for d in detail for m in _details(d)]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SlurmError):
        return Response({"errors": [exc.as_dict()]}, status=exc.http_status)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = drf_exception_handler(exc, context)
        code = response.status_code if response is not None else 401
        body = error_body("REST_AUTH_FAIL", *_details(exc.detail))
        out = Response(body, status=code)
        if response is not None and "WWW-Authenticate" in response:
            out["WWW-Authenticate"] = response["WWW-Authenticate"]
        return out
    if isinstance(exc, exceptions.PermissionDenied):
        return Response(error_body("ACCESS_DENIED", *_details(exc.detail)),
                        status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(error_body("REST_INVALID_QUERY", "not found"),
                        status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.APIException):
        number, _, _ = ERRORS["REST_FAIL_PARSING"]
        response = drf_exception_handler(exc, context)
        code = response.status_code if response is not None else 400
        # A plain message is the error itself, formatted ("Method "PUT" not allowed."); the
        # default is a template ("Method "{method}" not allowed.") for some exceptions.
        text = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        return Response({"errors": [{"error": str(text),
                                     "error_number": number,
                                     "detail": _details(exc.detail)}]}, status=code)
    if settings.DEBUG:
        return None
    view = context.get("view")
    log.error("%s failed", type(view).__name__ if view else "API view", exc_info=exc)
    return Response(error_body("SLURM_ERROR", "internal error: the controller's log says more"),
                    status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def unknown_url(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: 404 with the error shape (slurmrestd says much the same)."""
    return JsonResponse(error_body("REST_INVALID_QUERY",
                                   f"Unable find requested URL {request.path}. "
                                   "Please view /api/schema/ for API reference."),
                        status=404)
