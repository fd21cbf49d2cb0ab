"""The base view: version lookup, auth, and slurmrestd's envelope for answers and errors."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.slurmrest import envelope
from portal.slurmrest.auth import SlurmTokenAuthentication
from portal.slurmrest.versions import VERSIONS, Version
from scheduler.actions.errors import SlurmError

log = logging.getLogger(__name__)


class SlurmRestView(APIView):  # type: ignore[misc]
    authentication_classes = [SlurmTokenAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    source = ""  # the Slurm call an error names (golden 107: "slurm_load_job")
    empty: dict[str, Any] = {}  # what the answer still carries on error (golden 107: jobs: [])

    @property
    def plugin(self) -> Version:
        return VERSIONS[self.kwargs["plugin"]]

    def username(self) -> str:
        user = getattr(self.request, "user", None)
        return user.get_username() if user is not None and user.is_authenticated else ""

    def reply(self, **payload: Any) -> Response:
        return Response(envelope.body(self.plugin, self.username(), **payload))

    def get_exception_handler(self) -> Any:
        return self.render_exception

    def render_exception(self, exc: Exception, context: dict[str, Any]) -> Response | None:
        if isinstance(exc, SlurmError):
            item, status = envelope.slurm_error_item(exc, self.source), envelope.http_status(exc)
        elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            item, status = envelope.error_item("REST_AUTH_FAIL", str(exc.detail), "auth"), 401
        elif isinstance(exc, exceptions.ParseError):
            item, status = envelope.error_item("REST_FAIL_PARSING", str(exc.detail)), 400
        elif isinstance(exc, exceptions.APIException):
            item = envelope.error_item("REST_INVALID_QUERY", str(exc.detail))
            status = exc.status_code
        elif settings.DEBUG:
            return None
        else:  # unforeseen: the envelope still, with the traceback in the log
            log.error("%s failed", type(self).__name__, exc_info=exc)
            item = envelope.error_item("SLURM_ERROR", "internal error: the controller's log "
                                       "says more", self.source)
            status = 500
        payload = {**self.empty}
        data = envelope.body(self.plugin, self.username(), **payload)
        data["errors"] = [item]
        response = Response(data, status=status)
        if status == 401:
            response["WWW-Authenticate"] = "Bearer"
        return response
