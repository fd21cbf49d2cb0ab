"""Fixtures for the slurmrestd-compatible API: the golden-like cluster, users, header clients."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.api.auth import mint_token
from tests.api import conftest as api_fixtures
from tests.api.builders import GOLDEN

cluster = api_fixtures.cluster  # the golden-like cluster and users of tests/api
users = api_fixtures.users
VERSIONS = ("v0.0.38", "v0.0.39", "v0.0.40", "v0.0.41")


def slurm_client(username: str, lifespan: int = 3600, *, as_user: str | None = None) -> APIClient:
    """A client sending ``X-SLURM-USER-NAME`` / ``X-SLURM-USER-TOKEN`` as slurmrestd wants."""
    client = APIClient()
    client.credentials(HTTP_X_SLURM_USER_NAME=as_user or username,
                       HTTP_X_SLURM_USER_TOKEN=mint_token(username, lifespan))
    return client


@pytest.fixture
def rest(users: dict[str, Any]) -> Any:
    """``rest("daemon")`` -> a client authenticated with that user's token headers."""
    return slurm_client


def golden_json(number: str) -> Any:
    """The JSON body real slurmrestd answered in ``slurm-golden/<number>_*.txt``."""
    text = next(GOLDEN.glob(f"{number}_*.txt")).read_text()
    start = text.index("\n", text.index("--- stdout")) + 1
    return json.loads(text[start:text.index("\n--- stderr")])
