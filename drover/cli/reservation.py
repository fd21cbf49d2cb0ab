"""``scontrol create|update|delete|show reservation`` (Slurm 22.05's words and record).

    scontrol create reservation [ReservationName=R] StartTime=now|TIME
             Duration=MIN|[D-]HH:MM:SS | EndTime=TIME Users=U[,U] Accounts=A[,A]
             Nodes=LIST|ALL|NodeCnt=N [PartitionName=P] [Flags=MAINT,IGNORE_JOBS,...]
    scontrol update ReservationName=R [field=value ...]
    scontrol delete ReservationName=R
    scontrol show reservation [R]
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from drover.timefmt import (
    TimeFormatError,
    format_time_limit_padded,
    parse_begin,
    parse_time_limit,
)

Record = Mapping[str, Any]


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...
    def post(self, path: str, body: Any) -> Any: ...
    def patch(self, path: str, body: Any) -> Any: ...


_KEYS = {"reservationname": "name", "reservation": "name", "resv": "name",
         "starttime": "start_time", "endtime": "end_time", "duration": "duration_min",
         "users": "users", "user": "users", "accounts": "accounts", "account": "accounts",
         "nodes": "nodes", "nodelist": "nodes", "nodecnt": "node_count",
         "nodecount": "node_count", "flags": "flags", "partitionname": "partition",
         "partition": "partition"}
_NAME_KEYS = ("reservationname", "reservation", "resv")


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _errors() -> tuple[type[Exception], ...]:
    from drover.cli.squeue import api_errors

    return api_errors()


def _why(exc: Exception) -> str:
    from drover.cli.squeue import describe_error

    return describe_error(exc)


def _pairs(words: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for w in words:
        key, _, val = w.partition("=")
        out.append((key.strip(), val.strip()))
    return out


def parse_fields(words: Sequence[str], now: datetime | None = None) -> dict[str, Any]:
    """``Key=Value`` words -> the API's reservation body; ValueError with scontrol's text."""
    now = now or datetime.now().astimezone()
    body: dict[str, Any] = {}
    for key, val in _pairs(words):
        field = _KEYS.get(key.lower())
        if field is None:
            raise ValueError(f"Unknown parameter {key}.  No reservation created.")
        if field in ("start_time", "end_time"):
            try:
                body[field] = int(parse_begin(val, now).timestamp())
            except (TimeFormatError, ValueError):
                raise ValueError(f"Invalid time value {key}={val}") from None
        elif field == "node_count":
            if not val.isdigit() or int(val) < 1:
                raise ValueError(f"Invalid node count {key}={val}")
            body[field] = int(val)
        elif field == "duration_min":
            try:
                minutes = parse_time_limit(val)
            except (TimeFormatError, ValueError):
                minutes = None
            if not minutes:
                raise ValueError(f"Invalid duration {key}={val}")
            body[field] = minutes
        else:
            body[field] = val
    return body


def create(ctl: Ctl, words: Sequence[str]) -> int:
    try:
        body = parse_fields(words)
    except ValueError as exc:
        _err(f"scontrol: error: {exc}")
        return 1
    missing = _missing(body)
    if missing:
        _err(f"scontrol: error: {missing}  No reservation created.")
        return 1
    try:
        answer = ctl.post("/api/reservations/", body)
    except _errors() as exc:
        _err(f"Error creating the reservation: {_why(exc)}")
        return 1
    print(f"Reservation created: {answer.get('name', '')}")
    return 0


def _missing(body: Mapping[str, Any]) -> str:
    if "start_time" not in body:
        return "A start time must be given."
    if "end_time" not in body and "duration_min" not in body:
        return "An end time or duration must be given."
    if not body.get("nodes") and not body.get("partition") and not body.get("node_count"):
        return "Nodes, NodeCnt, CoreCnt, TRES, BurstBuffer or Watts must be specified."
    if not body.get("users") and not body.get("accounts"):
        return "Either Users/Groups and/or Accounts must be specified."
    return ""


def _split_name(words: Sequence[str]) -> tuple[str, list[str]]:
    name = ""
    rest = []
    for w in words:
        key, eq, val = w.partition("=")
        if eq and key.strip().lower() in _NAME_KEYS and not name:
            name = val.strip()
        else:
            rest.append(w)
    return name, rest


def update(ctl: Ctl, words: Sequence[str]) -> int:
    name, rest = _split_name(words)
    if not name:
        _err("scontrol: error: Reservation must be given.  No reservation update.")
        return 1
    try:
        body = parse_fields(rest)
    except ValueError as exc:
        _err(f"scontrol: error: {str(exc).replace('created', 'updated')}")
        return 1
    if not body:
        _err("scontrol: error: No changes specified.  No reservation updated.")
        return 1
    try:
        ctl.patch(f"/api/reservations/{name}/", body)
    except _errors() as exc:
        _err(f"Error updating the reservation: {_why(exc)}")
        return 1
    print("Reservation updated.")
    return 0


def delete(ctl: Ctl, words: Sequence[str]) -> int:
    name, rest = _split_name(words)
    if not name and len(rest) >= 2 and rest[0].lower() in _NAME_KEYS:
        name = rest[1]
    if not name:
        _err("scontrol: error: too few arguments for keyword:delete")
        return 1
    try:
        ctl.post(f"/api/reservations/{name}/delete/", {})
    except _errors() as exc:
        _err(f"delete_reservation {name}: {_why(exc)}")
        return 1
    return 0


def show(ctl: Ctl, oneliner: bool, ident: str | None) -> int:
    try:
        rows = [r for r in ctl.get("/api/reservations/").get("reservations", [])
                if isinstance(r, dict)]
    except _errors() as exc:
        _err(f"slurm_load_reservations error: {_why(exc)}")
        return 1
    if ident:
        rows = [r for r in rows if r.get("name") == ident]
        if not rows:
            print(f"Reservation {ident} not found")
            return 1
    if not rows:
        print("No reservations in the system")
        return 0
    sys.stdout.write("".join(render(r, oneliner) for r in rows))
    return 0


def _null(value: Any) -> str:
    return str(value) if value else "(null)"


def lines(r: Record) -> list[str]:
    from drover.cli.formats.records import _ts

    minutes = int(r.get("duration_min") or 0)
    return [
        f"ReservationName={r.get('name', '')} StartTime={_ts(r.get('start_time'))} "
        f"EndTime={_ts(r.get('end_time'))} Duration={format_time_limit_padded(minutes)}",
        f"Nodes={_null(r.get('nodes'))} NodeCnt={int(r.get('node_count') or 0)} "
        f"CoreCnt={int(r.get('core_count') or 0)} Features=(null) "
        f"PartitionName={_null(r.get('partition'))} Flags={r.get('flags') or ''}",
        f"TRES=cpu={int(r.get('core_count') or 0)}",
        f"Users={_null(r.get('users'))} Groups=(null) Accounts={_null(r.get('accounts'))} "
        f"Licenses=(null) State={r.get('state', 'INACTIVE')} BurstBuffer=(null) Watts=n/a",
        "MaxStartDelay=(null)",
    ]


def render(r: Record, oneliner: bool = False) -> str:
    from drover.cli.formats.records import render as render_record

    return render_record(lines(r), oneliner)


def _sinfo_line(cells: Sequence[str]) -> str:
    name, state, start, end, duration, nodes = cells
    return f"{name[:13]:<13} {state[:8]:>8} {start[:19]:>19} {end[:19]:>19} {duration[:12]:>12}" \
        f"  {nodes}"


def sinfo_lines(rows: Sequence[Record]) -> list[str]:
    """``sinfo -T``: one line per reservation under Slurm's header."""
    from drover.cli.formats.records import _ts

    if not rows:
        return ["No reservations in the system"]
    out = [_sinfo_line(("RESV_NAME", "STATE", "START_TIME", "END_TIME", "DURATION",
                        "NODELIST"))]
    for r in rows:
        out.append(_sinfo_line((
            str(r.get("name", "")), str(r.get("state", "INACTIVE")),
            _ts(r.get("start_time")), _ts(r.get("end_time")),
            format_time_limit_padded(int(r.get("duration_min") or 0)),
            str(r.get("nodes") or ""))))
    return out


def sinfo_main(ctl: Ctl) -> int:
    try:
        rows = [r for r in ctl.get("/api/reservations/").get("reservations", [])
                if isinstance(r, dict)]
    except _errors() as exc:
        _err(f"slurm_load_reservations: {_why(exc)}")
        return 1
    sys.stdout.write("\n".join(sinfo_lines(rows)) + "\n")
    return 0
