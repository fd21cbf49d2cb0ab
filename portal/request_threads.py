"""Django's ASGI handler on a few lasting threads instead of a new thread per request.

Django runs each HTTP request's synchronous code (middleware, views, the ORM)
in a thread-sensitive context of its own, and asgiref gives every new context
a new thread. A new thread has no database connection: each request opened one
(SQLite: ~0.5 ms with Django's functions registered) or took one from the pool
and started a thread (~0.1 ms), a tenth of what a job submission or an agent's
sync costs the server. Here each request still gets a context of its own, but
on one of ``threads`` single-thread executors that live as long as the process
(asgiref's ``ThreadSensitiveContext(executor=...)``), the least busy one, so
threads and their connections are reused and a slow request holds up only the
requests queued behind it on its own thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class PooledASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        super().__init__()
        self._executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
                           for _ in range(threads)]
        self._busy = [0] * threads

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Only the event loop's thread touches _busy: no lock needed.
        slot = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[slot] += 1
        try:
            async with ThreadSensitiveContext(executor=self._executors[slot]):
                await self.handle(scope, receive, send)
        finally:
            self._busy[slot] -= 1


def get_pooled_asgi_application(threads: int) -> PooledASGIHandler:
    """What ``django.core.asgi.get_asgi_application`` does, with the pooled handler."""
    django.setup(set_prefix=False)
    return PooledASGIHandler(threads)
