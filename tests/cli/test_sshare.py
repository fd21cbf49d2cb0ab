"""sshare against the golden outputs of real Slurm 22.05 (068, 069), fed with fake API data."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import pytest

from drover.cli import sshare
from tests.cli import golden
from tests.cli.fakectl import FakeCtl

ZERO = "cpu=0,mem=0,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0"
BUSY = "cpu=181,mem=18100,energy=0,node=181,billing=181,fs/disk=0,vmem=0,pages=0"


def row(account: str, user: str, depth: int, norm_shares: float, raw_usage: float,
        **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "account": account, "user": user, "depth": depth, "raw_shares": 1,
        "norm_shares": norm_shares, "raw_usage": raw_usage, "norm_usage": 0.0,
        "effective_usage": 0.0, "level_fs": "inf", "fairshare": 1.0 if user else None,
        "grp_tres_mins": "", "tres_run_mins": ZERO}
    rec.update(kw)
    return rec


def golden_rows() -> list[dict[str, Any]]:
    """The tree of 068/069: root > (user root, science > (user root, physics > user root))."""
    return [
        row("root", "", 0, 1.0, 0.6, effective_usage=1.0, norm_usage=1.0, level_fs=None,
            tres_run_mins=BUSY),
        row("root", "root", 1, 0.5, 0.0, tres_run_mins=BUSY),
        row("science", "", 1, 0.5, 0.6),
        row("science", "root", 2, 0.5, 0.0),
        row("physics", "", 2, 0.5, 0.6),
        row("physics", "root", 3, 1.0, 0.6),
    ]


def run(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
        rows: list[dict[str, Any]] | None = None, me: str = "root") -> tuple[str, str, int]:
    ctl = FakeCtl({("GET", "/api/shares/"): {"fair_tree": True,
                                             "shares": golden_rows() if rows is None else rows}})
    rc = sshare.main(list(argv), ctl=ctl, me=me)
    out, err = capsys.readouterr()
    return out, err, rc


@pytest.mark.parametrize("prefix", ["068", "069"])
def test_it_prints_shares_as_slurm_does(capsys: pytest.CaptureFixture[str],
                                        prefix: str) -> None:
    g = golden.load(prefix)
    out, err, rc = run(capsys, shlex.split(g.command)[1:])
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


def test_users_only_one_account_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    # SLURM-COMPAT 26: tools read the user's accounts from this.
    out, _, rc = run(capsys, ["-U", "--format", "Account%256", "--noheader"])
    assert rc == 0
    assert [line.strip() for line in out.splitlines()] == ["root", "science", "physics"]
    assert all(len(line) == 257 for line in out.splitlines())


@pytest.mark.parametrize(("argv", "me", "users"), [
    ([], "alice", ["alice"]),
    (["-a"], "alice", ["root", "alice", "root", "root"]),
    ([], "root", ["root", "root", "root"]),
    (["-u", "alice"], "root", ["alice"]),
    (["-A", "physics", "-a"], "root", ["", "root"]),
])
def test_user_and_account_filters(capsys: pytest.CaptureFixture[str], argv: list[str], me: str,
                                  users: list[str]) -> None:
    rows = golden_rows()
    rows.insert(2, row("root", "alice", 1, 0.5, 3.0))
    out, _, _ = run(capsys, [*argv, "-P", "-n", "--format", "User"], rows, me)
    got = [line for line in out.splitlines() if line]
    assert [u for u in got if u] == [u for u in users if u]


def test_parsable_output(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _ = run(capsys, ["-p", "--format", "Account,User,FairShare,LevelFS", "-a"])
    assert out.splitlines()[:3] == ["Account|User|FairShare|LevelFS|", "root||||",
                                   " root|root|1.000000|inf|"]


def test_unknown_field_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _, err, rc = run(capsys, ["--format", "Frob"])
    assert rc == 1 and "Frob" in err
