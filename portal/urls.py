"""URL map: the REST API under /api/, agent endpoints, the web portal at /."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("portal.api.urls")),
    path("", include("portal.slurmrest.urls")),  # /slurm/v0.0.XX/..., /openapi (slurmrestd)
    path("", include("portal.web.urls")),
]
