"""JWT bearer tokens for the commands and REST clients (``scontrol token``).

HS256 signed with the cluster key; claims ``sub`` (user name), ``iat``, ``exp``.
An expired or forged token is a 401. The Django user row is created on first
use of a valid token (the token itself is the proof: only the controller signs).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.request import Request

ALGORITHM = "HS256"


def mint_token(username: str, lifespan_s: int) -> str:
    now = int(time.time())
    claims = {"sub": username, "iat": now, "exp": now + int(lifespan_s)}
    return jwt.encode(claims, settings.CLUSTER_KEY, algorithm=ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    """The claims of a valid token; raises jwt.InvalidTokenError."""
    claims: dict[str, Any] = jwt.decode(token, settings.CLUSTER_KEY, algorithms=[ALGORITHM],
                                        options={"require": ["sub", "exp"]})
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise jwt.InvalidTokenError("no subject")
    return claims


def authenticate_token(token: str) -> tuple[Any, dict[str, Any]]:
    """The active user a token names, and its claims; AuthenticationFailed (401) if bad."""
    try:
        claims = decode_token(token)
    except jwt.ExpiredSignatureError:
        raise exceptions.AuthenticationFailed("Token expired") from None
    except jwt.InvalidTokenError:
        raise exceptions.AuthenticationFailed("Invalid token") from None
    return active_user(claims["sub"]), claims


def active_user(username: str) -> Any:
    """The user row for a name vouched for by a token, created on first use."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive")
    return user


class JWTAuthentication(authentication.BaseAuthentication):  # type: ignore[misc]
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, dict[str, Any]] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, token = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed("Empty bearer token")
        return authenticate_token(token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
