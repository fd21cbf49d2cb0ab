"""``sacctmgr show event``: node events (``GET /api/accounting/events/``).

As Slurm 22.05's ``event_functions.c``: conditions Nodes=, Start=, End=, States=,
Reason=, User=, Clusters= (Format= is sacctmgr's) and the ``All_Time`` flag; keys match as
prefixes (``Start``/``States`` from 4 letters). Without Start= the events since
yesterday 00:00 are shown, or, with States=, those still open now. Default
columns ``Cluster,NodeName,TimeStart,TimeEnd,State,Reason,User``; an open event
ends "Unknown"; the user is printed ``name(uid)``.
"""

from __future__ import annotations

import pwd
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from drover.cli.formats.engine import Field
from drover.timefmt import format_timestamp, parse_timestamp

Record = Mapping[str, Any]
DEFAULT = "Cluster,NodeName,TimeStart,TimeEnd,State,Reason,User"
#: ``_decode_node_state``'s words: DRAIN and FAIL, then node_state_string's base states.
STATE_WORDS = ("DRAIN", "FAIL", "UNKNOWN", "DOWN", "IDLE", "ALLOCATED", "ERROR", "MIXED",
               "FUTURE")
#: (key, the fewest letters that name it), in the order event_functions.c tries them.
KEYS = (("Events", 1), ("Clusters", 1), ("End", 1), ("Nodes", 1), ("Reason", 1),
        ("Start", 4), ("States", 4), ("User", 1))


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


class EventUsage(Exception):
    """Conditions sacctmgr would refuse (the lines it prints)."""


def _text(key: str) -> Callable[[Record], str]:
    return lambda r: str(r.get(key) or "")


def _when(key: str) -> Callable[[Record], str]:
    return lambda r: format_timestamp(r.get(key))


def _user(r: Record) -> str:
    name = str(r.get("user") or "")
    try:
        return f"{name}({pwd.getpwnam(name).pw_uid})" if name else ""
    except KeyError:
        return name


FIELDS: dict[str, Field] = {
    "Cluster": Field("Cluster", _text("cluster"), 10, True),
    "NodeName": Field("NodeName", _text("node_name"), 15, False),
    "TimeStart": Field("TimeStart", _when("time_start"), 19, True),
    "Start": Field("TimeStart", _when("time_start"), 19, True),
    "TimeEnd": Field("TimeEnd", _when("time_end"), 19, True),
    "End": Field("TimeEnd", _when("time_end"), 19, True),
    "State": Field("State", _text("state"), 6, True),
    "Reason": Field("Reason", _text("reason"), 30, True),
    "User": Field("User", _user, 10, True),
}


def _key(word: str) -> str | None:
    low = word.lower()
    for key, least in KEYS:
        if len(low) >= least and key.lower().startswith(low):
            return key
    return None


def _state(word: str) -> str:
    upper = word.upper()
    for name in STATE_WORDS:
        if len(upper) >= 3 and name.startswith(upper):
            return name
    raise EventUsage(f"Invalid state: {word}",
                     "Valid node states are: " + " ".join(STATE_WORDS) + " ")


def _event_type(word: str) -> None:
    """Only node events are recorded (Slurm's cluster events, TRES changes, are not)."""
    if not "node".startswith(word.lower()):
        raise EventUsage(f" Unknown event type: '{word}'  Valid events are Node.")


def fetch(ctl: Ctl, names: Sequence[str], where: Mapping[str, str], cluster: str,
          now: datetime) -> list[Record]:
    """The events the conditions select."""
    conds: dict[str, str] = {}
    all_time = False
    for word in names:
        low = word.lower()
        if len(low) >= 5 and "all_time".startswith(low):
            all_time = True
        elif not (len(low) >= 5 and "all_clusters".startswith(low)):
            _event_type(word)
    for word, value in where.items():
        key = _key(word)
        if key is None:
            raise EventUsage(f" Unknown condition: {word}={value}")
        conds[key] = value
    for word in conds.get("Events", "").split(","):
        if word:
            _event_type(word)
    states = [_state(s) for s in conds.get("States", "").split(",") if s]
    params: dict[str, Any] = {}
    if "Start" in conds:
        params["start"] = int(parse_timestamp(conds["Start"], now).timestamp())
    elif not all_time:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        params["start"] = int((now if states else midnight - timedelta(days=1)).timestamp())
    if "End" in conds:
        params["end"] = int(parse_timestamp(conds["End"], now).timestamp())
    if conds.get("Nodes"):
        params["nodes"] = conds["Nodes"]
    if states:
        params["states"] = ",".join(states)
    wanted_clusters = [c for c in conds.get("Clusters", "").split(",") if c]
    if wanted_clusters and cluster not in wanted_clusters:
        return []
    rows: list[Record] = ctl.get("/api/accounting/events/", params).get("events") or []
    for key, field in (("Reason", "reason"), ("User", "user")):
        if conds.get(key):
            rows = [r for r in rows if str(r.get(field) or "") in conds[key].split(",")]
    return rows
