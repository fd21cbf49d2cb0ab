"""A small JSON client for the controller's REST API, over ``http.client``.

``requests``/``httpx`` would cost more import time than a whole sbatch run
should take. One keep-alive connection per Client; a dropped connection is
re-opened once.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from drover.clientconf import ClientConf

USER_AGENT = "drover-cli/0.1"


class ApiError(Exception):
    """The controller said no (HTTP 4xx/5xx); ``errors`` is its ``errors`` list."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        self.status = status
        self.errors = errors
        first = errors[0].get("error") if errors else None
        super().__init__(str(first or f"HTTP {status}"))

    @property
    def error(self) -> str:
        return str(self)

    @property
    def detail(self) -> list[str]:
        lines: list[str] = []
        for e in self.errors:
            detail = e.get("detail") or []
            lines.extend([detail] if isinstance(detail, str) else [str(d) for d in detail])
        return lines


class ApiUnreachable(Exception):
    """No answer from the controller (refused, timed out, not HTTP)."""


class Client:
    def __init__(self, conf: ClientConf, timeout: float = 60.0) -> None:
        parts = urlsplit(conf.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiUnreachable(f"bad controller URL {conf.url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = conf.token
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._request("GET", path + ("?" + urlencode(query) if query else ""), None)

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", path, body)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        url = self._prefix + path
        for attempt in (1, 2):
            conn = self._connect()
            try:
                conn.request(method, url, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                self.close()  # a keep-alive connection the server closed: once more
                if attempt == 2:
                    raise ApiUnreachable(str(exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise ApiUnreachable(str(exc) or type(exc).__name__) from None
        return _decode(response.status, raw)


def _decode(status: int, raw: bytes) -> Any:
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = None
    if status >= 400:
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if not isinstance(errors, list) or not errors:
            text = raw.decode(errors="replace").strip()[:200]
            errors = [{"error": text or f"HTTP {status}", "error_number": status}]
        raise ApiError(status, [e if isinstance(e, dict) else {"error": str(e)} for e in errors])
    if payload is None:
        raise ApiUnreachable(f"the controller answered HTTP {status} without JSON")
    return payload
