"""A test double of the controller's two agent endpoints, over real HTTP.

It verifies every request's credential, signs its answers (with a wrong key
when ``answer_key`` says so), re-sends orders until acked (or always, while
``ignore_acks``), acks events unless ``ack_events`` is False, and parks a sync
as a long poll until it has orders or ``wait_s`` passes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nodeagent import protocol


class FakeController:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self.answer_key = key
        self.cond = threading.Condition()
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_sends: dict[int, int] = {}
        self.acked_orders: list[int] = []
        self.ignore_acks = False
        self.ack_events = True
        self.registrations: list[dict[str, Any]] = []
        self.syncs: list[dict[str, Any]] = []
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.credentials: list[protocol.Credential] = []
        self.bad_credentials: list[str] = []
        self.closing = False
        self.down = False  # answer 503 to everything, as a controller being restarted
        self._nonces = protocol.NonceMemory()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def send(self, order: dict[str, Any]) -> None:
        with self.cond:
            self.orders[order["id"]] = order
            self.cond.notify_all()

    def ended(self, job_id: int) -> list[tuple[float, dict[str, Any]]]:
        with self.cond:
            return [
                (t, e) for t, e in self.events if e["kind"] == "ended" and e["job_id"] == job_id
            ]

    def wait_for(self, what: Any, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (result := what()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting")
                self.cond.wait(min(left, 0.05))
            return result

    # ---- HTTP ---------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ctl = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if ctl.down:
                    self._reply(503, {})
                    return
                try:
                    cred = protocol.verify(
                        ctl.key, self.headers.get(protocol.HEADER, ""), body,
                        now=time.time(), seen_nonce=ctl._nonces,
                    )  # fmt: skip
                except protocol.CredentialError as exc:
                    ctl.bad_credentials.append(str(exc))
                    self._reply(403, {"errors": [{"error": str(exc)}]})
                    return
                ctl.credentials.append(cred)
                msg = json.loads(body)
                if self.path == protocol.REGISTER_PATH:
                    with ctl.cond:
                        ctl.registrations.append(msg)
                        ctl.cond.notify_all()
                    self._reply(200, {"heartbeat_s": 10})
                elif self.path == protocol.SYNC_PATH:
                    self._reply(200, ctl._sync(msg))
                else:
                    self._reply(404, {})

            def _reply(self, status: int, answer: dict[str, Any]) -> None:
                data = protocol.encode(answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header(
                    protocol.HEADER,
                    protocol.sign(ctl.answer_key, data, host="controller", uid=0, gid=0),
                )
                self.end_headers()
                with contextlib.suppress(OSError):  # the agent hung up (stopping)
                    self.wfile.write(data)

        return Handler

    def _sync(self, msg: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self.cond:
            self.syncs.append(msg)
            for ev in msg["events"]:
                self.events.append((now, ev))
            for oid in msg["acks"]:
                self.acked_orders.append(oid)
                if not self.ignore_acks:
                    self.orders.pop(oid, None)
            self.cond.notify_all()
            deadline = time.monotonic() + msg["wait_s"]
            while not self.orders and not self.closing and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            orders = list(self.orders.values())
            for o in orders:
                self.order_sends[o["id"]] = self.order_sends.get(o["id"], 0) + 1
            acked = [ev["seq"] for ev in msg["events"]] if self.ack_events else []
            return {"orders": orders, "acked_events": acked}
