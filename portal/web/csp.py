"""A strict Content-Security-Policy for the portal's pages.

The pages have no inline script or style (the live-update module and the CSS
are static files), so the policy can forbid both; an injected ``<script>``
would not run even if escaping ever failed. WebSockets go to the same origin.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def csp(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Add the portal's Content-Security-Policy (unless the view set its own)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return wrapper
