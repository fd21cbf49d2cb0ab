"""A small JSON client for the controller's REST API.

``requests``/``httpx`` would cost more import time than a whole sbatch run
should take, and so does ``http.client`` (12 ms of a 60 ms sbatch: it imports
the ``email`` package): plain ``http://`` URLs are spoken over a socket here
(HTTP/1.1, Content-Length or chunked answers); ``https://`` ones go through
``http.client``, imported only then. One keep-alive connection per Client; a
dropped connection is re-opened once. For the same reason ``urllib.parse`` is
not used (2 ms of imports with ``ipaddress``): the controller's URL and the
query strings are simple enough to split and encode here.
"""

from __future__ import annotations

import _socket  # socket's C core: ``socket`` adds enums and selectors (~2 ms of imports)
import io

from drover import jsonwire
from drover.clientconf import ClientConf

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

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
        try:
            scheme, host, port, path = split_url(conf.url)
        except ValueError:
            scheme = host = ""
        if scheme not in ("http", "https") or not host:
            raise ApiUnreachable(f"bad controller URL {conf.url!r}")
        self._https = scheme == "https"
        self._host = host
        self._port = port
        self._prefix = path.rstrip("/")
        self._token = conf.token
        self._timeout = timeout
        self._conn: Any = None  # http.client.HTTPSConnection for https, else _Conn

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._request("GET", path + ("?" + encode_query(query) if query else ""), None)

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", path, body)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else jsonwire.dumps(body).encode()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        url = self._prefix + path
        if self._https:
            return self._request_https(method, url, data, headers)
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                if self._conn is None:
                    self._conn = _Conn(self._host, self._port or 80, self._timeout)
                status, raw = self._conn.request(method, url, data, headers)
                break
            except _Dropped as exc:
                self.close()  # a keep-alive connection the server closed: once more
                if attempt == 2 or not reused:
                    raise ApiUnreachable(str(exc)) from None
            except (OSError, ValueError) as exc:
                self.close()
                raise ApiUnreachable(str(exc) or type(exc).__name__) from None
        return _decode(status, raw)

    def _request_https(self, method: str, url: str, data: bytes | None,
                       headers: dict[str, str]) -> Any:
        import http.client

        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection(self._host, self._port,
                                                         timeout=self._timeout)
            try:
                self._conn.request(method, url, body=data, headers=headers)
                response = self._conn.getresponse()
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


def split_url(url: str) -> tuple[str, str, int | None, str]:
    """``http://host:port/prefix`` -> (scheme, host, port, path), as ``urlsplit`` reads
    them (lower-case scheme and host, IPv6 in brackets, user info, query and fragment
    dropped). ValueError for a port that is not a number in 0..65535."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return "", "", None, ""
    for mark in "?#":
        rest = rest.partition(mark)[0]
    netloc, slash, path = rest.partition("/")
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host, _, port_text = netloc[1:].partition("]")
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = netloc.partition(":")
    port = int(port_text) if port_text else None
    if port is not None and not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return scheme.lower(), host.lower(), port, slash + path


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def encode_query(params: dict[str, Any]) -> str:
    """``a=1&b=x%2Cy``: each key and ``str(value)`` as UTF-8, all but RFC 3986's
    unreserved characters percent-encoded (what ``urlencode`` sends, with ``%20``
    for a space)."""

    def quote(text: str) -> str:
        return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())

    return "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in params.items())


class _Dropped(Exception):
    """A kept-alive connection that the server had closed before our request."""


class _Conn:
    """One HTTP/1.1 connection over a plain socket: a request, its whole answer."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._host = host if ":" not in host else f"[{host}]"
        self._port = port
        # getaddrinfo encodes a str host with the idna codec (~1 ms of imports: stringprep,
        # unicodedata); an ASCII host name or address needs no encoding.
        sock = _connect(host.encode("ascii") if host.isascii() else host, port, timeout)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self._sock: Any = sock
        self._file = io.BufferedReader(_SocketReader(sock))

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def request(self, method: str, url: str, data: bytes | None,
                headers: dict[str, str]) -> tuple[int, bytes]:
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if data is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(data or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self._sock.sendall(head + (data or b""))
            status_line = self._file.readline(65537)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Dropped(str(exc)) from None
        if not status_line:
            raise _Dropped("the server closed the connection")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
        status = int(parts[1])
        fields: dict[str, str] = {}
        while True:
            line = self._file.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in fields:
            body = self._read_exact(int(fields["content-length"]))
        elif method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = self._file.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            self.close()
            self._sock = _ClosedSocket()
        return status, body

    def _read_exact(self, n: int) -> bytes:
        body = self._file.read(n)
        if len(body) != n:
            raise ValueError("the answer was cut short")
        return body

    def _read_chunked(self) -> bytes:
        out: list[bytes] = []
        while True:
            size = int(self._file.readline(65537).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self._file.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(out)
            out.append(self._read_exact(size))
            self._file.readline(65537)


def _connect(host: bytes | str, port: int, timeout: float) -> _socket.socket:
    """``socket.create_connection``: the first of the host's addresses that answers."""
    error: OSError = OSError(f"no address for {host!r}")
    for family, kind, proto, _name, address in _socket.getaddrinfo(
            host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class _SocketReader(io.RawIOBase):
    """The socket as a raw stream for ``io.BufferedReader`` (``socket.makefile("rb")``);
    reads keep the socket's timeout."""

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)


class _ClosedSocket:
    """Stands in after the server said ``Connection: close``: the next request reconnects."""

    def sendall(self, data: bytes) -> None:
        raise BrokenPipeError("connection closed by the server")

    def close(self) -> None:
        pass


def _decode(status: int, raw: bytes) -> Any:
    try:
        payload = jsonwire.loads(raw) if raw else {}
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
