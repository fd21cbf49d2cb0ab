"""Drover's Django project: settings, ASGI app, Celery app, REST API, web portal."""
