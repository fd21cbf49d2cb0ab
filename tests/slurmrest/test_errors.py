"""Errors in slurmrestd's shape and status (goldens 106, 107, 109, 113, 114), and auth."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient

from portal.api.auth import mint_token
from tests.api.builders import GOLDEN, make_job
from tests.slurmrest.conftest import VERSIONS, golden_json

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"error", "error_number", "description", "source"}
BAD_PARTITION = {"script": "#!/bin/bash\ntrue", "job": {
    "partition": "nosuch", "current_working_directory": "/tmp", "environment": {"PATH": "/bin"}}}


def _only_error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) >= {"meta", "errors", "warnings"}
    assert body["warnings"] == []
    [error] = body["errors"]
    assert set(error) == ERROR_KEYS
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_job_is_500_with_golden_107s_error(cluster: Any, rest: Any,
                                                      version: str) -> None:
    r = rest("daemon").get(f"/slurm/{version}/job/999999")
    assert r.status_code == 500  # golden 114
    assert _only_error(r) == golden_json("107")["errors"][0]
    assert r.json()["jobs"] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_bad_partition_is_500_with_slurms_words(cluster: Any, rest: Any, version: str) -> None:
    r = rest("daemon").post(f"/slurm/{version}/job/submit", BAD_PARTITION, format="json")
    assert r.status_code == 500  # golden 114
    golden = golden_json("106")["errors"][0]
    if version == "v0.0.38":  # its submit's own key as well as the usual ones
        [error] = r.json()["errors"]
        assert set(error) == ERROR_KEYS | {"error_code"}
        assert {k: error[k] for k in golden} == golden
    else:
        error = _only_error(r)
    assert (error["error"], error["error_number"]) == (golden["error"], golden["error_code"])
    assert error["source"] == "slurm_submit_batch_job()"


def test_an_unknown_node_or_partition_is_500(cluster: Any, rest: Any) -> None:
    client = rest("daemon")
    r = client.get("/slurm/v0.0.38/node/nosuch")
    assert r.status_code == 500  # golden 114
    assert _only_error(r)["error"] == "Invalid node name specified"
    r = client.get("/slurm/v0.0.41/partition/nosuch/")
    assert r.status_code == 500
    assert _only_error(r)["error_number"] == 2000


def test_cancelling_a_finished_job_is_an_error(cluster: Any, rest: Any) -> None:
    job = make_job("daemon", state="COMPLETED")
    r = rest("daemon").delete(f"/slurm/v0.0.40/job/{job.id}")
    assert r.status_code == 500
    assert _only_error(r)["error"] == "Job/step already completing or completed"


def test_a_body_that_is_not_a_job_is_400(cluster: Any, rest: Any) -> None:
    client = rest("daemon")
    r = client.post("/slurm/v0.0.39/job/submit", {"nojob": 1}, format="json")
    assert r.status_code == 400
    assert _only_error(r)["error_number"] == 9002
    r = client.post("/slurm/v0.0.39/job/submit", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert _only_error(r)["error_number"] == 9001


@pytest.mark.parametrize("path", ["/slurm/v0.0.38/nosuch", "/slurm/v0.0.41/jobs/extra",
                                  "/slurm/v0.0.37/ping", "/slurm/"])
def test_an_unknown_path_is_404_with_golden_109s_words(db: Any, path: str) -> None:
    r = APIClient().get(path)
    assert r.status_code == 404
    assert _only_error(r)["description"] == golden_text_109()


def golden_text_109() -> str:
    text = next(GOLDEN.glob("109_*.txt")).read_text()
    return text.split("\n\n", 1)[1].split("\n--- stderr")[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_credentials_is_401(users: Any, version: str) -> None:
    r = APIClient().get(f"/slurm/{version}/ping")
    assert r.status_code == 401  # golden 113
    assert _only_error(r)["error"] == "Authentication failure"


def test_an_expired_token_is_401(users: Any, rest: Any) -> None:
    r = rest("daemon", lifespan=-10).get("/slurm/v0.0.38/ping")
    assert r.status_code == 401
    assert "expired" in _only_error(r)["description"].lower()


def test_a_forged_token_is_401(users: Any) -> None:
    forged = jwt.encode({"sub": "root", "exp": int(time.time()) + 60}, "x" * 32,
                        algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_X_SLURM_USER_NAME="root", HTTP_X_SLURM_USER_TOKEN=forged)
    assert client.get("/slurm/v0.0.38/jobs").status_code == 401


def test_a_user_name_that_is_not_the_tokens_is_401(users: Any, rest: Any) -> None:
    r = rest("daemon", as_user="root").get("/slurm/v0.0.38/jobs")
    assert r.status_code == 401


def test_a_user_name_without_a_token_is_401(users: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_X_SLURM_USER_NAME="daemon")
    assert client.get("/slurm/v0.0.38/ping").status_code == 401


def test_a_bearer_token_works_too(users: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_token('daemon', 60)}")
    r = client.get("/slurm/v0.0.40/ping/")
    assert r.status_code == 200
    assert r.json()["pings"][0]["pinged"] == "UP"


def test_an_unforeseen_failure_is_a_500_in_the_envelope(cluster: Any, rest: Any,
                                                        monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("portal.slurmrest.views.jobs.queue_jobs", broken)
    r = rest("daemon").get("/slurm/v0.0.38/jobs")
    assert r.status_code == 500
    error = _only_error(r)
    assert (error["error"], error["source"]) == ("Unspecified error", "slurm_load_jobs")
