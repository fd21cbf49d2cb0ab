"""JWT tokens: minting (scontrol token), expiry, forgery; session auth keeps CSRF."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient

from portal.api.auth import decode_token, mint_token
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401(users: Any) -> None:
    r = APIClient().get("/api/jobs/")
    assert r.status_code == 401
    assert r.json()["errors"][0]["error"] == "Authentication failure"


def test_an_expired_token_is_401(users: Any) -> None:
    r = client_for("daemon", lifespan=-10).get("/api/jobs/")
    assert r.status_code == 401
    assert "expired" in r.json()["errors"][0]["detail"][0].lower()


def test_a_forged_token_is_401(users: Any) -> None:
    bad = jwt.encode({"sub": "root", "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bad}")
    assert client.get("/api/jobs/").status_code == 401


def test_tokens_carry_sub_iat_exp(users: Any) -> None:
    claims = decode_token(mint_token("daemon", 60))
    assert claims["sub"] == "daemon" and claims["exp"] - claims["iat"] == 60


def test_users_mint_their_own_tokens_operators_anyones(users: Any) -> None:
    r = client_for("daemon").post("/api/token/", {"lifespan": 120}, format="json")
    assert r.status_code == 200 and decode_token(r.json()["token"])["sub"] == "daemon"
    r = client_for("daemon").post("/api/token/", {"username": "bin"}, format="json")
    assert r.status_code == 403
    r = client_for("root").post("/api/token", {"username": "bin", "lifespan": 60}, format="json")
    assert decode_token(r.json()["token"])["sub"] == "bin"


def test_session_auth_enforces_csrf(users: Any, cluster: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(users["daemon"])
    assert client.get("/api/jobs/").status_code == 200
    r = client.post("/api/jobs/", {"script": "#!/bin/sh\n", "cwd": "/tmp"}, format="json")
    assert r.status_code == 403


def test_a_user_cannot_mint_a_token_longer_than_the_maximum(users: Any,
                                                            settings: Any) -> None:
    settings.JWT_MAX_LIFESPAN_S = 3600
    r = client_for("daemon").post("/api/token/", {"lifespan": 3601}, format="json")
    assert r.status_code == 403 and "DROVER_JWT_MAX_LIFESPAN" in r.json()["errors"][0]["detail"][0]
    r = client_for("daemon").post("/api/token/", {"lifespan": 3600}, format="json")
    assert r.status_code == 200
    r = client_for("root").post("/api/token/", {"lifespan": 10**6}, format="json")
    claims = decode_token(r.json()["token"])
    assert claims["exp"] - claims["iat"] == 10**6


def test_an_unexpected_failure_is_a_json_500(users: Any, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("portal.api.views.cluster.config.get", broken)
    r = client_for("daemon").get("/api/ping/")
    assert r.status_code == 500
    assert r.json()["errors"][0]["error"] == "Unspecified error"
