"""The commands' HTTP client against a real HTTP/1.1 server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drover.api import ApiError, ApiUnreachable, Client
from drover.clientconf import ClientConf


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str | None, bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, *, chunked: bool = False,
               close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        if close:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append(("GET", self.path, self.headers.get("Authorization"), b""))
        if self.path.startswith("/chunked"):
            self._reply(200, json.dumps({"jobs": list(range(50))}).encode(), chunked=True)
        elif self.path.startswith("/close"):
            self._reply(200, b'{"ok": 1}', close=True)
        elif self.path.startswith("/html"):
            self._reply(502, b"<html>bad gateway</html>")
        else:
            self._reply(200, json.dumps({"path": self.path}).encode())

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.path, self.headers.get("Authorization"), body))
        errors = [{"error": "Invalid partition name specified", "error_number": 2000,
                   "detail": ["invalid partition specified: nosuch"]}]
        self._reply(400, json.dumps({"errors": errors}).encode())


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_it_sends_the_token_and_query_and_reads_json(server: str) -> None:
    client = Client(ClientConf(server, "tok"))
    assert client.get("/api/jobs/", {"user": "alice", "state": None}) == {
        "path": "/api/jobs/?user=alice"}
    assert _Handler.seen[0][2] == "Bearer tok"


def test_it_reads_chunked_answers_and_keeps_the_connection(server: str) -> None:
    client = Client(ClientConf(server))
    assert client.get("/chunked")["jobs"] == list(range(50))
    assert client.get("/again") == {"path": "/again"}


def test_it_reconnects_after_the_server_closes(server: str) -> None:
    client = Client(ClientConf(server))
    assert client.get("/close") == {"ok": 1}
    assert client.get("/after") == {"path": "/after"}


def test_errors_carry_slurms_text_and_detail(server: str) -> None:
    client = Client(ClientConf(server))
    with pytest.raises(ApiError) as info:
        client.post("/api/jobs/", {"partition": "nosuch"})
    assert info.value.status == 400
    assert info.value.error == "Invalid partition name specified"
    assert info.value.detail == ["invalid partition specified: nosuch"]
    assert json.loads(_Handler.seen[0][3]) == {"partition": "nosuch"}


def test_a_non_json_error_still_names_the_status(server: str) -> None:
    with pytest.raises(ApiError, match="bad gateway"):
        Client(ClientConf(server)).get("/html")


def test_an_unreachable_controller_is_reported() -> None:
    with pytest.raises(ApiUnreachable):
        Client(ClientConf("http://127.0.0.1:9"), timeout=2).get("/api/ping/")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000", "http://Controller.Example:80/drover/", "https://h/",
    "http://[::1]:8000/x", "http://user:pw@host:1/p?q=1#f", "HTTP://h", "http://h:/p",
])
def test_split_url_reads_urls_as_urlsplit_does(url: str) -> None:
    from urllib.parse import urlsplit

    from drover.api import split_url

    parts = urlsplit(url)
    assert split_url(url) == (parts.scheme, parts.hostname or "", parts.port, parts.path)


def test_encode_query_round_trips_through_the_servers_parser() -> None:
    from urllib.parse import parse_qsl

    from drover.api import encode_query

    params = {"fields": "job_id,state", "user": "jé doe", "job": 12, "x": "a&b=c+d/e%"}
    assert parse_qsl(encode_query(params)) == [(k, str(v)) for k, v in params.items()]
