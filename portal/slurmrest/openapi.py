"""The OpenAPI 3.0.3 document of what we serve, built from the route table.

slurmrestd answers /openapi, /openapi.json and /openapi/v3 with one document
listing every plugin version it loaded; clients (pyslurmutils, generated
clients) read the versions from its paths. Unknown paths under /slurm/ get
slurmrestd's words (golden 109) in our JSON error shape.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from portal.slurmrest import envelope
from portal.slurmrest.routes import ROUTES
from portal.slurmrest.versions import VERSIONS, release

UNKNOWN_URL = "Unable find requested URL. Please view /openapi/v3 for API reference."
_ERROR_SCHEMA = {"type": "object", "properties": {
    "error": {"type": "string"}, "error_number": {"type": "integer"},
    "description": {"type": "string"}, "source": {"type": "string"}}}


def _parameters(path: str, method: str) -> list[dict[str, Any]]:
    params = [{"name": part.strip("{}"), "in": "path", "required": True,
               "style": "simple", "explode": False, "schema": {"type": "string"}}
              for part in path.split("/") if part.startswith("{")]
    if method == "delete":
        params.append({"name": "signal", "in": "query", "required": False,
                       "schema": {"type": "string"}, "description": "signal to send to job"})
    return params


def _operation(version: str, route_name: str, method: str, summary: str,
               path: str) -> dict[str, Any]:
    tag = version.replace(".", "_")
    op: dict[str, Any] = {
        "tags": ["slurm"], "operationId": f"slurm_{tag}_{method}_{route_name}",
        "summary": summary, "parameters": _parameters(path, method),
        "responses": {
            "200": {"description": summary, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/response"}}}},
            "default": {"description": "errors", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/response"}}}}},
    }
    if method == "post":
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{version}_job_submission"}}}}
    return op


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for version in VERSIONS:
        for route in ROUTES:
            path = f"/slurm/{version}/{route.path}"
            paths[path] = {m: _operation(version, route.name, m, s, route.path)
                           for m, s in route.methods.items()}
    schemas: dict[str, Any] = {
        "error": _ERROR_SCHEMA,
        "response": {"type": "object", "required": ["meta", "errors", "warnings"],
                     "properties": {"meta": {"type": "object"},
                                    "errors": {"type": "array",
                                               "items": {"$ref": "#/components/schemas/error"}},
                                    "warnings": {"type": "array", "items": {"type": "object"}}},
                     "additionalProperties": True},
    }
    for version in VERSIONS:
        env = ({"type": "object"} if version == "v0.0.38"
               else {"type": "array", "items": {"type": "string"}})
        job = {"type": "object", "properties": {"environment": env,
                                                "script": {"type": "string"}}}
        schemas[f"{version}_job_submission"] = {"type": "object", "properties": {
            "script": {"type": "string"}, "job": job}}
    major, minor, micro = release()
    return {
        "openapi": "3.0.3",
        "info": {"title": "Slurm Rest API", "description": "API to access and control Slurm.",
                 "version": f"{major}.{minor:02d}.{micro}",
                 "license": {"name": "Apache 2.0",
                             "url": "https://www.apache.org/licenses/LICENSE-2.0.html"}},
        "servers": [{"url": "/"}],
        "security": [{"user": [], "token": []}, {"bearerAuth": []}],
        "tags": [{"name": "slurm", "description": "methods that query slurmctld"},
                 {"name": "openapi", "description": "methods that query the OpenAPI"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "user": {"type": "apiKey", "in": "header", "name": "X-SLURM-USER-NAME"},
                "token": {"type": "apiKey", "in": "header", "name": "X-SLURM-USER-TOKEN"},
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas,
        },
    }


def openapi_document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(build_document())


def unknown_path(request: HttpRequest) -> JsonResponse:
    """Golden 109's 404, with the error envelope of the version the path names, if any."""
    parts = request.path.strip("/").split("/")
    version = VERSIONS.get(parts[1] if len(parts) > 1 else "", VERSIONS["v0.0.38"])
    data = envelope.body(version)
    data["errors"] = [envelope.error_item("REST_INVALID_QUERY", UNKNOWN_URL, request.path)]
    return JsonResponse(data, status=404)
