"""The node agent daemon (slurmd): registers, takes orders, reports events.

Threads and why:

* the *poller* holds a long poll (``sync`` with ``wait_s`` ≈ 20) on its own
  keep-alive connection, so an order reaches the node the moment the
  controller has one; it carries the acks of applied orders (so the
  controller stops re-sending them) but no events;
* the *sender* carries events, acks and the running steps' latest usage
  samples (``sstat``'s figures) on a second connection with ``wait_s=0``. It
  sleeps on ``_wake`` (a threading.Event) that every new event and every
  applied order sets, so the end of a job is reported at once
  even while the poller's request is parked at the controller; unacked events
  are re-sent every ``RESEND_S`` and a heartbeat goes out every
  ``heartbeat_s``. Woken, it first lets ``GATHER_S`` pass, so that what
  happens together (a launch's ack and start, a short job's start and end,
  jobs ending at once) goes in one sync;
* one ``Step`` thread per running job sees its end through a pidfd.

An event is journaled (``Spool``) before it is sent and dropped only when the
controller lists its seq in ``acked_events``; order ids are journaled when
applied, so a re-sent order is acked again but applied once. While the
controller is unreachable both loops retry with backoff and jobs keep running;
after a failure the poller registers again, reporting the jobs still running.
Stopping the agent leaves jobs running (as stopping slurmd does); the next
agent re-adopts them by pid from the spool.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import socket
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import psutil

from nodeagent import cgroups, protocol
from nodeagent.cgroups import JobCgroup
from nodeagent.hardware import Hardware
from nodeagent.launcher import LaunchError, Spawned, launch, parse_signal
from nodeagent.monitor import node_load
from nodeagent.protocol import Event, LaunchPayload, Order
from nodeagent.spool import JobRecord, Spool
from nodeagent.step import Ending, Step, exit_and_signal, reap

log = logging.getLogger(__name__)

RESEND_S = 1.0
GATHER_S = 0.01
MAX_BACKOFF_S = 10.0


class ControllerError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Connection:
    """One keep-alive HTTP connection: signs each request, verifies each answer."""

    def __init__(self, url: str, key: bytes, node: str, nonces: protocol.NonceMemory) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid controller URL: {url}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._key = key
        self._node = node
        self._nonces = nonces
        self._conn: http.client.HTTPConnection | None = None
        self._aborted = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def abort(self) -> None:
        """From another thread: end a request in flight (a parked long poll)."""
        self._aborted = True
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
            return self._conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        self._conn = cls(self._host, self._port, timeout=timeout)
        return self._conn, False

    def post(self, path: str, body: object, *, timeout: float) -> dict[str, Any]:
        data = protocol.encode(body)
        for attempt in (1, 2):
            if self._aborted:
                raise ControllerError(f"{path}: agent stopping")
            conn, reused = self._connection(timeout)
            cred = protocol.sign(self._key, data, host=self._node, uid=os.getuid(), gid=os.getgid())
            headers = {"Content-Type": "application/json", protocol.HEADER: cred}
            try:
                conn.request("POST", self._prefix + path, data, headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                stale = isinstance(exc, ConnectionError | http.client.RemoteDisconnected)
                if attempt == 1 and reused and stale:
                    continue  # the server closed an idle keep-alive connection
                raise ControllerError(f"{path}: {exc or type(exc).__name__}") from exc
            return self._answer(path, resp, raw)
        raise AssertionError("unreachable")

    def _answer(self, path: str, resp: http.client.HTTPResponse, raw: bytes) -> dict[str, Any]:
        if resp.status != 200:
            text = raw[:300].decode(errors="replace")
            raise ControllerError(f"{path}: HTTP {resp.status}: {text}", resp.status)
        header = resp.getheader(protocol.HEADER)
        if not header:
            self.close()
            raise ControllerError(f"{path}: answer without a credential; ignored")
        try:
            protocol.verify(self._key, header, raw, now=time.time(), seen_nonce=self._nonces)
        except protocol.CredentialError as exc:
            self.close()
            raise ControllerError(f"{path}: answer rejected: {exc}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ControllerError(f"{path}: answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise ControllerError(f"{path}: answer is not a JSON object")
        return answer


class Agent:
    def __init__(
        self,
        *,
        url: str,
        key: bytes,
        node: str,
        spool_dir: Path,
        hardware: Hardware,
        wait_s: float = 20.0,
        use_cgroups: bool | None = None,
        sample_s: float = 0.5,
        slurm_conf: str | None = None,
    ) -> None:
        self.url = url
        self.slurm_conf = slurm_conf
        self.node = node
        self.hardware = hardware
        self.wait_s = wait_s
        self.sample_s = sample_s
        self.use_cgroups = cgroups.available() if use_cgroups is None else use_cgroups
        self.spool_dir = spool_dir
        self.spool = Spool(spool_dir)
        self.heartbeat_s = 10.0
        self._key = key
        self._nonces = protocol.NonceMemory()
        self._steps: dict[int, Step] = {}
        self._acks: set[int] = set()
        self._lock = threading.Lock()  # _steps, _acks
        self._orders_lock = threading.Lock()  # check-apply-record of one order at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._registered = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[Connection] = []
        self._start_time = time.time()

    # ---- life cycle -----------------------------------------------------------

    def start(self) -> None:
        """Re-adopt spooled jobs and start the poller and sender threads."""
        self.adopt()
        for name, target in (("poller", self._poll_loop), ("sender", self._send_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def run(self, stop: threading.Event) -> None:
        self.start()
        stop.wait()
        self.stop()

    def stop(self) -> None:
        """Stop talking to the controller; jobs keep running (their pids are spooled)."""
        self._stop.set()
        self._wake.set()
        for conn in self._conns:
            conn.abort()
        for thread in self._threads:
            thread.join(timeout=1.0)
        self.spool.close()

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._steps)

    def usage(self) -> list[protocol.StepUsage]:
        """The latest usage sample of every running step that has one."""
        with self._lock:
            steps = [self._steps[j] for j in sorted(self._steps)]
        return [u for s in steps for u in s.usage()]

    def _connection(self) -> Connection:
        conn = Connection(self.url, self._key, self.node, self._nonces)
        self._conns.append(conn)
        return conn

    # ---- talking to the controller ----------------------------------------------

    def register(self, conn: Connection | None = None) -> None:
        hw = self.hardware
        body: protocol.RegisterBody = {
            "node": self.node,
            "cpus": hw.cpus,
            "boards": hw.boards,
            "sockets": hw.sockets,
            "cores_per_socket": hw.cores_per_socket,
            "threads_per_core": hw.threads_per_core,
            "real_memory_mb": hw.real_memory_mb,
            "gres": hw.gres,
            "features": hw.features,
            "version": _version(),
            "boot_time": psutil.boot_time(),
            "running": self.running(),
        }
        own = conn is None
        conn = conn or Connection(self.url, self._key, self.node, self._nonces)
        try:
            answer = conn.post(protocol.REGISTER_PATH, body, timeout=30)
        finally:
            if own:
                conn.close()
        beat = answer.get("heartbeat_s")
        if isinstance(beat, int | float) and beat > 0:
            self.heartbeat_s = float(beat)
        self._registered.set()
        log.info("registered %s with %s (%d running)", self.node, self.url, len(body["running"]))

    def sync_once(self, conn: Connection, *, wait_s: float, events: bool) -> None:
        sent_events = self.spool.pending_events() if events else []
        with self._lock:
            acks = sorted(self._acks)
        load, free = node_load()
        body: protocol.SyncBody = {
            "node": self.node,
            "running": self.running(),
            "events": sent_events,
            "acks": acks,
            "wait_s": wait_s,
            "load": round(load, 2),
            "free_memory_mb": min(free, self.hardware.real_memory_mb),
        }
        if events:  # the heartbeat carries the running steps' usage (sstat's figures)
            body["usage"] = self.usage()
        answer = conn.post(protocol.SYNC_PATH, body, timeout=wait_s + 30)
        if self._stop.is_set():
            return  # stopped while the request was out: obey nothing more
        with self._lock:
            self._acks.difference_update(acks)
        acked = answer.get("acked_events") or []
        self.spool.ack_events([int(s) for s in acked])
        for order in answer.get("orders") or []:
            self.apply(cast(Order, order))

    def _poll_loop(self) -> None:
        conn = self._connection()
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if not self._registered.is_set():
                    self.register(conn)
                self.sync_once(conn, wait_s=self.wait_s, events=False)
                backoff = 0.5
            except ControllerError as exc:
                if self._stop.is_set():
                    break
                log.warning("controller: %s; retrying in %.1f s", exc, backoff)
                self._registered.clear()  # tell it again which jobs still run
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        conn.close()

    def _send_loop(self) -> None:
        conn = self._connection()
        backoff = 0.5
        while not self._stop.is_set():
            pending = bool(self.spool.events) or bool(self._acks)
            if self._wake.wait(RESEND_S if pending else self.heartbeat_s):
                self._stop.wait(GATHER_S)
            self._wake.clear()
            if self._stop.is_set():
                break
            if not self._registered.wait(timeout=1.0):
                continue
            try:
                self.sync_once(conn, wait_s=0, events=True)
                backoff = 0.5
            except ControllerError as exc:
                if self._stop.is_set():
                    break
                log.warning("controller (events): %s; retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                self._wake.set()
        conn.close()

    # ---- orders ---------------------------------------------------------------

    def apply(self, order: Order) -> None:
        """Apply ``order`` unless it was applied before; ack it either way."""
        try:
            oid = int(order["id"])
        except (KeyError, TypeError, ValueError):
            log.error("order without an id ignored: %r", order)
            return
        with self._orders_lock:
            if not self.spool.applied(oid):
                try:
                    self._apply(order)
                except Exception:
                    log.exception("order %s (%s) failed", oid, order.get("kind"))
                self.spool.mark_applied(oid)
        with self._lock:
            self._acks.add(oid)
        self._wake.set()

    def _apply(self, order: Order) -> None:
        kind, job_id, payload = order["kind"], int(order["job_id"]), order.get("payload") or {}
        with self._lock:
            step = self._steps.get(job_id)
        if kind == "launch":
            if step is not None or job_id in self.spool.jobs:
                log.warning(
                    "job %s already runs here; launch order %s ignored", job_id, order["id"]
                )
                return
            self.launch(cast(LaunchPayload, payload))
        elif kind == "signal":
            if step is None:
                log.info("signal for job %s, which does not run here", job_id)
                return
            step.send_signal(parse_signal(cast(str, payload.get("signal") or "KILL")),
                             cast(str, payload.get("scope") or "full"),
                             cast("str | None", payload.get("step")))
        elif kind == "terminate":
            if step is None:
                log.info("terminate for job %s, which does not run here", job_id)
                return
            step.terminate(cast("str | None", payload.get("reason")))
        elif kind == "limit":
            record = self.spool.jobs.get(job_id)
            if step is None or record is None:
                log.info("time limit for job %s, which does not run here", job_id)
                return
            limit = payload.get("time_limit_s")
            seconds = float(cast(float, limit)) if limit else None
            self.spool.add_job({**record, "time_limit_s": seconds})  # kept across restarts
            step.set_time_limit(seconds)
        else:
            log.error("unknown order kind %r ignored", kind)

    def launch(self, payload: LaunchPayload) -> None:
        job_id = int(payload["job_id"])
        try:
            spawned = launch(
                payload, spool_dir=self.spool_dir, node=self.node,
                use_cgroups=self.use_cgroups, slurm_conf=self.slurm_conf,
            )  # fmt: skip
        except (LaunchError, OSError) as exc:
            log.error("job %s: launch failed: %s", job_id, exc)
            now = time.time()
            self._event({"kind": "started", "job_id": job_id, "time": now})
            self._ended(job_id, Ending(1, 0, False, False, 0.0, 0, None, now))
            return
        limit = payload.get("time_limit_s")
        record: JobRecord = {
            "job_id": job_id,
            "pid": spawned.pid,
            "start_time": spawned.start_time,
            "create_time": spawned.create_time,
            "time_limit_s": float(limit) if limit else None,
            "kill_wait_s": float(payload.get("kill_wait_s") or 30),
            "mem_mb": payload.get("mem_mb"),
            "cgroup": str(spawned.cgroup.path) if spawned.cgroup else None,
            "job_dir": str(spawned.job_dir),
        }
        self.spool.add_job(record)
        self._event({"kind": "started", "job_id": job_id, "time": spawned.start_time})
        self._supervise(spawned, record)
        log.info("job %s started, pid %d", job_id, spawned.pid)

    def _supervise(self, spawned: Spawned, record: JobRecord) -> None:
        step = Step(
            spawned,
            on_end=self._on_end,
            time_limit_s=record["time_limit_s"],
            kill_wait_s=record["kill_wait_s"],
            mem_mb=record["mem_mb"],
            watchdog=spawned.cgroup is None,
            sample_s=self.sample_s,
        )
        with self._lock:
            self._steps[spawned.job_id] = step
        step.start()

    def adopt(self) -> None:
        """Take back the jobs a previous agent started (found by pid in the spool)."""
        for record in list(self.spool.jobs.values()):
            job_id = record["job_id"]
            try:
                proc = psutil.Process(record["pid"])
                alive = abs(proc.create_time() - record["create_time"]) < 1.0
                alive = alive and proc.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                alive = False
            if not alive:
                self._ended(job_id, _ended_away(job_id, record["pid"]))
                continue
            cgroup = JobCgroup(Path(record["cgroup"])) if record["cgroup"] else None
            spawned = Spawned(
                job_id, record["pid"], record["start_time"], record["create_time"],
                Path(record["job_dir"]), None, cgroup,
            )  # fmt: skip
            self._supervise(spawned, record)
            log.info("job %s re-adopted, pid %d", job_id, record["pid"])

    # ---- events ---------------------------------------------------------------

    def _event(self, fields: dict[str, Any]) -> Event:
        event = self.spool.add_event(fields)
        self._wake.set()
        return event

    def _on_end(self, step: Step, ending: Ending) -> None:
        self._ended(step.job_id, ending)

    def _ended(self, job_id: int, e: Ending) -> None:
        # The event is journaled before the job leaves "running", so the
        # controller never sees a job vanish without its end.
        self._event(
            {
                "kind": "ended",
                "job_id": job_id,
                "time": e.time,
                "exit_code": e.exit_code,
                "signal": e.signal,
                "timed_out": e.timed_out,
                "oom": e.oom,
                "cpu_time_s": e.cpu_time_s,
                "max_rss_kb": e.max_rss_kb,
                "terminated_for": e.terminated_for,
            }
        )
        with self._lock:
            self._steps.pop(job_id, None)
        self.spool.remove_job(job_id)
        log.info(
            "job %s ended: exit %d signal %d%s%s", job_id, e.exit_code, e.signal,
            " (time limit)" if e.timed_out else "", " (out of memory)" if e.oom else "",
        )  # fmt: skip


def _version() -> str:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("drover")
    return "0.0.0"


def _ended_away(job_id: int, pid: int) -> Ending:
    """The end of a job that exited while no agent supervised it: exact when this process
    is still its parent (restarted in place), else unknown (reported as 0)."""
    reaped = reap(pid, block=False)
    if reaped is None:
        log.warning("job %s ended while the agent was away; exit status unknown", job_id)
        return Ending(0, 0, False, False, 0.0, 0, None, time.time())
    status, cpu = reaped
    exit_code, sig = exit_and_signal(status)
    return Ending(exit_code, sig, False, False, round(cpu, 3), 0, None, time.time())
