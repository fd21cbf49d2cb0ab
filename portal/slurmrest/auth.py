"""slurmrestd's JWT auth: ``X-SLURM-USER-NAME`` + ``X-SLURM-USER-TOKEN``, or a bearer token.

The token is our JWT (HS256 with the cluster key, ``sub``, ``exp``: ``scontrol
token``). The user name header, when given, must be the token's user, except
that an operator's token may act as anyone (slurmrestd's SlurmUser/root rule).
No credentials, a bad or expired token, or a mismatch is a 401.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.api.auth import decode_token
from scheduler.actions.access import is_operator


def _user(username: str) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username)
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive")
    return user


class SlurmTokenAuthentication(authentication.BaseAuthentication):  # type: ignore[misc]
    def authenticate(self, request: Request) -> tuple[Any, dict[str, Any]] | None:
        name = request.META.get("HTTP_X_SLURM_USER_NAME", "").strip()
        token = request.META.get("HTTP_X_SLURM_USER_TOKEN", "").strip()
        if not token:
            keyword, _, rest = (authentication.get_authorization_header(request)
                                .decode("latin-1").partition(" "))
            token = rest.strip() if keyword.lower() == "bearer" else ""
        if not token:
            if name:
                raise exceptions.AuthenticationFailed("X-SLURM-USER-TOKEN missing")
            return None
        try:
            claims = decode_token(token)
        except jwt.ExpiredSignatureError:
            raise exceptions.AuthenticationFailed("Token expired") from None
        except jwt.InvalidTokenError:
            raise exceptions.AuthenticationFailed("Invalid token") from None
        user = _user(claims["sub"])
        if name and name != claims["sub"]:
            if not is_operator(user):
                raise exceptions.AuthenticationFailed(
                    f"token of {claims['sub']} may not act as {name}")
            user = _user(name)
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
