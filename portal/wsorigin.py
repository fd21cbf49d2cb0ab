"""WebSocket handshakes only from the portal's own pages (no cross-site WebSocket hijacking).

A browser sends the session cookie with a WebSocket handshake opened by any web
site, and CSRF protection does not cover handshakes: without this check a page
elsewhere could open ``/ws/jobs/12/`` as the signed-in user and read their jobs
and output. Channels' ``AllowedHostsOriginValidator`` is no help while
``ALLOWED_HOSTS`` is ``*`` (the default). So, as Django's CSRF check does for a
form, the ``Origin`` must be the host the handshake was sent to (the ``Host``
header, itself one of ``ALLOWED_HOSTS``) or one of ``CSRF_TRUSTED_ORIGINS``.
Browsers always send ``Origin`` on a handshake; one without it is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Whether a handshake with these ``Origin`` and ``Host`` headers comes from our pages."""
    if not origin or not host:
        return False
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.netloc.lower() == host.lower():
        return True
    trusted = {o.rstrip("/").lower() for o in settings.CSRF_TRUSTED_ORIGINS}
    return f"{parts.scheme}://{parts.netloc}".lower() in trusted


class SameOriginValidator:
    """ASGI middleware: refuse (403) a handshake whose ``Origin`` is not ours."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = {name: value.decode("latin-1") for name, value in scope.get("headers", [])}
        if origin_allowed(headers.get(b"origin"), headers.get(b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
