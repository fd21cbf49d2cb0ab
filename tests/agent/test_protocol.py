"""The credential format: sign/verify round trips and every way to fail."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodeagent import protocol
from nodeagent.protocol import CredentialError

KEY = b"k" * 32
NOW = 1_700_000_000.0


def fresh() -> protocol.NonceMemory:
    return protocol.NonceMemory()


def test_it_round_trips_identity_and_body() -> None:
    header = protocol.sign(KEY, b'{"a":1}', host="n1", uid=1000, gid=100, now=NOW)
    cred = protocol.verify(KEY, header, b'{"a":1}', now=NOW + 5, seen_nonce=fresh())
    assert (cred.uid, cred.gid, cred.host, cred.ts) == (1000, 100, "n1", NOW)
    assert cred.nonce


def test_it_rejects_a_tampered_body() -> None:
    header = protocol.sign(KEY, b'{"a":1}', host="n1", uid=0, gid=0, now=NOW)
    with pytest.raises(CredentialError, match="body digest mismatch"):
        protocol.verify(KEY, header, b'{"a":2}', now=NOW, seen_nonce=fresh())


def test_it_rejects_another_key() -> None:
    header = protocol.sign(b"x" * 32, b"{}", host="n1", uid=0, gid=0, now=NOW)
    with pytest.raises(CredentialError, match="bad credential signature"):
        protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=fresh())


def test_it_rejects_tampered_claims() -> None:
    header = protocol.sign(KEY, b"{}", host="n1", uid=1000, gid=0, now=NOW)
    text, mac = header.split(".")
    forged = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW).split(".")[0]
    with pytest.raises(CredentialError, match="bad credential signature"):
        protocol.verify(KEY, f"{forged}.{mac}", b"{}", now=NOW, seen_nonce=fresh())


@pytest.mark.parametrize("delta", [-301, 301, 10_000])
def test_it_rejects_a_credential_outside_the_ttl(delta: float) -> None:
    header = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    with pytest.raises(CredentialError, match="credential expired"):
        protocol.verify(KEY, header, b"{}", now=NOW + delta, seen_nonce=fresh())


def test_it_accepts_a_credential_at_the_edge_of_the_ttl() -> None:
    header = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    cred = protocol.verify(KEY, header, b"{}", now=NOW + 300, seen_nonce=fresh())
    assert cred.host == "n1"


def test_it_rejects_a_replayed_nonce() -> None:
    seen = fresh()
    header = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=seen)
    with pytest.raises(CredentialError, match="credential replayed"):
        protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=seen)


def test_a_rejected_credential_does_not_burn_its_nonce() -> None:
    seen = fresh()
    header = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    with pytest.raises(CredentialError, match="body digest"):
        protocol.verify(KEY, header, b"[]", now=NOW, seen_nonce=seen)
    protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=seen)


@pytest.mark.parametrize("header", ["", "abc", "a.b.c", ".", "abc.", ".abc", "é.é"])
def test_it_rejects_malformed_headers(header: str) -> None:
    with pytest.raises(CredentialError, match="malformed credential|bad credential signature"):
        protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=fresh())


def test_it_rejects_signed_garbage_as_malformed() -> None:
    text = "bm90IGpzb24"  # base64url of "not json"
    header = f"{text}.{protocol._mac(KEY, text)}"
    with pytest.raises(CredentialError, match="malformed credential"):
        protocol.verify(KEY, header, b"{}", now=NOW, seen_nonce=fresh())


def test_each_signature_has_a_new_nonce() -> None:
    a = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    b = protocol.sign(KEY, b"{}", host="n1", uid=0, gid=0, now=NOW)
    assert a != b


@given(body=st.binary(max_size=2048), other=st.binary(max_size=64))
def test_any_body_round_trips_and_any_change_is_caught(body: bytes, other: bytes) -> None:
    header = protocol.sign(KEY, body, host="node-1", uid=5, gid=6, now=NOW)
    assert protocol.verify(KEY, header, body, now=NOW, seen_nonce=fresh()).uid == 5
    if other != body:
        with pytest.raises(CredentialError, match="body digest mismatch"):
            protocol.verify(KEY, header, other, now=NOW, seen_nonce=fresh())


def test_write_key_creates_a_private_32_byte_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cluster.key"
    key = protocol.write_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert protocol.load_key(path) == key
    with pytest.raises(FileExistsError):
        protocol.write_key(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o700, 0o444])
def test_load_key_refuses_a_key_others_can_read(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "cluster.key"
    path.write_bytes(os.urandom(32))
    path.chmod(mode)
    with pytest.raises(protocol.KeyFileError, match=r"must be 0400 or 0600.*chmod 0400"):
        protocol.load_key(path)


def test_load_key_accepts_0600_and_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "cluster.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    assert len(protocol.load_key(path)) == 32
    with pytest.raises(protocol.KeyFileError, match="does not exist"):
        protocol.load_key(tmp_path / "nope")
