"""slurmrestd's JWT auth: ``X-SLURM-USER-NAME`` + ``X-SLURM-USER-TOKEN``, or a bearer token.

The token is our JWT (HS256 with the cluster key, ``sub``, ``exp``: ``scontrol
token``). The user name header, when given, must be the token's user, except
that an operator's token may act as anyone (slurmrestd's SlurmUser/root rule).
No credentials, a bad or expired token, or a mismatch is a 401.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.api.auth import active_user, authenticate_token
from scheduler.actions.access import is_operator


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
        user, claims = authenticate_token(token)
        if name and name != claims["sub"]:
            if not is_operator(user):
                raise exceptions.AuthenticationFailed(
                    f"token of {claims['sub']} may not act as {name}")
            user = active_user(name)
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
