"""A stand-in for the controller client: canned answers per (method, path), calls recorded."""

from __future__ import annotations

from typing import Any

from drover.api import ApiError


def api_error(text: str, status: int = 404) -> ApiError:
    return ApiError(status, [{"error": text, "error_number": 2017, "detail": []}])


class FakeCtl:
    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, Any]] = []

    def _answer(self, method: str, path: str, data: Any) -> Any:
        self.calls.append((method, path, data))
        answer = self.answers.get((method, path), {})
        if isinstance(answer, Exception):
            raise answer
        return answer(data) if callable(answer) else answer

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._answer("GET", path, params)

    def post(self, path: str, body: Any) -> Any:
        return self._answer("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._answer("PATCH", path, body)
