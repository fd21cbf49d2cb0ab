"""Drover's Django project: settings, ASGI app, Celery app, REST API, web portal."""

# Loading the Celery app with Django makes it the current app in every process,
# so tasks sent from the web process go to the configured broker.
from portal.celery import app as celery_app

__all__ = ["celery_app"]
