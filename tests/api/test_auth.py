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
