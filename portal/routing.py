"""WebSocket routes (portal/asgi.py wraps them in auth and origin checks)."""

from __future__ import annotations

from django.urls import path

from portal import consumers

websocket_urlpatterns = [
    path("ws/queue/", consumers.QueueConsumer.as_asgi()),
    path("ws/nodes/", consumers.NodesConsumer.as_asgi()),
    path("ws/jobs/<str:job_id>/", consumers.JobConsumer.as_asgi()),
]
