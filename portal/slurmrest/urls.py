"""/slurm/v0.0.{38..41}/... and /openapi*: each path with and without a trailing slash.

Included at the site root (portal/urls.py) because the OpenAPI documents live at
/openapi, /openapi.json and /openapi/v3, as slurmrestd serves them.
"""

from __future__ import annotations

from django.urls import re_path

from portal.slurmrest.openapi import openapi_document, unknown_path
from portal.slurmrest.routes import ROUTES
from portal.slurmrest.versions import VERSION_PATTERN

urlpatterns = [
    re_path(rf"^slurm/{VERSION_PATTERN}/{route.regex}/?$", route.view.as_view(),
            name=f"slurmrest-{route.name}")
    for route in ROUTES
] + [
    re_path(r"^openapi(?:\.json|/v3)?/?$", openapi_document, name="slurmrest-openapi"),
    re_path(r"^slurm(?:/.*)?$", unknown_path),
]
