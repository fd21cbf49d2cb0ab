"""The controller ⇄ node agent wire contract (see docs/architecture.md).

Every request and every answer is a JSON body carrying the header
``X-Drover-Credential``: the base64url (unpadded) of the JSON object
``{"uid", "gid", "host", "ts", "nonce", "digest"}`` where ``digest`` is the
hex SHA-256 of the body, then ``.``, then the base64url (unpadded) HMAC-SHA256
of that base64 text under the cluster key. This is MUNGE's job in Slurm:
it proves who sent the message, that the body is the one signed, and that it is
fresh (``CREDENTIAL_TTL``) and not a replay (nonces remembered by the receiver).

Imported by the controller too, so it depends on the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, TypeGuard, cast

CREDENTIAL_TTL = 300
HEADER = "X-Drover-Credential"
KEY_BYTES = 32

REGISTER_PATH = "/api/agent/register/"
SYNC_PATH = "/api/agent/sync/"


class CredentialError(ValueError):
    """A credential that must not be trusted; the message says why."""


class KeyFileError(ValueError):
    """A cluster key file that is missing, empty or not private."""


@dataclass(frozen=True)
class Credential:
    uid: int
    gid: int
    host: str
    ts: float
    nonce: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, text: str) -> str:
    return _b64encode(hmac.new(key, text.encode("ascii"), hashlib.sha256).digest())


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sign(
    key: bytes, body: bytes, *, host: str, uid: int, gid: int, now: float | None = None
) -> str:
    """The credential header value for ``body`` sent by ``host`` as ``uid``/``gid``."""
    claims = {
        "uid": uid,
        "gid": gid,
        "host": host,
        "ts": time.time() if now is None else now,
        "nonce": secrets.token_urlsafe(16),
        "digest": body_digest(body),
    }
    text = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{text}.{_mac(key, text)}"


def verify(
    key: bytes, header: str, body: bytes, *, now: float, seen_nonce: Callable[[str], bool]
) -> Credential:
    """Check ``header`` against ``body``; raise CredentialError naming the fault.

    ``seen_nonce(nonce)`` must return True when the nonce was seen before and
    record it otherwise; it is called last, so a credential rejected for
    another reason does not burn its nonce.
    """
    text, dot, mac = header.strip().partition(".")
    if not dot or not text or not mac or "." in mac:
        raise CredentialError("malformed credential")
    try:
        text.encode("ascii")
        mac.encode("ascii")
    except UnicodeEncodeError:
        raise CredentialError("malformed credential") from None
    if not hmac.compare_digest(_mac(key, text), mac):
        raise CredentialError("bad credential signature")
    try:
        claims = json.loads(_b64decode(text))
    except (binascii.Error, ValueError):
        raise CredentialError("malformed credential") from None
    cred = _claims(claims)
    if abs(now - cred.ts) > CREDENTIAL_TTL:
        raise CredentialError("credential expired")
    if not hmac.compare_digest(str(claims["digest"]), body_digest(body)):
        raise CredentialError("body digest mismatch")
    if seen_nonce(cred.nonce):
        raise CredentialError("credential replayed")
    return cred


def _claims(claims: object) -> Credential:
    if not isinstance(claims, dict):
        raise CredentialError("malformed credential")
    uid, gid, host = claims.get("uid"), claims.get("gid"), claims.get("host")
    ts, nonce, digest = claims.get("ts"), claims.get("nonce"), claims.get("digest")
    if (
        not isinstance(uid, int)
        or not isinstance(gid, int)
        or not isinstance(host, str)
        or not isinstance(ts, int | float)
        or isinstance(ts, bool)
        or not isinstance(nonce, str)
        or not nonce
        or not isinstance(digest, str)
    ):
        raise CredentialError("malformed credential")
    return Credential(uid=uid, gid=gid, host=host, ts=float(ts), nonce=nonce)


class NonceMemory:
    """An in-process ``seen_nonce`` (the agent's; the controller uses its cache)."""

    def __init__(self, ttl: float = CREDENTIAL_TTL * 2) -> None:
        self._ttl = ttl
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if now - t < self._ttl}
            if nonce in self._seen:
                return True
            self._seen[nonce] = now
            return False


def load_key(path: str | os.PathLike[str]) -> bytes:
    """Read the cluster key, refusing a file that others could read (like MUNGE)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise KeyFileError(f"cluster key file {p} does not exist") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"cluster key file {p} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode not in (0o400, 0o600):
        raise KeyFileError(
            f"cluster key file {p} has mode {mode:04o}; it must be 0400 or 0600 "
            f"(readable by its owner only): chmod 0400 {p}"
        )
    key = p.read_bytes()
    if len(key) < 16:
        raise KeyFileError(f"cluster key file {p} holds {len(key)} bytes; 16 at least needed")
    return key


def write_key(path: str | os.PathLike[str]) -> bytes:
    """Create a new random cluster key at ``path`` (mode 0400); never overwrite one."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        os.fchmod(fd, 0o400)
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


def encode(message: object) -> bytes:
    """The one JSON encoding used on the wire (compact, UTF-8)."""
    return json.dumps(message, separators=(",", ":")).encode()


# ---- message shapes ---------------------------------------------------------


class RegisterBody(TypedDict):
    node: str
    cpus: int
    boards: int
    sockets: int
    cores_per_socket: int
    threads_per_core: int
    real_memory_mb: int
    gres: str
    features: str
    version: str
    boot_time: float
    running: list[int]


class RegisterAnswer(TypedDict):
    heartbeat_s: int


class LaunchPayload(TypedDict):
    job_id: int
    user: str
    uid: int
    gid: int
    script: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    stdout: str | None
    stderr: str | None
    stdin: str | None
    open_mode: Literal["truncate", "append"]
    time_limit_s: int | None
    cpus: int
    mem_mb: int | None
    gpus: list[int]
    kill_wait_s: int


SignalScope = Literal["steps", "batch", "full"]


class SignalPayload(TypedDict):
    signal: str
    # scancel's flags: steps only (default), -b the batch shell alone, -f everything.
    # Absent (a controller from before scopes): "full".
    scope: NotRequired[SignalScope]
    # With scope "steps": that srun step's processes alone (scancel N.S).
    step: NotRequired[str]


class TerminatePayload(TypedDict):
    reason: Literal["cancel", "timeout", "requeue"]


OrderKind = Literal["launch", "signal", "terminate", "limit"]


class Order(TypedDict):
    id: int
    kind: OrderKind
    job_id: int
    payload: dict[str, object]


EventKind = Literal["started", "ended"]


class Event(TypedDict):
    seq: int
    kind: EventKind
    job_id: int
    time: float
    exit_code: NotRequired[int]
    signal: NotRequired[int]
    timed_out: NotRequired[bool]
    oom: NotRequired[bool]
    cpu_time_s: NotRequired[float]
    max_rss_kb: NotRequired[int]
    terminated_for: NotRequired[str | None]


class StepUsage(TypedDict):
    """The latest figures of a running step (what ``sstat`` shows), sent with heartbeats."""

    job_id: int
    step: str  # "batch", or the srun step's id ("0", "1", ...: its tasks' SLURM_STEP_ID)
    ntasks: int
    pids: list[int]
    time: float  # when sampled
    cpu_time_s: float
    rss_kb: int
    max_rss_kb: int
    vmsize_kb: int
    max_vmsize_kb: int
    read_bytes: int
    write_bytes: int


class SyncBody(TypedDict):
    node: str
    running: list[int]
    events: list[Event]
    acks: list[int]
    wait_s: float
    load: float
    free_memory_mb: int
    usage: NotRequired[list[StepUsage]]


_USAGE_INTS = ("job_id", "ntasks", "rss_kb", "max_rss_kb", "vmsize_kb", "max_vmsize_kb",
               "read_bytes", "write_bytes")
_USAGE_NUMBERS = ("time", "cpu_time_s")
_USAGE_KEYS = (*_USAGE_INTS, *_USAGE_NUMBERS, "step", "pids")
MAX_USAGE_INT = 2**63 - 1  # what a PostgreSQL bigint holds
MAX_USAGE_SECONDS = 253402300800.0  # year 10000: a time any datetime holds
MAX_PIDS = 4096


def parse_usage(value: object) -> list[StepUsage]:
    """A sync's ``usage`` list checked field by field; ValueError naming the first fault.

    Every key is required, counts are non-negative integers (bools are not), times
    finite non-negative numbers, ``step`` a short name and ``pids`` a list of pids.
    """
    if not isinstance(value, list):
        raise ValueError("usage must be a list")
    out: list[StepUsage] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"usage[{i}] must be an object")
        for key in _USAGE_INTS:
            n = item.get(key)
            if not _int(n) or not 0 <= n <= MAX_USAGE_INT:
                raise ValueError(f"usage[{i}].{key} must be a non-negative integer")
        for key in _USAGE_NUMBERS:
            x = item.get(key)
            if not _number(x) or not 0 <= x < MAX_USAGE_SECONDS:
                raise ValueError(f"usage[{i}].{key} must be a non-negative number of seconds")
        step = item.get("step")
        if not isinstance(step, str) or not step or len(step) > 16:
            raise ValueError(f"usage[{i}].step must be a step name")
        pids = item.get("pids")
        if (not isinstance(pids, list) or len(pids) > MAX_PIDS
                or not all(_int(p) and 0 < p < 2**31 for p in pids)):
            raise ValueError(f"usage[{i}].pids must be a list of process ids")
        out.append(cast(StepUsage, {k: item[k] for k in _USAGE_KEYS}))
    return out


def _int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> TypeGuard[float]:
    return _int(value) or isinstance(value, float)


class SyncAnswer(TypedDict):
    orders: list[Order]
    acked_events: list[int]
