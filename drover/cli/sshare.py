"""``sshare``: shares, usage and fairshare of the association tree (Slurm 22.05).

The controller computes the tree (``GET /api/shares/``: Fair Tree or classic,
as configured); this command filters and lays it out as Slurm's
``sshare/process.c`` does: each field padded to its width and followed by one
space, a line of dashes under the header, accounts indented one space per
level, users printed under their account's (indented) name.

* default: Account User RawShares NormShares RawUsage EffectvUsage FairShare,
  the accounts and the calling user's associations;
* ``-a``: every user; ``-u a,b``: those users; ``-A x,y``: those accounts;
* ``-l``: adds NormUsage, LevelFS, GrpTRESMins, TRESRunMins;
* ``-U``: user associations only; ``--format Account%256``: chosen fields;
  ``-n``/``--noheader``; ``-p``/``-P``: ``|``-separated.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from drover.cli.formats.engine import Column, Field, parse_names
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_list

Record = Mapping[str, Any]


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


def _is_root(r: Record) -> bool:
    return not r.get("user") and int(r.get("depth") or 0) == 0


def _account(r: Record) -> str:
    if r.get("_flat"):
        return str(r.get("account") or "")
    return " " * int(r.get("depth") or 0) + str(r.get("account") or "")


def _six(key: str, users_only: bool = False, hide_root: bool = False) -> Any:
    def get(r: Record) -> str:
        if (users_only and not r.get("user")) or (hide_root and _is_root(r)):
            return ""
        value = r.get(key)
        if value is None or value == "":
            return ""
        if value == "inf":
            return "inf"
        return f"{float(value):.6f}"
    return get


def _raw_shares(r: Record) -> str:
    return "" if _is_root(r) else str(r.get("raw_shares", ""))


def _norm_shares(r: Record) -> str:
    return "0.000000" if _is_root(r) else f"{float(r.get('norm_shares') or 0):.6f}"


def _raw_usage(r: Record) -> str:
    return f"{float(r.get('raw_usage') or 0):.0f}"


FIELDS: dict[str, Field] = {
    "Account": Field("Account", _account, 20, False),
    "User": Field("User", lambda r: str(r.get("user") or ""), 10, True),
    "RawShares": Field("RawShares", _raw_shares, 10, True),
    "NormShares": Field("NormShares", _norm_shares, 11, True),
    "RawUsage": Field("RawUsage", _raw_usage, 11, True),
    "NormUsage": Field("NormUsage", _six("norm_usage", hide_root=True), 11, True),
    "EffectvUsage": Field("EffectvUsage", _six("effective_usage"), 13, True),
    "FairShare": Field("FairShare", _six("fairshare", users_only=True), 10, True),
    "LevelFS": Field("LevelFS", _six("level_fs", hide_root=True), 10, True),
    "GrpTRESMins": Field("GrpTRESMins", lambda r: str(r.get("grp_tres_mins") or ""), 30, True),
    "TRESRunMins": Field("TRESRunMins", lambda r: str(r.get("tres_run_mins") or ""), 30, True),
    "Cluster": Field("Cluster", lambda r: str(r.get("cluster") or ""), 10, False),
    "Partition": Field("Partition", lambda r: str(r.get("partition") or ""), 10, False),
}

DEFAULT = "Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare"
LONG = ("Account,User,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,"
        "LevelFS,GrpTRESMins,TRESRunMins")


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sshare", add_help=False)
    p.add_argument("--help", action="help")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-A", "--accounts", action="append")
    p.add_argument("-l", "--long", action="store_true")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("-o", "--format", action="append")
    p.add_argument("-p", "--parsable", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("-u", "--users", action="append")
    p.add_argument("-U", "--Users", dest="users_only", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("-m", "--partition", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    add_version(p)
    return p


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def select(args: Any, rows: Sequence[Record], me: str) -> list[Record]:
    """The rows to print, in the controller's (tree) order."""
    users = set(split_list(args.users))
    accounts = set(split_list(args.accounts))
    out: list[Record] = []
    for r in rows:
        user = str(r.get("user") or "")
        if args.users_only and not user:
            continue
        if accounts and str(r.get("account")) not in accounts:
            continue
        if user:
            if users and user not in users:
                continue
            if not users and not args.all and user != me:
                continue
        out.append(dict(r, _flat=True) if args.users_only else r)
    return out


def render(args: Any, rows: Sequence[Record], me: str) -> tuple[list[str], list[str]]:
    spec = ",".join(split_list(args.format)) if args.format else (LONG if args.long else DEFAULT)
    columns, unknown = parse_names(spec, FIELDS, width_mark="%", plain_right=True,
                                   overflow="+")
    errors = [f"sshare: error: Invalid field requested: \"{u}\"" for u in unknown]
    records = select(args, rows, me)
    lines: list[str] = []
    if args.parsable or args.parsable2:
        sep = "|"
        end = "" if args.parsable2 else "|"
        if not args.noheader:
            lines.append(sep.join(c.field.header for c in columns) + end)
        lines.extend(sep.join(c.field.get(r) for c in columns) + end for r in records)
        return lines, errors

    def cell(c: Column, text: str) -> str:
        return c.cell(text) + " "

    if not args.noheader:
        lines.append("".join(cell(c, c.field.header) for c in columns))
        lines.append("".join("-" * c.width + " " for c in columns))
    lines.extend("".join(cell(c, c.field.get(r)) for c in columns) for r in records)
    return lines, errors


def main(argv: Sequence[str] | None = None, ctl: Ctl | None = None,
         me: str | None = None) -> int:
    args = build_parser().parse_args(argv)
    if ctl is None:
        from drover.cli.common import client

        ctl = client()
    from drover.cli.squeue import api_errors, describe_error

    try:
        answer = ctl.get("/api/shares/", params={})
    except api_errors() as exc:
        print(f"sshare: error: {describe_error(exc)}", file=sys.stderr)
        return 1
    shares = answer.get("shares") if isinstance(answer, dict) else None
    rows = [r for r in shares or [] if isinstance(r, dict)]
    lines, errors = render(args, rows, _me() if me is None else me)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
