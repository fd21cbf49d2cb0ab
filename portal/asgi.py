"""ASGI entry point: Django for HTTP, Channels for WebSockets (live pages)."""

from __future__ import annotations

import os

from portal.request_threads import get_pooled_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
REQUEST_THREADS = 8  # requests whose synchronous code may run at once
django_app = get_pooled_asgi_application(REQUEST_THREADS)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from portal.routing import websocket_urlpatterns  # noqa: E402
from portal.wsorigin import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_app,
    "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
