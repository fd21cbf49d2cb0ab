"""/api/reservations/: operators create, update and delete; everyone lists and shows."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

BODY = {"name": "r1", "start_time": 0, "duration_min": 30, "users": "daemon", "nodes": "n1"}


def body(**kw: Any) -> dict[str, Any]:
    return {**BODY, "start_time": int(time.time()), **kw}


def test_an_operator_manages_a_reservation(cluster: Any, api: Any) -> None:
    root = api("root")
    r = root.post("/api/reservations/", body(), format="json")
    assert r.status_code == 201 and r.json()["nodes"] == "n1"
    listed = api("daemon").get("/api/reservations/").json()["reservations"]
    assert [x["name"] for x in listed] == ["r1"]
    assert api("bin").get("/api/reservations/r1").json()["duration_min"] == 30
    r = root.patch("/api/reservations/r1/", {"duration_min": 45}, format="json")
    assert r.status_code == 200 and r.json()["duration_min"] == 45
    assert root.post("/api/reservations/r1/delete/", {}, format="json").status_code == 200
    assert root.get("/api/reservations/r1/").status_code == 400


def test_users_may_not_create_and_errors_have_slurms_shape(cluster: Any, api: Any) -> None:
    r = api("daemon").post("/api/reservations/", body(), format="json")
    assert r.status_code == 403
    assert r.json()["errors"][0]["error"] == "Access/permission denied"
    root = api("root")
    assert root.post("/api/reservations/", body(), format="json").status_code == 201
    r = root.post("/api/reservations/", body(name="r2"), format="json")
    assert r.status_code == 409
    assert r.json()["errors"][0] == {
        "error": "Requested reservation overlaps with another reservation",
        "error_number": 2057, "detail": []}


def test_delete_method_works_too(cluster: Any, api: Any) -> None:
    root = api("root")
    root.post("/api/reservations/", body(), format="json")
    assert root.delete("/api/reservations/r1/").status_code == 200
    assert root.get("/api/reservations/").json() == {"reservations": []}
