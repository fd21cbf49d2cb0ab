"""Fixtures for the REST API tests: the golden-like cluster and three users with tokens."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.api.auth import mint_token
from tests.api.builders import make_cluster, make_user


@pytest.fixture
def cluster(db: Any) -> Any:
    return make_cluster()


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    return {"root": make_user("root", operator=True), "daemon": make_user("daemon"),
            "bin": make_user("bin")}


def client_for(username: str, lifespan: int = 3600) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_token(username, lifespan)}")
    return client


@pytest.fixture
def api(users: dict[str, Any]) -> Any:
    """``api("daemon")`` -> an APIClient authenticated with that user's JWT."""
    return client_for
